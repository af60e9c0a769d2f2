// What one server's state looks like when it is handed from a proxy worker to its successor on
// reload (HAProxy's server-state-file, without the file): a server known DOWN stays DOWN in the
// new worker until `rise` checks pass, and MAINT/DRAIN set at run time survive the reload.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "health/server_tracker.h"

namespace tandem::health {

struct SavedServerState {
  std::string backend;
  std::string server;
  bool checksUp = true;  // what checks said, ignoring MAINT/DRAIN
  AdminState admin = AdminState::Ready;
  int weight = 1;        // weight at run time (admin socket may have changed it)
  int configWeight = 1;  // weight the configuration gave it

  bool operator==(const SavedServerState&) const = default;
};

// One line: "BACKEND SERVER up|down ready|drain|maint WEIGHT CONFIG_WEIGHT".
std::string formatSavedState(const SavedServerState& s);
std::optional<SavedServerState> parseSavedState(std::string_view line);

}  // namespace tandem::health
