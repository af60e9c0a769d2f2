#include "proxy/node_view.h"

#include "proxy/html_text.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <sstream>

namespace tandem::proxy {
namespace {

// keepalived's own state numbers, which its exporter publishes as keepalived_vrrp_state.
int keepalivedStateNumber(const std::string& state) {
  if (state == "BACKUP") return 1;
  if (state == "MASTER") return 2;
  if (state == "FAULT") return 3;
  return 0;  // INIT
}

const char* const kStates[] = {"INIT", "BACKUP", "MASTER", "FAULT"};

std::string instanceLabels(const VrrpInstanceStatus& s) {
  return label("iname", s.name) + "," + label("intf", s.interface) + "," +
         label("vrid", std::to_string(s.vrid));
}

double seconds(int64_t ms) {
  return static_cast<double>(ms) / 1000.0;
}

std::string utc(int64_t unixMs) {
  std::time_t t = static_cast<std::time_t>(unixMs / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string ago(int64_t nowMs, int64_t thenMs) {
  int64_t s = (nowMs - thenMs) / 1000;
  if (s < 0) s = 0;
  char buf[48];
  if (s < 120)
    std::snprintf(buf, sizeof(buf), "%llds ago", static_cast<long long>(s));
  else if (s < 7200)
    std::snprintf(buf, sizeof(buf), "%lldm ago", static_cast<long long>(s / 60));
  else
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm ago", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  return buf;
}

}  // namespace

int64_t unixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void appendNodeMetrics(Exposition& e, const NodeStatus& n, int64_t nowMs) {
  e.family("tandem_config_generation", "gauge",
           "The configuration generation the node serves (1 at start, +1 at each reload).");
  e.sample("", n.generation);
  e.family("tandem_supervisor_start_time_seconds", "gauge",
           "When the supervisor (tandem run) started, Unix time.");
  e.sample("", seconds(n.startedUnixMs));
  e.family("tandem_last_reload_success", "gauge",
           "1 when the last reload took (or none was asked for), 0 when it was refused or failed.");
  e.sample("", n.lastReloadOk ? 1 : 0);
  if (n.lastReloadUnixMs) {
    e.family("tandem_last_reload_timestamp_seconds", "gauge", "When the last reload ended.");
    e.sample("", seconds(n.lastReloadUnixMs));
  }
  e.family("tandem_child_restarts_total", "counter",
           "Children the supervisor restarted, by child (proxy, vrrp) and why it ended "
           "(crashed, killed, signaled, failed, exited).");
  for (const auto& [child, reasons] : n.restarts)
    for (const auto& [reason, count] : reasons)
      e.sample(label("child", child) + "," + label("reason", reason), count);
  e.family(
      "tandem_proxy_live", "gauge",
      "1 when the supervisor counts the local proxy as serving (what the VRRP agent is told).");
  e.sample("", n.live ? 1 : 0);
  if (n.probeConfigured) {
    e.family("tandem_proxy_probe_up", "gauge",
             "1 when the supervisor's liveness probe of the local proxy passes.");
    e.sample("", n.probeUp ? 1 : 0);
  }
  if (n.pairConfigured) {
    e.family("tandem_pair_peer_up", "gauge",
             "1 when the other node's heartbeat came over the pair channel within dead_after.");
    e.sample("", n.pairPeerUp ? 1 : 0);
    e.family("tandem_pair_config_drift", "gauge",
             "1 when the other node of a one-file pair (nodes:) runs a configuration whose hash "
             "differs from this node's.");
    e.sample("", n.pairConfigDrift ? 1 : 0);
    e.family("tandem_pair_version_mismatch", "gauge",
             "1 when the other node runs another Tandem version than this one.");
    e.sample("", n.pairVersionMismatch ? 1 : 0);
    e.family("tandem_pair_rejected_connections_total", "counter",
             "Connections to the pair channel refused because they did not prove the pair key.");
    e.sample("", n.pairRejected);
  }
  if (!n.vrrpConfigured) return;
  e.family("tandem_vrrp_agent_up", "gauge", "1 when the VRRP agent runs and reports.");
  e.sample("", n.vrrpAgentRunning ? 1 : 0);
  if (n.vrrp.empty()) return;

  e.family("keepalived_vrrp_state", "gauge",
           "VRRP state per virtual address, keepalived's numbers: 0 INIT, 1 BACKUP, 2 MASTER, "
           "3 FAULT.");
  for (const auto& s : n.vrrp)
    for (const auto& vip : s.vips)
      e.sample(instanceLabels(s) + "," + label("ip_address", vip), keepalivedStateNumber(s.state));
  e.family("tandem_vrrp_state", "gauge", "VRRP state as a state set: 1 for the current state.");
  for (const auto& s : n.vrrp)
    for (const char* st : kStates)
      e.sample(instanceLabels(s) + "," + label("state", st), s.state == st ? 1 : 0);
  e.family("tandem_vrrp_priority", "gauge", "The configured priority.");
  for (const auto& s : n.vrrp) e.sample(instanceLabels(s), s.basePriority);
  e.family("tandem_vrrp_effective_priority", "gauge",
           "The priority advertised now: the configured one moved by tracking weights.");
  for (const auto& s : n.vrrp) e.sample(instanceLabels(s), s.effectivePriority);

  struct Counter {
    const char* name;
    const char* help;
    uint64_t VrrpInstanceStatus::*field;
  };
  const Counter counters[] = {
      {"keepalived_advertisements_sent_total", "Advertisements sent.",
       &VrrpInstanceStatus::advertsSent},
      {"keepalived_advertisements_received_total", "Valid advertisements received.",
       &VrrpInstanceStatus::advertsReceived},
      {"keepalived_become_master_total", "Times the instance became MASTER.",
       &VrrpInstanceStatus::becameMaster},
      {"keepalived_release_master_total", "Times the instance left MASTER.",
       &VrrpInstanceStatus::releasedMaster},
      {"keepalived_priority_zero_sent_total", "Priority 0 advertisements sent (resigning).",
       &VrrpInstanceStatus::priorityZeroSent},
      {"keepalived_priority_zero_received_total",
       "Priority 0 advertisements received (the master resigned).",
       &VrrpInstanceStatus::priorityZeroReceived},
  };
  for (const auto& c : counters) {
    e.family(c.name, "counter", c.help);
    for (const auto& s : n.vrrp) e.sample(instanceLabels(s), s.*(c.field));
  }
  // Discards that keepalived's exporter counts under a name of its own.
  struct Discarded {
    const char* name;
    const char* help;
    const char* reason;
  };
  namespace r = discard_reason;
  const Discarded named[] = {
      {"keepalived_packet_length_errors_total", "Advertisements shorter than they say.",
       r::kTruncated},
      {"keepalived_ip_ttl_errors_total", "Advertisements with a TTL other than 255.", r::kBadTtl},
      {"keepalived_invalid_type_received_total", "Packets that are not advertisements.",
       r::kBadType},
      {"keepalived_advertisements_interval_errors_total",
       "VRRPv2 advertisements with another interval.", r::kIntervalMismatch},
      {"keepalived_authentication_failure_total", "VRRPv2 advertisements with a wrong password.",
       r::kAuthMismatch},
      {"keepalived_authentication_mismatch_total",
       "VRRPv2 advertisements with another authentication type.", r::kAuthTypeMismatch},
  };
  auto discarded = [](const VrrpInstanceStatus& s, const char* reason) -> uint64_t {
    auto it = s.discards.find(reason);
    return it == s.discards.end() ? 0 : it->second;
  };
  for (const auto& d : named) {
    e.family(d.name, "counter", d.help);
    for (const auto& s : n.vrrp) e.sample(instanceLabels(s), discarded(s, d.reason));
  }
  e.family("tandem_vrrp_discarded_total", "counter",
           "Advertisements discarded, by reason (RFC 5798 section 7.1 checks).");
  const char* const reasons[] = {r::kTruncated,        r::kBadTtl,       r::kBadVersion,
                                 r::kBadType,          r::kBadChecksum,  r::kWrongVrid,
                                 r::kIntervalMismatch, r::kAuthMismatch, r::kAuthTypeMismatch};
  for (const auto& s : n.vrrp)
    for (const char* reason : reasons)
      e.sample(instanceLabels(s) + "," + label("reason", reason), discarded(s, reason));
  e.family("tandem_vrrp_transitions_total", "counter", "State changes, by from and to.");
  for (const auto& s : n.vrrp)
    for (const auto& [fromTo, count] : s.transitions) {
      size_t arrow = fromTo.find("->");
      if (arrow == std::string::npos) continue;
      e.sample(instanceLabels(s) + "," + label("from", fromTo.substr(0, arrow)) + "," +
                   label("to", fromTo.substr(arrow + 2)),
               count);
    }
  e.family("tandem_vrrp_last_transition_timestamp_seconds", "gauge",
           "When the instance last changed state, Unix time.");
  for (const auto& s : n.vrrp)
    if (s.lastTransitionUnixMs) e.sample(instanceLabels(s), seconds(s.lastTransitionUnixMs));
  e.family("tandem_vrrp_seconds_since_transition", "gauge",
           "Seconds since the instance last changed state.");
  for (const auto& s : n.vrrp)
    if (s.lastTransitionUnixMs)
      e.sample(instanceLabels(s), seconds(nowMs - s.lastTransitionUnixMs));
  e.family("tandem_vrrp_vip_held", "gauge",
           "1 when the virtual address is on this node's interface now.");
  for (const auto& s : n.vrrp)
    for (const auto& vip : s.vips) {
      bool held = false;
      for (const auto& h : s.vipsHeld) held |= h == vip;
      e.sample(instanceLabels(s) + "," + label("ip_address", vip), held ? 1 : 0);
    }
  e.family("tandem_vrrp_peer_priority", "gauge",
           "The priority in the last advertisement heard from another router.");
  for (const auto& s : n.vrrp)
    if (s.peerHeardUnixMs)
      e.sample(instanceLabels(s) + "," + label("peer", s.peer), s.peerPriority);
  e.family("tandem_vrrp_peer_last_heard_seconds", "gauge",
           "Seconds since the last advertisement from another router.");
  for (const auto& s : n.vrrp)
    if (s.peerHeardUnixMs)
      e.sample(instanceLabels(s) + "," + label("peer", s.peer), seconds(nowMs - s.peerHeardUnixMs));
}

std::string nodeHtml(const NodeStatus& n, int64_t nowMs) {
  std::ostringstream o;
  o << "<section id=\"pair\" aria-label=\"node and pair\"><h2>Node and pair</h2><p>"
    << "configuration generation <b id=\"generation\">" << n.generation << "</b>";
  if (n.lastReloadUnixMs)
    o << " &middot; last reload " << utc(n.lastReloadUnixMs) << " ("
      << ago(nowMs, n.lastReloadUnixMs) << "): "
      << (n.lastReloadOk
              ? "<span class=\"UP\">ok</span>"
              : "<span class=\"DOWN\">failed: " + htmlEscape(n.lastReloadError) + "</span>");
  o << " &middot; proxy " << (n.live ? "serving" : "<span class=\"DOWN\">not serving</span>");
  if (n.probeConfigured) o << " (probe " << (n.probeUp ? "passes" : "fails") << ")";
  uint64_t restarts = 0;
  std::string detail;
  for (const auto& [child, reasons] : n.restarts)
    for (const auto& [reason, count] : reasons) {
      restarts += count;
      detail += (detail.empty() ? "" : ", ") + child + " " + reason + " " + std::to_string(count);
    }
  o << " &middot; restarts " << restarts;
  if (!detail.empty()) o << " (" << htmlEscape(detail) << ")";
  o << "</p>";
  if (n.vrrpConfigured) {
    o << "<div class=\"scroll\"><table id=\"vrrp\"><caption>VRRP</caption><thead><tr>"
         "<th scope=\"col\">Instance</th><th scope=\"col\">Interface</th><th scope=\"col\">VRID"
         "</th><th scope=\"col\">Role</th><th scope=\"col\">Priority</th><th scope=\"col\">"
         "Virtual addresses</th><th scope=\"col\">Peer (last heard)</th><th scope=\"col\">Since"
         "</th></tr></thead><tbody>";
    if (!n.vrrpAgentRunning || n.vrrp.empty())
      o << "<tr><td colspan=\"8\" class=\"DOWN\">the VRRP agent is not running</td></tr>";
    for (const auto& s : n.vrrp) {
      o << "<tr data-instance=\"" << htmlEscape(s.name) << "\"><td>" << htmlEscape(s.name)
        << "</td><td>" << htmlEscape(s.interface) << "</td><td>" << s.vrid << "</td><td class=\""
        << htmlEscape(s.state) << "\">" << htmlEscape(s.state) << "</td><td>"
        << s.effectivePriority;
      if (s.effectivePriority != s.basePriority) o << " (configured " << s.basePriority << ")";
      o << "</td><td>";
      for (size_t i = 0; i < s.vips.size(); ++i) {
        bool held = false;
        for (const auto& h : s.vipsHeld) held |= h == s.vips[i];
        o << (i ? ", " : "") << htmlEscape(s.vips[i]) << (held ? " (held)" : "");
      }
      o << "</td><td>";
      if (s.peerHeardUnixMs)
        o << htmlEscape(s.peer) << " priority " << s.peerPriority << ", "
          << ago(nowMs, s.peerHeardUnixMs);
      else
        o << "none heard";
      o << "</td><td>";
      if (s.lastTransitionUnixMs) o << ago(nowMs, s.lastTransitionUnixMs);
      o << "</td></tr>";
    }
    o << "</tbody></table></div>";
  }
  o << "</section>";
  return o.str();
}

}  // namespace tandem::proxy
