// `tandem check -c FILE`: validate a configuration and report every problem.
#pragma once

#include <iosfwd>
#include <string>

namespace tandem::appliance {

struct CheckOptions {
  std::string configPath;
  bool quiet = false;      // print errors only: no warnings, no success line
  bool dump = false;       // print an outline of the loaded configuration
  std::string explain;     // print the reference entry of this key path instead
  bool reference = false;  // print the whole configuration reference (docs/configuration.md)
  std::string node;        // a `nodes:` file: check this node only (default: every node)
};

// Returns kExitOk when valid, kExitInvalid otherwise.
int runCheck(const CheckOptions& options, std::ostream& out, std::ostream& err);

}  // namespace tandem::appliance
