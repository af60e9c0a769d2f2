// When a crashed child starts again, and when its crashes have become a loop. The delay doubles
// from `initial` up to a cap and falls back to `initial` after a healthy run (a child that
// served for a while and then crashed is not in a loop). The proxy worker's cap is short (1 s):
// the supervisor holds its listening sockets, so every second of back-off is a second of
// clients queueing in the backlog. N crashes within a window is a crash loop: logged loudly and
// shown in `tandem status` — the supervisor keeps trying, as a node that gives up serves
// nobody (systemd's StartLimitBurst stops the unit instead).
#pragma once

#include <chrono>
#include <deque>

#include "common/duration.h"

namespace tandem::appliance {

class RestartPolicy {
 public:
  using Clock = std::chrono::steady_clock;

  struct Limits {
    Duration initial;
    Duration cap;
    Duration healthyAfter = std::chrono::seconds(5);  // a run this long resets the delay
    int loopCrashes = 5;                              // this many crashes ...
    Duration loopWindow = std::chrono::seconds(60);   // ... within this window: a crash loop
  };

  explicit RestartPolicy(Limits limits) : limits_(limits) {}
  void setLimits(Limits limits) { limits_ = limits; }

  // A crash at `now` of a child that had run for `ran` (serving, for the proxy worker): the
  // delay before the next start.
  Duration onCrash(Clock::time_point now, Duration ran);
  // Starting failed before the child ran at all: the next try, doubling like a crash.
  Duration onStartFailure();

  int recentCrashes(Clock::time_point now) const;
  bool crashLoop(Clock::time_point now) const { return recentCrashes(now) >= limits_.loopCrashes; }
  const Limits& limits() const { return limits_; }

 private:
  Duration next();

  Limits limits_;
  Duration delay_{0};  // the delay the next crash gets; 0: initial
  std::deque<Clock::time_point> crashes_;
};

}  // namespace tandem::appliance
