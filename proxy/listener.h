// A listening socket of one frontend bind in one worker: accepts connections and hands each to a
// new session of the frontend's mode (HTTP or TCP).
#pragma once

#include <sys/socket.h>

#include <memory>

#include "common/event.h"
#include "common/fd.h"
#include "proxy/proxy_protocol.h"
#include "proxy/runtime.h"

namespace tandem::proxy {

class Worker;
class Session;

// A session of the frontend's mode for an accepted connection; with the client and the address
// it connected to as a PROXY header named them, when there was one (accept_proxy).
std::unique_ptr<Session> makeSession(Worker& worker, FrontendRuntime& frontend, const Bind& bind,
                                     UniqueFd fd, const sockaddr_storage& peer,
                                     const ProxyHeader* header = nullptr);
// Whether a connection from `peer` on `bind` must start with a PROXY header.
bool expectsProxyHeader(const Bind& bind, const sockaddr_storage& peer);

class Listener {
 public:
  Listener(Worker& worker, FrontendRuntime& frontend, const Bind& bind, UniqueFd fd);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void pause();
  void resume();
  void close();  // graceful stop: no more accepts
  bool paused() const { return paused_; }

 private:
  void acceptLoop();

  Worker& worker_;
  FrontendRuntime& frontend_;
  const Bind& bind_;
  UniqueFd fd_;
  Event ev_;
  bool paused_ = false;
  bool closed_ = false;
};

}  // namespace tandem::proxy
