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
  // The admin state the configuration gave it (disabled: maint, drain: drain). When the new
  // configuration says otherwise, the file wins over the carried state (HAProxy keeps the
  // configuration's maint apart from a forced one for the same reason). Unknown from a worker
  // that did not send it: the carried state wins.
  std::optional<AdminState> configAdmin;

  // The admin state the next worker should start a server in, given what its configuration says.
  AdminState adminFor(AdminState configured) const {
    return configAdmin && *configAdmin != configured ? configured : admin;
  }

  bool operator==(const SavedServerState&) const = default;
};

// One line: "BACKEND SERVER up|down ready|drain|maint WEIGHT CONFIG_WEIGHT [CONFIG_ADMIN]".
std::string formatSavedState(const SavedServerState& s);
std::optional<SavedServerState> parseSavedState(std::string_view line);

}  // namespace tandem::health
