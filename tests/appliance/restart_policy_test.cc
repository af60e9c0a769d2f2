#include "appliance/supervisor/restart_policy.h"

#include <gtest/gtest.h>

namespace tandem::appliance {
namespace {

using namespace std::chrono_literals;
using Clock = RestartPolicy::Clock;

RestartPolicy proxyPolicy() {
  return RestartPolicy({.initial = 100ms, .cap = 1s});
}

TEST(RestartPolicy, DoublesUpToTheCap) {
  RestartPolicy p = proxyPolicy();
  Clock::time_point t{};
  std::vector<Duration> delays;
  for (int i = 0; i < 7; ++i) delays.push_back(p.onCrash(t += 100s, 0s));  // far apart: no loop
  EXPECT_EQ(delays, (std::vector<Duration>{100ms, 200ms, 400ms, 800ms, 1s, 1s, 1s}));
}

TEST(RestartPolicy, HealthyRunResetsTheDelay) {
  RestartPolicy p = proxyPolicy();
  Clock::time_point t{};
  p.onCrash(t, 0s);
  p.onCrash(t += 1s, 1s);
  EXPECT_EQ(p.onCrash(t += 1s, 1s), 400ms);   // short runs keep doubling
  EXPECT_EQ(p.onCrash(t += 10s, 6s), 100ms);  // served 6 s (healthyAfter 5 s): fresh start
  EXPECT_EQ(p.onCrash(t += 1s, 1s), 200ms);
}

TEST(RestartPolicy, CrashesApartEveryFewSecondsNeverWaitLong) {
  // Kills 3 s apart (the field report): each restart waits at most the 1 s cap.
  RestartPolicy p = proxyPolicy();
  Clock::time_point t{};
  for (int i = 0; i < 10; ++i) EXPECT_LE(p.onCrash(t += 3s, 2s), 1s);
}

TEST(RestartPolicy, FiveCrashesInAMinuteIsACrashLoopThatEnds) {
  RestartPolicy p = proxyPolicy();
  Clock::time_point t{};
  for (int i = 0; i < 4; ++i) p.onCrash(t += 5s, 0s);
  EXPECT_FALSE(p.crashLoop(t));
  EXPECT_EQ(p.recentCrashes(t), 4);
  p.onCrash(t += 5s, 0s);
  EXPECT_TRUE(p.crashLoop(t));
  EXPECT_FALSE(p.crashLoop(t + 61s));  // quiet for a minute: over
  EXPECT_EQ(p.recentCrashes(t + 61s), 0);
}

TEST(RestartPolicy, StartFailuresDoubleToo) {
  RestartPolicy p = proxyPolicy();
  EXPECT_EQ(p.onStartFailure(), 100ms);
  EXPECT_EQ(p.onStartFailure(), 200ms);
  EXPECT_EQ(p.recentCrashes(Clock::time_point{}), 0);
}

}  // namespace
}  // namespace tandem::appliance
