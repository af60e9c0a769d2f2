#include "common/node_status.h"

#include <nlohmann/json.hpp>

namespace tandem {
namespace {

using nlohmann::json;

json toJson(const VrrpInstanceStatus& s) {
  return json{{"name", s.name},
              {"interface", s.interface},
              {"vrid", s.vrid},
              {"state", s.state},
              {"base_priority", s.basePriority},
              {"effective_priority", s.effectivePriority},
              {"adverts_sent", s.advertsSent},
              {"adverts_received", s.advertsReceived},
              {"priority_zero_sent", s.priorityZeroSent},
              {"priority_zero_received", s.priorityZeroReceived},
              {"became_master", s.becameMaster},
              {"released_master", s.releasedMaster},
              {"discards", s.discards},
              {"transitions", s.transitions},
              {"last_transition_unix_ms", s.lastTransitionUnixMs},
              {"vips", s.vips},
              {"vips_held", s.vipsHeld},
              {"peer", s.peer},
              {"peer_priority", s.peerPriority},
              {"peer_heard_unix_ms", s.peerHeardUnixMs}};
}

VrrpInstanceStatus vrrpFromJson(const json& j) {
  VrrpInstanceStatus s;
  s.name = j.at("name").get<std::string>();
  s.interface = j.at("interface").get<std::string>();
  s.vrid = j.at("vrid").get<int>();
  s.state = j.at("state").get<std::string>();
  s.basePriority = j.at("base_priority").get<int>();
  s.effectivePriority = j.at("effective_priority").get<int>();
  s.advertsSent = j.at("adverts_sent").get<uint64_t>();
  s.advertsReceived = j.at("adverts_received").get<uint64_t>();
  s.priorityZeroSent = j.at("priority_zero_sent").get<uint64_t>();
  s.priorityZeroReceived = j.at("priority_zero_received").get<uint64_t>();
  s.becameMaster = j.at("became_master").get<uint64_t>();
  s.releasedMaster = j.at("released_master").get<uint64_t>();
  s.discards = j.at("discards").get<std::map<std::string, uint64_t>>();
  s.transitions = j.at("transitions").get<std::map<std::string, uint64_t>>();
  s.lastTransitionUnixMs = j.at("last_transition_unix_ms").get<int64_t>();
  s.vips = j.at("vips").get<std::vector<std::string>>();
  s.vipsHeld = j.at("vips_held").get<std::vector<std::string>>();
  s.peer = j.at("peer").get<std::string>();
  s.peerPriority = j.at("peer_priority").get<int>();
  s.peerHeardUnixMs = j.at("peer_heard_unix_ms").get<int64_t>();
  return s;
}

json toJson(const std::vector<VrrpInstanceStatus>& instances) {
  json a = json::array();
  for (const auto& s : instances) a.push_back(toJson(s));
  return a;
}

std::vector<VrrpInstanceStatus> vrrpListFromJson(const json& j) {
  std::vector<VrrpInstanceStatus> out;
  for (const auto& e : j) out.push_back(vrrpFromJson(e));
  return out;
}

}  // namespace

std::string encodeVrrpStatus(const std::vector<VrrpInstanceStatus>& instances) {
  return toJson(instances).dump();
}

std::optional<std::vector<VrrpInstanceStatus>> decodeVrrpStatus(std::string_view text) {
  try {
    json j = json::parse(text);
    if (!j.is_array()) return std::nullopt;
    return vrrpListFromJson(j);
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::string encodeNodeStatus(const NodeStatus& n) {
  return json{{"generation", n.generation},
              {"started_unix_ms", n.startedUnixMs},
              {"last_reload_unix_ms", n.lastReloadUnixMs},
              {"last_reload_ok", n.lastReloadOk},
              {"last_reload_error", n.lastReloadError},
              {"probe_configured", n.probeConfigured},
              {"probe_up", n.probeUp},
              {"live", n.live},
              {"restarts", n.restarts},
              {"vrrp_configured", n.vrrpConfigured},
              {"vrrp_agent_running", n.vrrpAgentRunning},
              {"vrrp", toJson(n.vrrp)},
              {"pair_configured", n.pairConfigured},
              {"pair_peer_up", n.pairPeerUp},
              {"pair_config_drift", n.pairConfigDrift},
              {"pair_version_mismatch", n.pairVersionMismatch},
              {"pair_rejected", n.pairRejected}}
      .dump();
}

std::optional<NodeStatus> decodeNodeStatus(std::string_view text) {
  try {
    json j = json::parse(text);
    NodeStatus n;
    n.generation = j.at("generation").get<int>();
    n.startedUnixMs = j.at("started_unix_ms").get<int64_t>();
    n.lastReloadUnixMs = j.at("last_reload_unix_ms").get<int64_t>();
    n.lastReloadOk = j.at("last_reload_ok").get<bool>();
    n.lastReloadError = j.at("last_reload_error").get<std::string>();
    n.probeConfigured = j.at("probe_configured").get<bool>();
    n.probeUp = j.at("probe_up").get<bool>();
    n.live = j.at("live").get<bool>();
    n.restarts = j.at("restarts").get<std::map<std::string, std::map<std::string, uint64_t>>>();
    n.vrrpConfigured = j.at("vrrp_configured").get<bool>();
    n.vrrpAgentRunning = j.at("vrrp_agent_running").get<bool>();
    const json& v = j.at("vrrp");
    if (!v.is_array()) return std::nullopt;
    n.vrrp = vrrpListFromJson(v);
    n.pairConfigured = j.at("pair_configured").get<bool>();
    n.pairPeerUp = j.at("pair_peer_up").get<bool>();
    n.pairConfigDrift = j.at("pair_config_drift").get<bool>();
    n.pairVersionMismatch = j.at("pair_version_mismatch").get<bool>();
    n.pairRejected = j.at("pair_rejected").get<uint64_t>();
    return n;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace tandem
