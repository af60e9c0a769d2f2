#include "health/server_state.h"

namespace tandem::health {

std::string_view toString(ServerState state) {
  switch (state) {
    case ServerState::Up:
      return "UP";
    case ServerState::GoingDown:
      return "UP, going down";
    case ServerState::Down:
      return "DOWN";
    case ServerState::GoingUp:
      return "DOWN, going up";
    case ServerState::Drain:
      return "DRAIN";
    case ServerState::Maint:
      return "MAINT";
  }
  return "UNKNOWN";
}

}  // namespace tandem::health
