#include "proxy/proxy_header_wait.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace tandem::proxy {

ProxyHeaderWait::ProxyHeaderWait(event_base* base, UniqueFd fd, Duration timeout, Done done)
    : fd_(std::move(fd)), done_(std::move(done)) {
  readEv_.assign(base, fd_.get(), EV_READ | EV_PERSIST, [this](short) { onReadable(); });
  readEv_.add();
  timer_.assign(base, [this] { finish(std::nullopt, "no PROXY protocol header in time"); });
  timer_.arm(timeout);
}

void ProxyHeaderWait::onReadable() {
  if (finished_) return;
  // Enough for any v1 line and a v2 header with its usual TLVs; a longer v2 header says its
  // length in its first 16 bytes and is peeked whole on the next pass.
  size_t want = 256;
  if (taken_.size() >= 16 && taken_.compare(0, 5, "PROXY") != 0)
    want = std::max<size_t>(
        want, 16 + (static_cast<uint8_t>(taken_[14]) << 8 | static_cast<uint8_t>(taken_[15])));
  std::string bytes = taken_;
  bytes.resize(taken_.size() + want);
  ssize_t n = ::recv(fd_.get(), bytes.data() + taken_.size(), want, MSG_PEEK);
  if (n == 0) return finish(std::nullopt, "");
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    return finish(std::nullopt, "");
  }
  bytes.resize(taken_.size() + static_cast<size_t>(n));
  ProxyHeaderParse p = parseProxyHeader(bytes);
  switch (p.status) {
    case ProxyHeaderParse::Status::Invalid:
      return finish(std::nullopt, p.error);
    case ProxyHeaderParse::Status::Incomplete: {
      // Everything peeked belongs to the header still to come: take it, wait for the rest.
      ssize_t got = ::recv(fd_.get(), bytes.data() + taken_.size(), static_cast<size_t>(n), 0);
      if (got != n) return finish(std::nullopt, "the socket failed while reading the header");
      taken_ = std::move(bytes);
      if (taken_.size() > kProxyV2MaxLength)
        return finish(std::nullopt, "PROXY header longer than the protocol allows");
      return;
    }
    case ProxyHeaderParse::Status::Ok: {
      size_t rest = p.length - taken_.size();
      std::string sink(rest, '\0');
      if (rest && ::recv(fd_.get(), sink.data(), rest, 0) != static_cast<ssize_t>(rest))
        return finish(std::nullopt, "the socket failed while reading the header");
      return finish(std::move(p.header), "");
    }
  }
}

void ProxyHeaderWait::finish(std::optional<ProxyHeader> header, const std::string& why) {
  if (finished_) return;
  finished_ = true;
  readEv_.remove();
  timer_.cancel();
  done_(std::move(header), why);
}

}  // namespace tandem::proxy
