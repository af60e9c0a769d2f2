// What a server's shared health record keeps for metrics and the stats page: HAProxy's check
// status of each result, failed checks, UP→DOWN transitions, last change and downtime.
#include "health/server_health.h"

#include <gtest/gtest.h>

#include "health/check.h"
#include "health/server_tracker.h"

namespace tandem::health {
namespace {

CheckResult result(bool ok, CheckResult::Layer layer, std::string reason, int code = 0,
                   bool timedOut = false) {
  CheckResult r{ok, layer, std::move(reason), Duration(0)};
  r.code = code;
  r.timedOut = timedOut;
  return r;
}

TEST(CheckStatusTest, NamesEachWayACheckEndsAsHAProxyDoes) {
  using L = CheckResult::Layer;
  EXPECT_EQ(checkStatus(result(true, L::L4, "Layer4 check passed")), CheckStatus::L4Ok);
  EXPECT_EQ(checkStatus(result(false, L::L4, "Layer4 connection refused")), CheckStatus::L4Con);
  EXPECT_EQ(checkStatus(result(false, L::L4, "Layer4 timeout", 0, true)), CheckStatus::L4Tout);
  EXPECT_EQ(checkStatus(result(true, L::L7, "Layer7 check passed, code: 200", 200)),
            CheckStatus::L7Ok);
  EXPECT_EQ(checkStatus(result(false, L::L7, "Layer7 wrong status 500", 500)), CheckStatus::L7Sts);
  EXPECT_EQ(checkStatus(result(false, L::L7, "Layer7 response did not match 'ok'", 200)),
            CheckStatus::L7Rsp);
  EXPECT_EQ(checkStatus(result(false, L::L7, "Layer7 timeout at step 2", 0, true)),
            CheckStatus::L7Tout);
  EXPECT_EQ(toString(CheckStatus::L7Sts), "L7STS");
}

TEST(CheckStatusTest, AnHttpCheckResultCarriesItsStatusCode) {
  CheckConfig config;
  EXPECT_EQ(
      evaluateHttpResponse("HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n", config).code,
      503);
  CheckResult ok = evaluateHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", config);
  EXPECT_EQ(ok.code, 200);
  EXPECT_EQ(checkStatus(ok), CheckStatus::L7Ok);
}

TEST(ServerHealthTest, CountsFailedChecksAndKeepsTheLastOne) {
  ServerHealth h;
  h.recordCheck(CheckStatus::L7Ok, 200, Duration(1500));
  h.recordCheck(CheckStatus::L7Sts, 500, Duration(2500));
  h.recordCheck(CheckStatus::L4Con, 0, Duration(100));
  EXPECT_EQ(h.checkFailures(), 2u);
  EXPECT_EQ(h.lastCheckStatus(), CheckStatus::L4Con);
  EXPECT_EQ(h.lastCheckDurationUs(), 100);
  EXPECT_EQ(h.lastCheckCode(), 0);
}

TEST(ServerHealthTest, DowntimeAndUpDownTransitionsFollowTheStates) {
  ServerHealth h;
  EXPECT_EQ(h.lastChangeUs(), -1);
  h.setState(ServerState::GoingDown, 1'000);
  h.setState(ServerState::Down, 2'000);  // checks took it down
  EXPECT_EQ(h.upDownTransitions(), 1u);
  EXPECT_EQ(h.downtimeUs(5'000), 3'000) << "still down: counts up to now";
  h.setState(ServerState::GoingUp, 6'000);
  h.setState(ServerState::Up, 7'000);
  EXPECT_EQ(h.downtimeUs(100'000), 5'000);
  EXPECT_EQ(h.lastChangeUs(), 7'000);
  h.setState(ServerState::Maint, 8'000);  // an admin, not checks
  h.setState(ServerState::Down, 9'000);   // leaving maint with checks down
  EXPECT_EQ(h.upDownTransitions(), 1u) << "only checks taking a serving server down count";
  h.setState(ServerState::Down, 10'000);  // no change
  EXPECT_EQ(h.lastChangeUs(), 9'000);
}

}  // namespace
}  // namespace tandem::health
