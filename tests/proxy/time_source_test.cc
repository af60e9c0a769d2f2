#include "proxy/time_source.h"

#include <gtest/gtest.h>

#include <vector>

namespace tandem::proxy {
namespace {

// libevent gives a loop at most 256 common-timeout queues and answers the 257th request with
// null, which event_add takes as "no timeout": a timer armed so would never fire. Sessions move
// their deadlines lazily and re-arm for the remainder (a different duration each time), so the
// time source must fall back to plain timers past its bound.
TEST(LoopTimeSource, TimersOfManyDifferentDurationsAllFire) {
  EventBasePtr loop(event_base_new());
  LoopTimeSource time(loop.get());
  constexpr int kTimers = 400;
  int fired = 0;
  std::vector<DeadlineTimerPtr> timers;
  for (int i = 0; i < kTimers; ++i) {
    timers.push_back(time.makeTimer([&fired] { ++fired; }));
    timers.back()->arm(Duration(1000 + i));  // 1 ms and a few microseconds, all different
    EXPECT_TRUE(timers.back()->armed());
  }
  // Bounded: every timer is due within 2 ms; a stuck one leaves the loop after 500 ms.
  Timer guard(loop.get(), [&loop] { event_base_loopbreak(loop.get()); });
  guard.arm(std::chrono::milliseconds(500));
  while (fired < kTimers && guard.armed()) event_base_loop(loop.get(), EVLOOP_ONCE);
  EXPECT_EQ(fired, kTimers);
}

TEST(LoopTimeSource, ACancelledTimerDoesNotFire) {
  EventBasePtr loop(event_base_new());
  LoopTimeSource time(loop.get());
  bool fired = false;
  DeadlineTimerPtr t = time.makeTimer([&fired] { fired = true; });
  t->arm(Duration(1000));
  t->cancel();
  EXPECT_FALSE(t->armed());
  Timer after(loop.get(), [] {});
  after.arm(std::chrono::milliseconds(5));
  event_base_dispatch(loop.get());
  EXPECT_FALSE(fired);
}

}  // namespace
}  // namespace tandem::proxy
