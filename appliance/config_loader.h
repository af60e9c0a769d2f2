// Loads and validates a node configuration: YAML syntax, types, ranges, unknown keys, names,
// cross references, binds, regexes, certificate files. Reports every problem, not the first.
#pragma once

#include <optional>
#include <string>

#include "appliance/config.h"
#include "appliance/diagnostics.h"

namespace tandem::appliance {

struct LoadResult {
  std::optional<Config> config;  // set only when there are no errors
  Diagnostics diagnostics;
  std::string source;  // the text that was loaded: what a child started later must run
};

LoadResult loadConfigFile(const std::string& path);
// `text` as if read from `path` (diagnostics name it, relative file names resolve against its
// folder): how a supervised child loads the snapshot its supervisor validated.
LoadResult loadConfigText(const std::string& text, const std::string& path);
// `name` is what diagnostics call the file.
LoadResult loadConfigString(const std::string& yaml, const std::string& name);

}  // namespace tandem::appliance
