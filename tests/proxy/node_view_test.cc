// The node's Prometheus families and stats-page section from a NodeStatus.
#include "proxy/node_view.h"

#include <gtest/gtest.h>

namespace tandem::proxy {
namespace {

NodeStatus pair() {
  NodeStatus n;
  n.generation = 4;
  n.lastReloadUnixMs = 1'000'000;
  n.lastReloadOk = false;
  n.lastReloadError = "<script>";
  n.live = true;
  n.restarts["proxy"]["crashed"] = 2;
  n.vrrpConfigured = true;
  n.vrrpAgentRunning = true;
  VrrpInstanceStatus s;
  s.name = "VI_1";
  s.interface = "eth0";
  s.vrid = 51;
  s.state = "BACKUP";
  s.basePriority = 150;
  s.effectivePriority = 100;
  s.vips = {"198.18.0.100/24", "198.18.0.101/24"};
  s.discards[discard_reason::kBadTtl] = 3;
  s.transitions["MASTER->BACKUP"] = 1;
  s.lastTransitionUnixMs = 990'000;
  s.peer = "198.18.0.2";
  s.peerPriority = 200;
  s.peerHeardUnixMs = 999'500;
  n.vrrp.push_back(s);
  return n;
}

TEST(NodeViewTest, KeepalivedNamesAndNumbersAndOursBesideThem) {
  Exposition e;
  appendNodeMetrics(e, pair(), 1'000'000);
  std::string t = e.str();
  const std::string vi = R"(iname="VI_1",intf="eth0",vrid="51")";
  for (const char* vip : {"198.18.0.100/24", "198.18.0.101/24"})
    EXPECT_NE(t.find("keepalived_vrrp_state{" + vi + ",ip_address=\"" + vip + "\"} 1\n"),
              std::string::npos)
        << t;
  EXPECT_NE(t.find("tandem_vrrp_state{" + vi + ",state=\"BACKUP\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("tandem_vrrp_state{" + vi + ",state=\"MASTER\"} 0\n"), std::string::npos);
  EXPECT_NE(t.find("tandem_vrrp_effective_priority{" + vi + "} 100\n"), std::string::npos);
  EXPECT_NE(t.find("keepalived_ip_ttl_errors_total{" + vi + "} 3\n"), std::string::npos);
  EXPECT_NE(t.find("tandem_vrrp_discarded_total{" + vi + ",reason=\"bad_ttl\"} 3\n"),
            std::string::npos);
  EXPECT_NE(t.find("tandem_vrrp_transitions_total{" + vi + ",from=\"MASTER\",to=\"BACKUP\"} 1\n"),
            std::string::npos);
  EXPECT_NE(t.find("tandem_vrrp_seconds_since_transition{" + vi + "} 10\n"), std::string::npos);
  EXPECT_NE(t.find("tandem_vrrp_peer_last_heard_seconds{" + vi + ",peer=\"198.18.0.2\"} 0.5\n"),
            std::string::npos);
  EXPECT_NE(t.find("tandem_child_restarts_total{child=\"proxy\",reason=\"crashed\"} 2\n"),
            std::string::npos);
  EXPECT_NE(t.find("tandem_last_reload_success 0\n"), std::string::npos);
  EXPECT_NE(t.find("tandem_last_reload_timestamp_seconds 1000\n"), std::string::npos);
  EXPECT_NE(t.find("tandem_config_generation 4\n"), std::string::npos);
  EXPECT_EQ(t.find("tandem_proxy_probe_up"), std::string::npos) << "no probe configured";
}

TEST(NodeViewTest, NoVrrpNoVrrpFamilies) {
  NodeStatus n = pair();
  n.vrrpConfigured = false;
  n.vrrp.clear();
  Exposition e;
  appendNodeMetrics(e, n, 1'000'000);
  EXPECT_EQ(e.str().find("tandem_vrrp"), std::string::npos);
  EXPECT_EQ(e.str().find("keepalived_"), std::string::npos);
}

TEST(NodeViewTest, ThePairSectionEscapesAndSaysWhatItKnows) {
  std::string h = nodeHtml(pair(), 1'000'000);
  EXPECT_EQ(h.find("<script>"), std::string::npos);
  EXPECT_NE(h.find("failed: &lt;script&gt;"), std::string::npos) << h;
  EXPECT_NE(h.find("<td class=\"BACKUP\">BACKUP</td><td>100 (configured 150)</td>"),
            std::string::npos)
      << h;
  EXPECT_NE(h.find("198.18.0.2 priority 200, 0s ago"), std::string::npos) << h;
  EXPECT_NE(h.find("restarts 2 (proxy crashed 2)"), std::string::npos) << h;
  NodeStatus down = pair();
  down.vrrpAgentRunning = false;
  down.vrrp.clear();
  EXPECT_NE(nodeHtml(down, 0).find("the VRRP agent is not running"), std::string::npos);
}

}  // namespace
}  // namespace tandem::proxy
