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

std::optional<AdminState> parseAdmin(std::string_view word) {
  if (word == "ready") return AdminState::Ready;
  if (word == "drain") return AdminState::Drain;
  if (word == "maint") return AdminState::Maint;
  return std::nullopt;
}

}  // namespace

std::string formatSavedState(const SavedServerState& s) {
  return s.backend + " " + s.server + " " + (s.checksUp ? "up" : "down") + " " +
         adminName(s.admin) + " " + std::to_string(s.weight) + " " +
         std::to_string(s.configWeight) +
         (s.configAdmin ? " " + std::string(adminName(*s.configAdmin)) : std::string());
}

std::optional<SavedServerState> parseSavedState(std::string_view line) {
  std::istringstream in{std::string(line)};
  SavedServerState s;
  std::string op, admin, configAdmin, extra;
  if (!(in >> s.backend >> s.server >> op >> admin >> s.weight >> s.configWeight)) return {};
  if (in >> configAdmin) {
    if (in >> extra) return {};
    if (auto a = parseAdmin(configAdmin))
      s.configAdmin = *a;
    else
      return {};
  }
  if (op == "up")
    s.checksUp = true;
  else if (op == "down")
    s.checksUp = false;
  else
    return {};
  if (auto a = parseAdmin(admin))
    s.admin = *a;
  else
    return {};
  if (s.weight < 0 || s.weight > 256 || s.configWeight < 0 || s.configWeight > 256) return {};
  return s;
}

}  // namespace tandem::health
