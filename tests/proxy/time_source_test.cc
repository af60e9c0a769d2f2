#include "proxy/time_source.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
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

// One reading per callback: a callback sees one instant however often it asks, the next
// callback a later one, and code outside any callback always a fresh reading.
TEST(LoopTimeSource, TheClockIsReadOncePerCallback) {
  EventBasePtr loop(event_base_new());
  LoopTimeSource time(loop.get());
  auto pause = [] { std::this_thread::sleep_for(std::chrono::milliseconds(2)); };
  int64_t outside1 = time.nowUs();
  pause();
  int64_t outside2 = time.nowUs();
  EXPECT_GE(outside2 - outside1, 2000);
  std::vector<int64_t> first, second;
  Timer b(loop.get(), [&] { second = {time.nowUs()}; });
  Timer a(loop.get(), [&] {
    first.push_back(time.nowUs());
    pause();
    first.push_back(time.nowUs());
    b.arm(std::chrono::milliseconds(1));
  });
  a.arm(std::chrono::milliseconds(1));
  event_base_dispatch(loop.get());
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(first[0], first[1]);
  EXPECT_GE(second[0] - first[0], 2000);
  pause();
  EXPECT_GE(time.nowUs() - second[0], 2000);
}

}  // namespace
}  // namespace tandem::proxy
