// Every state a server can be in, named the way HAProxy logs them.
#pragma once

#include <string_view>

namespace tandem::health {

enum class ServerState {
  Up,         // in rotation
  GoingDown,  // UP but failing checks, counting towards `fall`
  Down,       // out of rotation after `fall` failed checks
  GoingUp,    // DOWN but passing checks, counting towards `rise`
  Drain,      // no new traffic; current sessions continue (admin or config)
  Maint,      // administratively off; checks have no effect
};

std::string_view toString(ServerState state);

// Whether the load balancer may send new traffic to a server in this state.
constexpr bool isUsable(ServerState s) {
  return s == ServerState::Up || s == ServerState::GoingDown;
}

}  // namespace tandem::health
