#include "health/saved_state.h"

#include <sstream>

namespace tandem::health {
namespace {

const char* adminName(AdminState a) {
  switch (a) {
    case AdminState::Ready:
      return "ready";
    case AdminState::Drain:
      return "drain";
    case AdminState::Maint:
      return "maint";
  }
  return "ready";
}

}  // namespace

std::string formatSavedState(const SavedServerState& s) {
  return s.backend + " " + s.server + " " + (s.checksUp ? "up" : "down") + " " +
         adminName(s.admin) + " " + std::to_string(s.weight) + " " + std::to_string(s.configWeight);
}

std::optional<SavedServerState> parseSavedState(std::string_view line) {
  std::istringstream in{std::string(line)};
  SavedServerState s;
  std::string op, admin, extra;
  if (!(in >> s.backend >> s.server >> op >> admin >> s.weight >> s.configWeight)) return {};
  if (in >> extra) return {};
  if (op == "up")
    s.checksUp = true;
  else if (op == "down")
    s.checksUp = false;
  else
    return {};
  if (admin == "ready")
    s.admin = AdminState::Ready;
  else if (admin == "drain")
    s.admin = AdminState::Drain;
  else if (admin == "maint")
    s.admin = AdminState::Maint;
  else
    return {};
  if (s.weight < 0 || s.weight > 256 || s.configWeight < 0 || s.configWeight > 256) return {};
  return s;
}

}  // namespace tandem::health
