#include "proxy/rate_limiter.h"

#include <cstring>

namespace tandem::proxy {

RateLimiter::RateLimiter(const RateLimitTable& table)
    : table_(table), perShardLimit_(std::max<size_t>(1, table.size / kShards)) {}

bool RateLimiter::hit(const IpAddress& ip, int64_t nowUs) {
  Key k{};
  std::memcpy(&k.hi, ip.bytes.data(), 8);
  std::memcpy(&k.lo, ip.bytes.data() + 8, 8);
  k.lo ^= static_cast<uint64_t>(ip.family);
  Shard& shard = shards_[KeyHash{}(k) % kShards];
  int64_t window = table_.window.count();
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.entries.find(k);
  if (it == shard.entries.end()) {
    if (shard.entries.size() >= perShardLimit_) {
      // Full: forget entries idle longer than `expire`; if still full, do not track this one
      // (like a full stick-table, the request is not limited rather than refused).
      int64_t expire = table_.expire.count();
      for (auto e = shard.entries.begin(); e != shard.entries.end();)
        e = nowUs - e->second.lastSeenUs > expire ? shard.entries.erase(e) : std::next(e);
      if (shard.entries.size() >= perShardLimit_) return false;
    }
    it = shard.entries.emplace(k, Entry{nowUs, 0, 0, nowUs}).first;
  }
  Entry& e = it->second;
  int64_t elapsed = nowUs - e.windowStartUs;
  if (elapsed >= 2 * window) {  // both windows are in the past
    e.previous = 0;
    e.current = 0;
    e.windowStartUs = nowUs;
    elapsed = 0;
  } else if (elapsed >= window) {  // the current window became the previous one
    e.previous = e.current;
    e.current = 0;
    e.windowStartUs += window;
    elapsed -= window;
  }
  ++e.current;
  e.lastSeenUs = nowUs;
  double overlap = static_cast<double>(window - elapsed) / static_cast<double>(window);
  double rate = e.previous * overlap + e.current;
  return rate > static_cast<double>(table_.limit);
}

size_t RateLimiter::entries() {
  size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.entries.size();
  }
  return n;
}

}  // namespace tandem::proxy
