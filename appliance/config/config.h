// The whole node configuration after loading: the per-component structs plus what only the
// appliance itself uses. Nothing outside appliance/ sees YAML.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "appliance/pair/pair_channel.h"
#include "common/logging.h"
#include "proxy/config.h"
#include "vrrp/config.h"

namespace tandem::appliance {

struct RunAs {
  std::string user;
  std::string group;
  std::string chroot;
};

struct AdminSocket {
  std::string path = "/run/tandem/admin.sock";
  unsigned mode = 0660;
};

// The built-in liveness probe of the local proxy (keepalived's track_script, without a fork):
// a TCP connect or an HTTP request to the proxy's own listener.
struct ProbeConfig {
  enum class Type { Auto, Tcp, Http, None };
  Type type = Type::Auto;           // auto: TCP to the first wildcard or loopback bind
  std::optional<Endpoint> address;  // where to probe; required for http
  std::string uri = "/";
  std::string host = "localhost";
  Duration interval = std::chrono::milliseconds(200);
  Duration timeout = std::chrono::milliseconds(200);
  int fall = 2;  // consecutive failures that mark the proxy down
  int rise = 2;  // consecutive successes that mark it up again

  bool operator==(const ProbeConfig&) const = default;
};

// `tandem run`: the supervisor of the proxy worker and the VRRP agent.
struct SupervisorConfig {
  std::string controlSocket = "/run/tandem/tandem.sock";  // `tandem status` / `tandem reload`
  unsigned controlMode = 0660;
  ProbeConfig probe;
  Duration restartDelay = std::chrono::milliseconds(100);  // first restart of a crashed child
  Duration restartDelayMax = std::chrono::seconds(10);     // doubling up to this
  Duration reloadTimeout = std::chrono::seconds(15);       // a new worker must be ready by then
};

// `pair:`: the authenticated channel between the two supervisors of a pair
// (appliance/pair/pair_channel.h).
struct PairConfig {
  bool enabled = false;  // the section is there
  std::string keyFile;
  pair::ChannelSettings channel;  // address, peer, the key read from keyFile, timers

  bool operator==(const PairConfig&) const = default;
};

struct Config {
  std::string sourcePath;  // the file it was loaded from
  logging::Config log;
  RunAs runAs;
  AdminSocket admin;
  SupervisorConfig supervisor;
  PairConfig pair;
  proxy::Config proxy;
  vrrp::Config vrrp;
};

}  // namespace tandem::appliance
