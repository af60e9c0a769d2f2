#include "appliance/supervisor/restart_policy.h"

#include <algorithm>

namespace tandem::appliance {

Duration RestartPolicy::next() {
  Duration now = delay_.count() ? delay_ : limits_.initial;
  now = std::min(now, limits_.cap);
  delay_ = std::min(limits_.cap, Duration(now.count() * 2));
  return now;
}

Duration RestartPolicy::onCrash(Clock::time_point now, Duration ran) {
  if (ran >= limits_.healthyAfter) delay_ = Duration(0);
  crashes_.push_back(now);
  while (!crashes_.empty() && now - crashes_.front() > limits_.loopWindow) crashes_.pop_front();
  return next();
}

Duration RestartPolicy::onStartFailure() {
  return next();
}

int RestartPolicy::recentCrashes(Clock::time_point now) const {
  return static_cast<int>(std::count_if(crashes_.begin(), crashes_.end(),
                                        [&](auto t) { return now - t <= limits_.loopWindow; }));
}

}  // namespace tandem::appliance
