// Internal to the config loader: the pieces that map YAML sections onto component structs.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "appliance/config/config.h"
#include "appliance/config/yaml_reader.h"

namespace tandem::appliance::schema {

// What `defaults` gives every frontend, backend and listen section.
struct ProxyDefaults {
  proxy::Mode mode = proxy::Mode::Http;
  proxy::Timeouts timeouts;
  int retries = 3;
  bool redispatch = true;
  proxy::Balance balance;
  uint32_t maxconn = 0;
  proxy::AccessLog log;
  YAML::Node logFormatNode;  // where defaults.log.format was written (for later errors)
};

// A place something was defined or referenced, kept for cross-checks after reading.
struct Site {
  std::string name;
  YAML::Node node;
  std::string path;
};

struct BindSite {
  Endpoint endpoint;
  YAML::Node node;
  std::string path;
};

struct LoaderState {
  LoaderState(YamlContext& y, std::string dir) : yaml(y), baseDir(std::move(dir)) {}
  YamlContext& yaml;
  std::string baseDir;  // relative file names resolve against the config file's folder
  ProxyDefaults defaults;
  std::map<std::string, Site> backendDefs;   // backends and listens
  std::map<std::string, Site> frontendDefs;  // frontends and listens
  std::vector<Site> backendRefs;             // default_backend / use_backend
  std::vector<BindSite> binds;               // every listening socket, for conflicts
  std::vector<std::pair<Site, proxy::Mode>> backendRefModes;
  std::string resolvePath(const std::string& p) const;
};

// `log:` of defaults, frontends and listens: refused until access logs exist.
// The log mapping of defaults (mode: none) or of a frontend or listen (its mode), over `out`
// (a section starts from defaults.log and overrides single keys).
void readAccessLog(LoaderState& st, MapReader& parent, proxy::AccessLog* out,
                   std::optional<proxy::Mode> mode);
// The `timeout:` block of defaults, frontends, backends and listens.
// Which side reads the timeouts: a frontend applies client, http_request and keep_alive; a
// backend connect, server, queue, tunnel and check; defaults and listens all of them. A timeout
// of the other side is refused (it would have no effect).
enum class TimeoutSide { Both, Frontend, Backend };
void readTimeouts(LoaderState& st, MapReader& parent, proxy::Timeouts* to,
                  TimeoutSide side = TimeoutSide::Both);
void readGlobal(LoaderState& st, const YAML::Node& node, Config* out);
void readDefaults(LoaderState& st, const YAML::Node& node, Config* out);
void readFrontends(LoaderState& st, const YAML::Node& node, proxy::Config* out);
void readBackends(LoaderState& st, const YAML::Node& node, proxy::Config* out);
void readListens(LoaderState& st, const YAML::Node& node, proxy::Config* out);
void readStats(LoaderState& st, const YAML::Node& node, proxy::Config* out);
void readPrometheus(LoaderState& st, const YAML::Node& node, proxy::Config* out);
void readVrrp(LoaderState& st, const YAML::Node& node, vrrp::Config* out);
void readSupervisor(LoaderState& st, const YAML::Node& node, SupervisorConfig* out);
void readPair(LoaderState& st, const YAML::Node& node, PairConfig* out);
// An octal file mode such as "0660" at key `key` of `m`.
void readFileMode(LoaderState& st, MapReader& m, std::string_view key, unsigned* out);
void crossCheckProxy(LoaderState& st, const proxy::Config& cfg);

// Valid names for frontends, backends, servers, ACLs, tables, instances: [A-Za-z0-9_.:-]+
bool validName(const std::string& name);

}  // namespace tandem::appliance::schema
