#include "appliance/proxy_probe.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tandem::appliance {
namespace {

timeval toTimeval(Duration d) {
  return {static_cast<time_t>(d.count() / 1000000), static_cast<suseconds_t>(d.count() % 1000000)};
}

}  // namespace

ProxyProbe::ProxyProbe(event_base* base, const ProbeConfig& config, Endpoint target,
                       Changed onChange)
    : base_(base), config_(config), target_(std::move(target)), onChange_(std::move(onChange)) {
  evtimer_assign(&tick_, base_, onTick, this);
}

ProxyProbe::~ProxyProbe() {
  stop();
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
  evtimer_del(&tick_);
  if (ioAdded_) event_del(&io_);
  ioAdded_ = false;
  fd_.reset();
}

void ProxyProbe::probeNow() {
  if (!running_ || fd_) return;  // one in flight already
  evtimer_del(&tick_);
  begin();
}

void ProxyProbe::onTick(evutil_socket_t, short, void* arg) {
  static_cast<ProxyProbe*>(arg)->begin();
}

void ProxyProbe::begin() {
  sockaddr_storage ss{};
  socklen_t len = 0;
  target_.toSockaddr(&ss, &len);
  fd_.reset(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_) return finish(false, std::string("socket: ") + std::strerror(errno));
  // A probe must not linger in TIME_WAIT on the proxy's port: close with a reset.
  linger lg{1, 0};
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  connected_ = false;
  reply_.clear();
  if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS)
    return finish(false, std::string("connect: ") + std::strerror(errno));
  event_assign(&io_, base_, fd_.get(), EV_WRITE, onSocket, this);
  timeval tv = toTimeval(config_.timeout);
  event_add(&io_, &tv);
  ioAdded_ = true;
}

void ProxyProbe::onSocket(evutil_socket_t, short what, void* arg) {
  auto* self = static_cast<ProxyProbe*>(arg);
  if (what & EV_TIMEOUT)
    return self->finish(false, self->connected_ ? "no HTTP response in time" : "connect timeout");
  if (!self->connected_) {
    int err = 0;
    socklen_t l = sizeof(err);
    ::getsockopt(self->fd_.get(), SOL_SOCKET, SO_ERROR, &err, &l);
    if (err != 0) return self->finish(false, std::string("connect: ") + std::strerror(err));
    self->connected_ = true;
    if (self->config_.type != ProbeConfig::Type::Http) return self->finish(true, "TCP connect ok");
    std::string req = "GET " + self->config_.uri + " HTTP/1.1\r\nHost: " + self->config_.host +
                      "\r\nUser-Agent: tandem-supervisor-probe\r\nConnection: close\r\n\r\n";
    if (::send(self->fd_.get(), req.data(), req.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(req.size()))
      return self->finish(false, "cannot send the HTTP probe");
    event_del(&self->io_);  // a fired one-shot event: harmless, but never re-assign a pending one
    event_assign(&self->io_, self->base_, self->fd_.get(), EV_READ | EV_PERSIST, onSocket, self);
    timeval tv = toTimeval(self->config_.timeout);
    event_add(&self->io_, &tv);
    self->ioAdded_ = true;
    return;
  }
  char buf[512];
  ssize_t n = ::recv(self->fd_.get(), buf, sizeof(buf), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n > 0) self->reply_.append(buf, static_cast<size_t>(n));
  size_t eol = self->reply_.find("\r\n");
  if (eol != std::string::npos) {
    bool ok = self->reply_.rfind("HTTP/1.", 0) == 0 && eol >= 12;
    return self->finish(ok, ok ? "HTTP " + self->reply_.substr(9, 3) : "not an HTTP response");
  }
  if (n <= 0 || self->reply_.size() > 400) return self->finish(false, "no HTTP status line");
}

void ProxyProbe::finish(bool ok, const std::string& reason) {
  if (ioAdded_) event_del(&io_);
  ioAdded_ = false;
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
  timeval tv = toTimeval(config_.interval);
  evtimer_add(&tick_, &tv);
}

}  // namespace tandem::appliance
