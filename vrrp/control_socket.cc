#include "vrrp/control_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/fd_passing.h"
#include "common/logging.h"

namespace tandem::vrrp {

const char* toString(AgentMessage m) {
  switch (m) {
    case AgentMessage::Reload:
      return "reload";
    case AgentMessage::ProxyUp:
      return "proxy up";
    case AgentMessage::ProxyDown:
      return "proxy down";
    case AgentMessage::BackendsUp:
      return "backends up";
    case AgentMessage::BackendsDown:
      return "backends down";
    case AgentMessage::Unknown:
      break;
  }
  return "";
}

AgentMessage parseAgentMessage(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  for (AgentMessage m : {AgentMessage::Reload, AgentMessage::ProxyUp, AgentMessage::ProxyDown,
                         AgentMessage::BackendsUp, AgentMessage::BackendsDown})
    if (text == toString(m)) return m;
  return AgentMessage::Unknown;
}

ControlSocket::ControlSocket(event_base* base, const std::string& path, ProxyState onProxy,
                             ProxyState onBackends, Reload onReload, std::string* error)
    : base_(base),
      path_(path),
      onProxy_(std::move(onProxy)),
      onBackends_(std::move(onBackends)),
      onReload_(std::move(onReload)) {
  sockaddr_un sa{};
  if (path.size() >= sizeof(sa.sun_path)) {
    *error = "control socket path too long: " + path;
    return;
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sa.sun_family = AF_UNIX;
  std::strcpy(sa.sun_path, path.c_str());
  ::unlink(path.c_str());  // a leftover of a previous run
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    *error = "cannot bind control socket " + path + ": " + std::strerror(errno);
    return;
  }
  ::chmod(path.c_str(), 0600);  // only root (the supervisor) may move the VIP
  fd_ = std::move(fd);
  ev_.assign(base_, fd_.get(), EV_READ | EV_PERSIST, [this](short) { onReadable(); });
  ev_.add();
}

ControlSocket::~ControlSocket() {
  if (fd_) ::unlink(path_.c_str());
}

// The socket is never replaced from here: a "reload" (which may replace it) is applied after
// this callback returns (see the agent's reload event).
void ControlSocket::onReadable() {
  for (;;) {
    std::string msg;
    UniqueFd passed;  // closed here unless a "reload" takes it
    ssize_t n = receiveMessage(fd_.get(), &msg, &passed);
    if (n <= 0) return;
    AgentMessage m = parseAgentMessage(msg);
    switch (m) {
      case AgentMessage::Reload:
        if (onReload_) onReload_(std::move(passed));
        break;
      case AgentMessage::ProxyUp:
      case AgentMessage::ProxyDown:
        onProxy_(m == AgentMessage::ProxyUp);
        break;
      case AgentMessage::BackendsUp:
      case AgentMessage::BackendsDown:
        if (onBackends_) onBackends_(m == AgentMessage::BackendsUp);
        break;
      case AgentMessage::Unknown:
        logging::get(logging::Component::Vrrp).warn("control socket: unknown message '{}'", msg);
        break;
    }
  }
}

}  // namespace tandem::vrrp
