// The agent's control input: a unix datagram socket on which the supervisor reports the local
// proxy's liveness the instant it changes ("proxy up" / "proxy down", and "backends up" /
// "backends down" when a backend has no usable server left), so a dead proxy moves the
// VIP without waiting for a track script's interval (keepalived's `killall -0` script takes up
// to its interval x fall, and fork/exec each time). "reload", with the new configuration's text
// attached as a file descriptor (SCM_RIGHTS), is the supervisor's reload: the agent applies
// exactly what the supervisor validated, never a file edited since.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/event.h"
#include "common/fd.h"

namespace tandem::vrrp {

// The supervisor -> agent messages, defined once for both ends.
enum class AgentMessage { Reload, ProxyUp, ProxyDown, BackendsUp, BackendsDown, Unknown };
const char* toString(AgentMessage m);
// One datagram's text (a trailing newline or CR is ignored).
AgentMessage parseAgentMessage(std::string_view text);

class ControlSocket {
 public:
  using ProxyState = std::function<void(bool up)>;
  // The attached descriptor; invalid when "reload" came without one (then: read the file).
  using Reload = std::function<void(UniqueFd snapshot)>;
  ControlSocket(event_base* base, const std::string& path, ProxyState onProxy,
                ProxyState onBackends, Reload onReload, std::string* error);
  ~ControlSocket();
  bool ok() const { return fd_.valid(); }

 private:
  void onReadable();
  event_base* base_;
  std::string path_;
  ProxyState onProxy_;
  ProxyState onBackends_;
  Reload onReload_;
  UniqueFd fd_;
  Event ev_;  // after fd_: leaves the loop before the socket closes
};

}  // namespace tandem::vrrp
