// Time as the data path sees it: "now" and deadline timers, behind one small interface so the
// session logic runs on libevent in the product and on a manual clock in unit tests (Envoy's
// TimeSource and Dispatcher::createTimer).
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "common/duration.h"
#include "common/event.h"

namespace tandem::proxy {

// A one-shot timer: the callback runs once, `after` from when it was armed, unless cancelled or
// re-armed first.
class DeadlineTimer {
 public:
  virtual ~DeadlineTimer() = default;
  virtual void arm(Duration after) = 0;
  virtual void cancel() = 0;
  virtual bool armed() const = 0;
};

using DeadlineTimerPtr = std::unique_ptr<DeadlineTimer>;

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  // Monotonic microseconds (deadlines, durations): a wall-clock step (NTP, an operator's `date`)
  // neither stretches nor cuts a timeout. On the loop, the time its current pass started.
  virtual int64_t nowUs() const = 0;
  // Wall-clock microseconds since the epoch, for dates people read (access logs).
  virtual int64_t wallUs() const = 0;
  virtual DeadlineTimerPtr makeTimer(std::function<void()> callback) = 0;
};

// libevent's clock and timers on one loop. Timers of a duration used before share a libevent
// "common timeout" queue (O(1) re-arming for the thousands of sessions that all wait e.g.
// `timeout client`); libevent allows 256 such queues per loop, so past a bound the rest (the
// remainders of lazily moved deadlines, all different) use the ordinary timer heap.
class LoopTimeSource final : public TimeSource {
 public:
  explicit LoopTimeSource(event_base* loop) : loop_(loop) {}
  int64_t nowUs() const override;
  int64_t wallUs() const override;
  DeadlineTimerPtr makeTimer(std::function<void()> callback) override;
  // The shared queue for `d`, or null once the bound is reached (then: a plain timeval).
  const timeval* commonTimeout(Duration d);

  static constexpr size_t kMaxCommonTimeouts = 64;

 private:
  event_base* loop_;
  // A session arms timers of a handful of durations (its timeouts): a short list, scanned.
  std::vector<std::pair<int64_t, const timeval*>> common_;
  // The monotonic clock is read once per event callback, however often the callback asks
  // (a request asks a dozen times). libevent's own cached clock would do as much, but takes the
  // loop's lock on every read.
  mutable uint64_t readInCallback_ = 0;  // the callback of the last reading; 0: none
  mutable int64_t monotonicUs_ = 0;
};

}  // namespace tandem::proxy
