// Loads and validates a node configuration: YAML syntax, types, ranges, unknown keys, names,
// cross references, binds, regexes, certificate files. Reports every problem, not the first.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "appliance/config/config.h"
#include "appliance/config/diagnostics.h"

namespace tandem::appliance {

struct LoadResult {
  std::optional<Config> config;  // set only when there are no errors
  Diagnostics diagnostics;
  std::string source;  // the text that was loaded: what a child started later must run
  // A file for the pair (`nodes:`): the node names it lists, and the one loaded.
  std::vector<std::string> nodes;
  std::string node;
};

// The node of a `nodes:` file to load: `--node NAME`, else (empty) this host's name. A file
// without `nodes:` is the same for every node.
struct NodeChoice {
  std::string name;
};
// This host's name as `nodes:` keys it: gethostname(), up to its first dot.
std::string localNodeName();

// (block, key) pairs: what the configuration reference's guard test collects while loading.
using DeclaredKeys = std::set<std::pair<std::string, std::string>>;

// With `declared`, every documented (block, key) the readers ask for is added to it.
LoadResult loadConfigFile(const std::string& path, DeclaredKeys* declared = nullptr,
                          const NodeChoice& node = {});
// `text` as if read from `path` (diagnostics name it, relative file names resolve against its
// folder): how a supervised child loads the snapshot its supervisor validated.
LoadResult loadConfigText(const std::string& text, const std::string& path,
                          DeclaredKeys* declared = nullptr, const NodeChoice& node = {});
// The node names of a `nodes:` file (empty for a one-node file, or one that does not parse).
std::vector<std::string> nodeNames(const std::string& path);
// `name` is what diagnostics call the file.
LoadResult loadConfigString(const std::string& yaml, const std::string& name);

}  // namespace tandem::appliance
