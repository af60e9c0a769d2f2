#include "health/server_state.h"

#include <gtest/gtest.h>

namespace tandem::health {
namespace {

TEST(ServerState, NamesMatchHAProxyLogs) {
  EXPECT_EQ(toString(ServerState::Up), "UP");
  EXPECT_EQ(toString(ServerState::GoingDown), "UP, going down");
  EXPECT_EQ(toString(ServerState::Down), "DOWN");
  EXPECT_EQ(toString(ServerState::GoingUp), "DOWN, going up");
  EXPECT_EQ(toString(ServerState::Drain), "DRAIN");
  EXPECT_EQ(toString(ServerState::Maint), "MAINT");
}

TEST(ServerState, OnlyUpStatesTakeNewTraffic) {
  EXPECT_TRUE(isUsable(ServerState::Up));
  EXPECT_TRUE(isUsable(ServerState::GoingDown));
  EXPECT_FALSE(isUsable(ServerState::Down));
  EXPECT_FALSE(isUsable(ServerState::GoingUp));
  EXPECT_FALSE(isUsable(ServerState::Drain));
  EXPECT_FALSE(isUsable(ServerState::Maint));
}

}  // namespace
}  // namespace tandem::health
