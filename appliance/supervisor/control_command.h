// `tandem status` and `tandem reload`: clients of the supervisor's control socket.
#pragma once

#include <iosfwd>
#include <string>

namespace tandem::appliance {

struct ControlOptions {
  std::string socket;      // explicit control socket path
  std::string configPath;  // else: this file's supervisor.control_socket
  std::string node;        // ... as this node loads it (a `nodes:` file)
  bool json = false;       // print the JSON reply as it came
};

// 0 when the node answered (status) or the reload took effect; 1 otherwise.
int runStatus(const ControlOptions& options, std::ostream& out, std::ostream& err);
int runReload(const ControlOptions& options, std::ostream& out, std::ostream& err);

}  // namespace tandem::appliance
