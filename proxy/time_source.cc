#include "proxy/time_source.h"

#include <sys/time.h>
#include <time.h>

namespace tandem::proxy {

namespace {

class LoopTimer final : public DeadlineTimer {
 public:
  LoopTimer(LoopTimeSource& source, event_base* loop, std::function<void()> callback)
      : source_(source),
        callback_(std::move(callback)),
        event_(loop, -1, 0, [this](short) { callback_(); }) {}
  void arm(Duration after) override {
    if (const timeval* common = source_.commonTimeout(after))
      event_.add(common);
    else
      event_.add(after);
  }
  void cancel() override { event_.remove(); }
  bool armed() const override { return event_.pending(); }

 private:
  LoopTimeSource& source_;
  std::function<void()> callback_;
  Event event_;
};

}  // namespace

int64_t LoopTimeSource::wallUs() const {
  timeval tv;
  event_base_gettimeofday_cached(loop_, &tv);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

int64_t LoopTimeSource::nowUs() const {
  const LoopCallbackContext& context = LoopCallbackContext::current();
  if (context.depth == 0 || context.callback != readInCallback_) {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    monotonicUs_ = static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
    readInCallback_ = context.depth > 0 ? context.callback : 0;
  }
  return monotonicUs_;
}

DeadlineTimerPtr LoopTimeSource::makeTimer(std::function<void()> callback) {
  return std::make_unique<LoopTimer>(*this, loop_, std::move(callback));
}

const timeval* LoopTimeSource::commonTimeout(Duration d) {
  int64_t us = d.count();
  for (const auto& [duration, queue] : common_)
    if (duration == us) return queue;
  if (common_.size() >= kMaxCommonTimeouts) return nullptr;
  timeval tv = toTimeval(d);
  const timeval* common = event_base_init_common_timeout(loop_, &tv);
  if (common) common_.emplace_back(us, common);
  return common;
}

}  // namespace tandem::proxy
