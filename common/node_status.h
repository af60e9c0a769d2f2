// What the node is, beyond one process: the supervisor's own state (configuration generation,
// last reload, child restarts, the proxy liveness probe) and each VRRP instance as the agent
// sees it (role, priorities, advertisement counters, the peer last heard). One definition for
// every end that passes it along:
//   VRRP agent -> supervisor:  kVrrpStatusMessage + encodeVrrpStatus(...)  (each second and at
//                              every transition, on the status socket `tandem run` gives it)
//   supervisor -> proxy worker: kNodeStatusMessage + encodeNodeStatus(...)  (on the master
//                              channel whenever something in it changes)
// The worker shows it on the stats page and in Prometheus; `tandem status` shows the same.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

inline constexpr std::string_view kVrrpStatusMessage = "vrrp-status\n";
inline constexpr std::string_view kNodeStatusMessage = "node\n";

// Why advertisements were discarded: the keys of VrrpInstanceStatus::discards (metric labels).
namespace discard_reason {
inline constexpr const char* kTruncated = "truncated";
inline constexpr const char* kBadTtl = "bad_ttl";
inline constexpr const char* kBadVersion = "bad_version";
inline constexpr const char* kBadType = "bad_type";
inline constexpr const char* kBadChecksum = "bad_checksum";
inline constexpr const char* kWrongVrid = "wrong_vrid";
inline constexpr const char* kIntervalMismatch = "interval_mismatch";
inline constexpr const char* kAuthMismatch = "auth_mismatch";
inline constexpr const char* kAuthTypeMismatch = "auth_type_mismatch";
}  // namespace discard_reason

struct VrrpInstanceStatus {
  std::string name;
  std::string interface;
  int vrid = 0;
  std::string state;  // INIT, BACKUP, MASTER, FAULT (vrrp::toString(State))
  int basePriority = 0;
  int effectivePriority = 0;
  uint64_t advertsSent = 0;
  uint64_t advertsReceived = 0;
  uint64_t priorityZeroSent = 0;
  uint64_t priorityZeroReceived = 0;
  uint64_t becameMaster = 0;
  uint64_t releasedMaster = 0;
  std::map<std::string, uint64_t> discards;     // discard_reason::k... -> count
  std::map<std::string, uint64_t> transitions;  // "FROM->TO" -> count
  int64_t lastTransitionUnixMs = 0;             // 0: none since the instance started
  std::vector<std::string> vips;
  std::vector<std::string> vipsHeld;  // the ones on this node's interfaces now
  // The other router as last heard: its address, advertised priority and when (0: never).
  std::string peer;
  int peerPriority = -1;
  int64_t peerHeardUnixMs = 0;
  bool operator==(const VrrpInstanceStatus&) const = default;
};

struct NodeStatus {
  int generation = 0;
  int64_t startedUnixMs = 0;  // the supervisor's start
  // The last reload: when (0: none yet), whether it took, and why not.
  int64_t lastReloadUnixMs = 0;
  bool lastReloadOk = true;
  std::string lastReloadError;
  bool probeConfigured = false;
  bool probeUp = false;
  bool live = false;  // what the VRRP agent is told about the local proxy
  // Restarts by child ("proxy", "vrrp") and reason ("crashed", "exited", ...).
  std::map<std::string, std::map<std::string, uint64_t>> restarts;
  bool vrrpConfigured = false;
  bool vrrpAgentRunning = false;
  std::vector<VrrpInstanceStatus> vrrp;
  // The pair channel (`pair:`): the peer heard within dead_after, its configuration differing
  // from this node's (one `nodes:` file), connections refused for want of the pair key.
  bool pairConfigured = false;
  bool pairPeerUp = false;
  bool pairConfigDrift = false;
  bool pairVersionMismatch = false;
  uint64_t pairRejected = 0;
  bool operator==(const NodeStatus&) const = default;
};

// JSON text; decode returns nullopt (never throws) on anything malformed.
std::string encodeVrrpStatus(const std::vector<VrrpInstanceStatus>& instances);
std::optional<std::vector<VrrpInstanceStatus>> decodeVrrpStatus(std::string_view text);
std::string encodeNodeStatus(const NodeStatus& node);
std::optional<NodeStatus> decodeNodeStatus(std::string_view text);

}  // namespace tandem
