#include "health/server_tracker.h"

#include <gtest/gtest.h>

namespace tandem::health {
namespace {

CheckResult ok() {
  return {true, CheckResult::Layer::L4, "Layer4 check passed", Duration(0)};
}
CheckResult bad() {
  return {false, CheckResult::Layer::L4, "Layer4 connection refused", Duration(0)};
}

TEST(ServerTracker, GoesDownAfterExactlyFallFailures) {
  ServerHealth h;
  ServerTracker t(h, /*rise=*/2, /*fall=*/3);
  EXPECT_EQ(t.onResult(bad())->to, ServerState::GoingDown);
  EXPECT_FALSE(t.onResult(bad()));  // still going down: no new state
  EXPECT_TRUE(h.usable());          // still taking traffic until `fall`
  auto down = t.onResult(bad());
  ASSERT_TRUE(down);
  EXPECT_EQ(down->from, ServerState::GoingDown);
  EXPECT_EQ(down->to, ServerState::Down);
  EXPECT_EQ(down->reason, "Layer4 connection refused");
  EXPECT_FALSE(h.usable());
}

TEST(ServerTracker, ASuccessResetsTheFallCount) {
  ServerHealth h;
  ServerTracker t(h, 2, 3);
  t.onResult(bad());
  t.onResult(bad());
  EXPECT_EQ(t.onResult(ok())->to, ServerState::Up);
  t.onResult(bad());
  t.onResult(bad());
  EXPECT_EQ(h.state(), ServerState::GoingDown);
}

TEST(ServerTracker, ComesUpAfterExactlyRiseSuccesses) {
  ServerHealth h;
  ServerTracker t(h, 2, 1);
  EXPECT_EQ(t.onResult(bad())->to, ServerState::Down);
  EXPECT_EQ(t.onResult(ok())->to, ServerState::GoingUp);
  EXPECT_FALSE(h.usable());
  EXPECT_EQ(t.onResult(ok())->to, ServerState::Up);
  EXPECT_TRUE(h.usable());
}

TEST(ServerTracker, MaintOverridesChecksUntilReady) {
  ServerHealth h;
  ServerTracker t(h, 1, 1);
  EXPECT_EQ(t.setAdmin(AdminState::Maint, "admin")->to, ServerState::Maint);
  EXPECT_FALSE(t.onResult(bad()));  // checks continue but do not change what users see
  EXPECT_EQ(h.state(), ServerState::Maint);
  EXPECT_FALSE(h.usable());
  // READY shows what the checks found meanwhile.
  EXPECT_EQ(t.setAdmin(AdminState::Ready, "admin")->to, ServerState::Down);
  EXPECT_EQ(t.onResult(ok())->to, ServerState::Up);
}

TEST(ServerTracker, DrainTakesNoNewTraffic) {
  ServerHealth h;
  ServerTracker t(h, 1, 1);
  EXPECT_EQ(t.setAdmin(AdminState::Drain, "admin")->to, ServerState::Drain);
  EXPECT_FALSE(h.usable());
  EXPECT_EQ(t.setAdmin(AdminState::Ready, "admin")->to, ServerState::Up);
}

TEST(ServerTracker, ConfiguredDisabledAndDrainStartAdministratively) {
  ServerHealth h(ServerState::Maint);
  ServerTracker t(h, 1, 1);
  EXPECT_EQ(t.admin(), AdminState::Maint);
  ServerHealth d(ServerState::Drain);
  ServerTracker td(d, 1, 1);
  EXPECT_EQ(td.admin(), AdminState::Drain);
}

}  // namespace
}  // namespace tandem::health
