// The worker <-> supervisor messages, formatted and parsed by the one definition both ends use.
#include "proxy/master_channel.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "common/event.h"
#include "common/fd_passing.h"

namespace tandem::proxy {
namespace {

TEST(MasterChannelTest, AServerTransitionRoundTripsWithSpacesAndCommas) {
  ServerTransition t{"app", "web 1", "UP, going down", "DOWN", "Layer7 wrong status 503"};
  std::string msg = formatServerTransition(t);
  EXPECT_EQ(msg.rfind("transition\n", 0), 0u);
  auto back = parseServerTransition(msg);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->server, "web 1");
  EXPECT_EQ(back->from, "UP, going down");
  EXPECT_EQ(back->reason, "Layer7 wrong status 503");
  ServerTransition newline{"app", "s1", "UP", "MAINT", "two\nlines"};
  EXPECT_EQ(parseServerTransition(formatServerTransition(newline))->reason, "two lines");
  EXPECT_FALSE(parseServerTransition("state app s1 up ready 1 1"));
  EXPECT_FALSE(parseServerTransition("transition\napp\ns1"));
  std::vector<health::SavedServerState> states;
  EXPECT_FALSE(parseStatesMessage(msg, &states)) << "not a state message";
}

TEST(MasterChannelTest, TheNodeStatusTheMasterSendsReachesTheWorkerLoop) {
  int sp[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
  UniqueFd master(sp[0]);
  MasterChannel channel{UniqueFd(sp[1])};
  EventBasePtr base(event_base_new());
  std::vector<NodeStatus> got;
  channel.startReading(base.get(), [&](NodeStatus n) { got.push_back(std::move(n)); });
  NodeStatus n;
  n.generation = 3;
  n.vrrpConfigured = true;
  n.vrrp.push_back(VrrpInstanceStatus{});
  n.vrrp.back().name = "VI_1";
  n.vrrp.back().state = "MASTER";
  ASSERT_TRUE(sendMessage(master.get(), std::string(kNodeStatusMessage) + encodeNodeStatus(n)));
  ASSERT_TRUE(sendMessage(master.get(), std::string(kNodeStatusMessage) + "{not json"));
  ASSERT_TRUE(sendMessage(master.get(), "something else"));
  event_base_loop(base.get(), EVLOOP_NONBLOCK);
  ASSERT_EQ(got.size(), 1u) << "the malformed and unknown messages are dropped";
  EXPECT_EQ(got[0], n);
  master.reset();  // the master goes: the channel stops reading, the loop has nothing left
  event_base_loop(base.get(), EVLOOP_NONBLOCK);
  EXPECT_EQ(event_base_loop(base.get(), EVLOOP_NONBLOCK), 1) << "no event left";
  channel.stopReading();
}

}  // namespace
}  // namespace tandem::proxy
