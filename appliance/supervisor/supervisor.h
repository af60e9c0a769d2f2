// `tandem run`: one node. The supervisor owns the listening sockets and starts the proxy
// worker and the VRRP agent as children, watches them through pidfds, restarts a crashed child
// with a doubling delay, and is the only place the two talk to each other:
//   - proxy liveness (child alive, ready, and the built-in probe passing) reaches the agent's
//     control socket the moment it changes, so the VIP leaves a dead proxy within Skew_Time;
//   - when the agent dies, its virtual addresses are removed at once, before it is restarted
//     (keepalived leaves them on a dead master: two nodes then answer for one address);
//   - reload (SIGHUP, `tandem reload`): validate, start a new worker on the same sockets with
//     the old worker's server states, retire the old one once the new one serves, SIGHUP the
//     agent (unchanged instances keep their role);
//   - stop: the agent leaves first (priority 0), then the proxy drains, then exit.
#pragma once

#include <string>

#include "appliance/config/config.h"

namespace tandem::appliance {

// Returns the exit code. `configPath` is re-read on every reload.
// `configText` is what `config` was loaded from (children run that text, not the file's current
// contents, until a reload validates a new one).
// `node`: which node of a `nodes:` file this is (empty for a one-node file).
int runSupervisor(const std::string& configPath, const std::string& node, Config config,
                  std::string configText);

}  // namespace tandem::appliance
