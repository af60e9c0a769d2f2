#include "common/node_status.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

VrrpInstanceStatus sampleInstance() {
  VrrpInstanceStatus s;
  s.name = "VI_1";
  s.interface = "eth0";
  s.vrid = 51;
  s.state = "MASTER";
  s.basePriority = 150;
  s.effectivePriority = 140;
  s.advertsSent = 12;
  s.advertsReceived = 3;
  s.priorityZeroSent = 1;
  s.priorityZeroReceived = 2;
  s.becameMaster = 2;
  s.releasedMaster = 1;
  s.discards = {{discard_reason::kBadTtl, 4}};
  s.transitions = {{"BACKUP->MASTER", 2}, {"MASTER->BACKUP", 1}};
  s.lastTransitionUnixMs = 1764600000123;
  s.vips = {"198.18.0.100/24"};
  s.vipsHeld = {"198.18.0.100/24"};
  s.peer = "198.18.0.2";
  s.peerPriority = 100;
  s.peerHeardUnixMs = 1764600000000;
  return s;
}

TEST(NodeStatusTest, VrrpStatusSurvivesTheTrip) {
  std::vector<VrrpInstanceStatus> in{sampleInstance(), VrrpInstanceStatus{}};
  auto out = decodeVrrpStatus(encodeVrrpStatus(in));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, in);
}

TEST(NodeStatusTest, NodeStatusSurvivesTheTrip) {
  NodeStatus n;
  n.generation = 7;
  n.startedUnixMs = 1764600000000;
  n.lastReloadUnixMs = 1764600001000;
  n.lastReloadOk = false;
  n.lastReloadError = "line 3: bad";
  n.probeConfigured = true;
  n.probeUp = true;
  n.live = true;
  n.restarts["proxy"]["crashed"] = 2;
  n.restarts["vrrp"]["exited"] = 1;
  n.vrrpConfigured = true;
  n.vrrpAgentRunning = true;
  n.vrrp = {sampleInstance()};
  auto out = decodeNodeStatus(encodeNodeStatus(n));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, n);
}

TEST(NodeStatusTest, MalformedTextIsRefusedNotThrown) {
  for (std::string_view bad :
       {"", "{", "[]", "42", R"({"generation": "x"})", R"([{"name": 1}])", "[1]"}) {
    EXPECT_FALSE(decodeNodeStatus(bad)) << bad;
  }
  EXPECT_FALSE(decodeVrrpStatus("{}"));
  EXPECT_FALSE(decodeVrrpStatus("[1]"));
  EXPECT_FALSE(decodeVrrpStatus("not json"));
  EXPECT_TRUE(decodeVrrpStatus("[]"));
}

}  // namespace
}  // namespace tandem
