// The worker -> supervisor messages, formatted and parsed by the one definition both ends use.
#include "proxy/master_channel.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace tandem::proxy
