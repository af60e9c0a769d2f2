#include "proxy/rate_limiter.h"

#include <gtest/gtest.h>

namespace tandem::proxy {
namespace {

using namespace std::chrono_literals;

RateLimitTable table(uint64_t limit, Duration window, uint64_t size = 1024) {
  RateLimitTable t;
  t.limit = limit;
  t.window = window;
  t.size = size;
  t.expire = 30s;
  return t;
}

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

TEST(RateLimiter, AllowsUpToTheLimitThenDenies) {
  RateLimiter r(table(5, 10s));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(r.hit(ip("198.18.0.1"), i * 1000)) << i;
  EXPECT_TRUE(r.hit(ip("198.18.0.1"), 6000));
  EXPECT_FALSE(r.hit(ip("198.18.0.2"), 6000));  // per source
}

TEST(RateLimiter, PreviousWindowFadesOut) {
  RateLimiter r(table(10, 1s));
  for (int i = 0; i < 10; ++i) r.hit(ip("198.18.0.1"), 0);
  // Just after the window turns, the previous 10 still count almost fully: denied.
  EXPECT_TRUE(r.hit(ip("198.18.0.1"), 1000000 + 1000));
  // Near the end of the next window they barely count: allowed again.
  EXPECT_FALSE(r.hit(ip("198.18.0.1"), 1950000));
  // Two windows later everything is forgotten.
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(r.hit(ip("198.18.0.1"), 5000000)) << i;
}

TEST(RateLimiter, FullTableForgetsIdleEntriesAndNeverRefusesNewcomers) {
  RateLimiter r(table(1, 1s, /*size=*/64));  // one entry per shard
  for (int i = 0; i < 1000; ++i) {
    std::string a = "198.18." + std::to_string(i / 256) + "." + std::to_string(i % 256);
    r.hit(ip(a.c_str()), 0);
  }
  EXPECT_LE(r.entries(), 64u);
  EXPECT_FALSE(r.hit(ip("198.19.0.1"), 0));
}

TEST(RateLimiter, IdleEntriesMakeRoomSoNewcomersAreCounted) {
  RateLimiter r(table(1, 1s, /*size=*/64));  // one entry per shard, expire 30 s
  for (int i = 0; i < 1000; ++i) {           // every shard full at t=0
    std::string a = "198.18." + std::to_string(i / 256) + "." + std::to_string(i % 256);
    r.hit(ip(a.c_str()), 0);
  }
  const int64_t s = 1000000;
  // Within `expire`, a full shard cannot track a newcomer: never refused, and not counted.
  EXPECT_FALSE(r.hit(ip("198.19.0.1"), 1 * s));
  EXPECT_FALSE(r.hit(ip("198.19.0.1"), 1 * s + 1));
  // Past `expire`, idle entries are forgotten: the newcomer is tracked, and limited.
  EXPECT_FALSE(r.hit(ip("198.19.0.1"), 31 * s));
  EXPECT_TRUE(r.hit(ip("198.19.0.1"), 31 * s + 1));
  EXPECT_LE(r.entries(), 64u);
}

TEST(RateLimiter, IPv6SourcesAreDistinct) {
  RateLimiter r(table(1, 10s));
  EXPECT_FALSE(r.hit(ip("2001:db8::1"), 0));
  EXPECT_FALSE(r.hit(ip("2001:db8::2"), 0));
  EXPECT_TRUE(r.hit(ip("2001:db8::1"), 1));
}

}  // namespace
}  // namespace tandem::proxy
