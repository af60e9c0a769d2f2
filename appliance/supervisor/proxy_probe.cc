#include "appliance/supervisor/proxy_probe.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/http_response.h"
#include "common/socket.h"

namespace tandem::appliance {

ProxyProbe::ProxyProbe(event_base* base, const ProbeConfig& config, Endpoint target,
                       Changed onChange)
    : base_(base), config_(config), target_(std::move(target)), onChange_(std::move(onChange)) {
  tick_.assign(base_, [this] { begin(); });
  // Pointed at each probe's socket by retarget (also from inside its own callback).
  io_.assign(base_, -1, 0, [this](short what) { onSocket(what); });
}

void ProxyProbe::start(bool initiallyUp) {
  stop();  // a probe in flight belongs to the previous run
  running_ = true;
  up_ = initiallyUp;
  count_ = 0;
  begin();
}

void ProxyProbe::stop() {
  running_ = false;
  tick_.cancel();
  io_.remove();
  fd_.reset();
}

void ProxyProbe::probeNow() {
  if (!running_ || fd_) return;  // one in flight already
  tick_.cancel();
  begin();
}

void ProxyProbe::begin() {
  sockaddr_storage ss{};
  socklen_t len = 0;
  target_.toSockaddr(&ss, &len);
  connected_ = false;
  reply_.clear();
  // A probe must not linger in TIME_WAIT on the proxy's port: closed with a reset.
  int err = 0;
  fd_ = connectNonBlocking(ss, len, &err, {.noDelay = true, .resetOnClose = true});
  if (!fd_) return finish(false, std::string("connect: ") + std::strerror(err));
  io_.retarget(fd_.get(), EV_WRITE);
  io_.add(config_.timeout);
}

void ProxyProbe::onSocket(short what) {
  if (what & EV_TIMEOUT)
    return finish(false, connected_ ? "no HTTP response in time" : "connect timeout");
  if (!connected_) {
    int err = socketError(fd_.get());
    if (err != 0) return finish(false, std::string("connect: ") + std::strerror(err));
    connected_ = true;
    if (config_.type != ProbeConfig::Type::Http) return finish(true, "TCP connect ok");
    std::string req = "GET " + config_.uri + " HTTP/1.1\r\nHost: " + config_.host +
                      "\r\nUser-Agent: tandem-supervisor-probe\r\nConnection: close\r\n\r\n";
    if (::send(fd_.get(), req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      return finish(false, "cannot send the HTTP probe");
    io_.retarget(fd_.get(), EV_READ | EV_PERSIST);  // removes the fired one-shot first
    io_.add(config_.timeout);
    return;
  }
  char buf[512];
  ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n > 0) reply_.append(buf, static_cast<size_t>(n));
  if (reply_.find("\r\n") != std::string::npos) {
    std::optional<int> status = http::responseStatus(reply_);
    return finish(status.has_value(),
                  status ? "HTTP " + std::to_string(*status) : "not an HTTP response");
  }
  if (n <= 0 || reply_.size() > 400) return finish(false, "no HTTP status line");
}

void ProxyProbe::finish(bool ok, const std::string& reason) {
  io_.remove();
  fd_.reset();
  if (!running_) return;
  if (ok == up_) {
    count_ = 0;
  } else if (++count_ >= (ok ? config_.rise : config_.fall)) {
    up_ = ok;
    count_ = 0;
    onChange_(up_, reason);
    if (!running_) return;
  }
  tick_.arm(config_.interval);
}

}  // namespace tandem::appliance
