// Loads and validates a node configuration: YAML syntax, types, ranges, unknown keys, names,
// cross references, binds, regexes, certificate files. Reports every problem, not the first.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <utility>

#include "appliance/config/config.h"
#include "appliance/config/diagnostics.h"

namespace tandem::appliance {

struct LoadResult {
  std::optional<Config> config;  // set only when there are no errors
  Diagnostics diagnostics;
  std::string source;  // the text that was loaded: what a child started later must run
};

// (block, key) pairs: what the configuration reference's guard test collects while loading.
using DeclaredKeys = std::set<std::pair<std::string, std::string>>;

// With `declared`, every documented (block, key) the readers ask for is added to it.
LoadResult loadConfigFile(const std::string& path, DeclaredKeys* declared = nullptr);
// `text` as if read from `path` (diagnostics name it, relative file names resolve against its
// folder): how a supervised child loads the snapshot its supervisor validated.
LoadResult loadConfigText(const std::string& text, const std::string& path,
                          DeclaredKeys* declared = nullptr);
// `name` is what diagnostics call the file.
LoadResult loadConfigString(const std::string& yaml, const std::string& name);

}  // namespace tandem::appliance
