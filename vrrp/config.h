// Typed configuration of the VRRP agent (what keepalived.conf's vrrp_instance/vrrp_script say).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/address.h"
#include "common/duration.h"

namespace tandem::vrrp {

using namespace std::chrono_literals;

// keepalived `vrrp_script`.
struct TrackScript {
  std::string name;
  std::string command;
  Duration interval = 1s;
  Duration timeout = 1s;
  int weight = 0;  // 0: failing puts the instance in FAULT; else added when OK (+) / failing (-)
  int fall = 1;
  int rise = 1;

  bool operator==(const TrackScript&) const = default;
};

struct TrackedScriptRef {
  std::string name;
  std::optional<int> weight;  // per-instance override, as in keepalived's track_script block

  bool operator==(const TrackedScriptRef&) const = default;
};

struct VirtualIp {
  Cidr address;        // address with its prefix (host bits allowed)
  std::string device;  // empty: the instance interface
  std::string label;   // e.g. "eth0:vip"

  bool operator==(const VirtualIp&) const = default;
};

// Liveness of this node's own proxy, reported by the supervisor (no script fork).
struct ProxyTracking {
  bool enabled = true;
  int weight = 0;  // 0: proxy down -> FAULT; negative: lower the priority
  // Added while the proxy serves but a backend has no usable server (all DOWN/MAINT): such a
  // node ranks below a healthy peer (no VIP that only answers 503), yet keeps the VIP when the
  // peer is no better. 0 disables it.
  int backendsDownWeight = -254;

  bool operator==(const ProxyTracking&) const = default;
};

struct Garp {
  Duration masterDelay = 5s;     // second burst after becoming master (keepalived default)
  int masterRepeat = 5;          // GARPs per burst
  Duration masterRefresh = 60s;  // periodic refresh while master; 0 disables
  Duration interval = 0s;        // gap between GARPs of one burst

  bool operator==(const Garp&) const = default;
};

struct Notify {
  std::string master;
  std::string backup;
  std::string fault;
  std::string stop;
  std::string any;  // keepalived `notify`: called with "INSTANCE" NAME STATE PRIORITY

  bool operator==(const Notify&) const = default;
};

enum class InitialState { Backup, Master };
enum class AuthType { None, Pass };

struct Instance {
  std::string name;
  std::string interface;
  uint8_t virtualRouterId = 0;
  uint8_t priority = 100;
  Duration advertInterval = 1s;
  int version = 3;
  InitialState initialState = InitialState::Backup;
  bool preempt = true;
  Duration preemptDelay = 0s;
  AuthType authType = AuthType::None;
  std::string authPassword;  // PASS: up to 8 characters (RFC 3768 §5.3.10)
  std::optional<IpAddress> unicastSource;
  std::vector<IpAddress> unicastPeers;  // non-empty: unicast, never multicast
  std::vector<VirtualIp> virtualIps;
  std::vector<TrackedScriptRef> trackScripts;
  std::vector<std::string> trackInterfaces;
  ProxyTracking trackProxy;
  Notify notify;
  Garp garp;

  bool operator==(const Instance&) const = default;
};

struct Config {
  std::vector<TrackScript> scripts;
  std::vector<Instance> instances;
  std::string notifyFifo;  // optional: ordered event stream (keepalived notify_fifo)
  std::string stateDir = "/run/tandem";
  std::string controlSocket = "/run/tandem/vrrp.sock";  // proxy liveness from the supervisor
  // Who runs track scripts and notify hooks (keepalived's script_user); empty: the package's
  // `tandem` user when it exists, else root (script_user.h).
  std::string scriptUser;
  std::string scriptGroup;

  bool operator==(const Config&) const = default;
};

}  // namespace tandem::vrrp
