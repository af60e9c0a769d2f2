// Per-source request-rate tables (HAProxy's `stick-table type ip ... store http_req_rate(10s)`
// with `track-sc0 src`), shared by every worker. The rate over the window is estimated the way
// HAProxy's freq_ctr does: the previous window's count weighted by how much of it still overlaps
// the sliding window, plus the current window's count. Sharded, with one mutex per shard: only
// requests that pass a `track` rule touch it.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "common/address.h"
#include "proxy/config.h"

namespace tandem::proxy {

class RateLimiter {
 public:
  explicit RateLimiter(const RateLimitTable& table);

  // Counts one request from `ip` at `nowUs` (monotonic); true when the rate is now over the
  // limit (the request is to be denied with table().status).
  bool hit(const IpAddress& ip, int64_t nowUs);
  const RateLimitTable& table() const { return table_; }
  size_t entries();

 private:
  struct Key {
    uint64_t hi, lo;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return k.hi * 0x9e3779b97f4a7c15ULL ^ k.lo; }
  };
  struct Entry {
    int64_t windowStartUs = 0;
    uint32_t current = 0;
    uint32_t previous = 0;
    int64_t lastSeenUs = 0;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<Key, Entry, KeyHash> entries;
  };
  static constexpr size_t kShards = 64;

  RateLimitTable table_;
  size_t perShardLimit_;
  std::array<Shard, kShards> shards_;
};

}  // namespace tandem::proxy
