// A connection on an accept_proxy bind before it becomes a session: its PROXY protocol header
// (proxy_protocol.h) is peeked until whole, then exactly its bytes are taken off the socket,
// so what follows (a TLS ClientHello, a request) stays there for the session's transport.
// Bytes of a header that arrives in pieces are taken as they come (they can only be header
// bytes), so a level-triggered loop never spins on peeked data. Bounded by a timeout; a
// connection that sends no valid header is closed with the reason (HAProxy's conn_recv_proxy).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/duration.h"
#include "common/event.h"
#include "common/fd.h"
#include "proxy/proxy_protocol.h"

namespace tandem::proxy {

class ProxyHeaderWait {
 public:
  // The outcome, once: the header, or nullopt and why not ("" when the client just left).
  // The callback may delete this object only after it returns (deferred deletion).
  using Done = std::function<void(std::optional<ProxyHeader>, const std::string& why)>;

  ProxyHeaderWait(event_base* base, UniqueFd fd, Duration timeout, Done done);
  ProxyHeaderWait(const ProxyHeaderWait&) = delete;
  ProxyHeaderWait& operator=(const ProxyHeaderWait&) = delete;

  // The socket, for the session (after a header) or to be closed.
  UniqueFd takeFd() { return std::move(fd_); }

 private:
  void onReadable();
  void finish(std::optional<ProxyHeader> header, const std::string& why);

  UniqueFd fd_;
  std::string taken_;  // header bytes already read off the socket
  Done done_;
  bool finished_ = false;
  Event readEv_;  // after fd_: leaves the loop before the socket closes
  Timer timer_;
};

}  // namespace tandem::proxy
