#include "health/health_monitor.h"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <memory>

#include "common/event.h"

namespace tandem::health {
namespace {

TEST(HealthMonitor, AdministrativeChangesAreTheOneWriterOfState) {
  EventBasePtr base(event_base_new());
  ServerHealth h1, h2;
  CheckTarget t;
  t.backend = "web";
  t.server = "web1";
  t.health = &h1;
  t.weight = 10;
  BackendMembers members{"web", {{"web1", false, &h1}, {"web2", true, &h2}}};
  HealthMonitor m(base.get(), {t}, {members});
  EXPECT_TRUE(m.setAdminState("web", "web1", AdminState::Maint, "maintenance window"));
  EXPECT_EQ(h1.state(), ServerState::Maint);
  ASSERT_FALSE(m.log().empty());
  EXPECT_NE(m.log().back().find("Server web/web1 is MAINT (was UP), reason: maintenance window"),
            std::string::npos)
      << m.log().back();
  EXPECT_NE(m.log().back().find("0 active and 1 backup servers left."), std::string::npos);
  EXPECT_TRUE(m.setAdminState("web", "web1", AdminState::Drain, "drain"));
  EXPECT_EQ(h1.state(), ServerState::Drain);
  EXPECT_TRUE(m.setAdminState("web", "web1", AdminState::Ready, "back"));
  EXPECT_EQ(h1.state(), ServerState::Up);
  EXPECT_TRUE(m.setWeight("web", "web1", 50));
  EXPECT_EQ(h1.effectiveWeight(), 50);
  EXPECT_FALSE(m.setWeight("web", "web1", 300));
  EXPECT_FALSE(m.setAdminState("web", "nope", AdminState::Maint, "x"));
}

TEST(HealthMonitor, LeavingMaintenanceRampsTheWeightWithSlowstart) {
  EventBasePtr base(event_base_new());
  ServerHealth h;
  h.setState(ServerState::Maint);  // `disabled: true`
  h.setEffectiveWeight(100);
  CheckTarget t;
  t.backend = "web";
  t.server = "web1";
  t.health = &h;
  t.weight = t.configWeight = 100;
  t.slowstart = std::chrono::seconds(60);
  HealthMonitor m(base.get(), {t}, {BackendMembers{"web", {{"web1", false, &h}}}});
  EXPECT_TRUE(m.setAdminState("web", "web1", AdminState::Ready, "maintenance over"));
  EXPECT_EQ(h.state(), ServerState::Up);
  EXPECT_GE(h.effectiveWeight(), 1);
  EXPECT_LT(h.effectiveWeight(), 10) << "a 60 s ramp has barely started";
  // DRAIN back to READY is not a return to service: full weight at once.
  EXPECT_TRUE(m.setWeight("web", "web1", 100));
  EXPECT_TRUE(m.setAdminState("web", "web1", AdminState::Drain, "drain"));
  EXPECT_TRUE(m.setAdminState("web", "web1", AdminState::Ready, "back"));
  EXPECT_EQ(h.effectiveWeight(), 100);
}

}  // namespace
}  // namespace tandem::health
