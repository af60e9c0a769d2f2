#include "proxy/load_balancer.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace tandem::proxy {
namespace {

// A backend of n servers (weights given) with no sockets: the balancer only reads state.
struct Fixture {
  Backend config;
  BackendRuntime runtime;
  explicit Fixture(std::vector<int> weights,
                   Balance::Algorithm alg = Balance::Algorithm::RoundRobin) {
    config.name = "b";
    config.balance.algorithm = alg;
    for (size_t i = 0; i < weights.size(); ++i) {
      Server s;
      s.name = "s" + std::to_string(i);
      s.weight = weights[i];
      config.servers.push_back(s);
    }
    runtime.config = &config;
    for (size_t i = 0; i < config.servers.size(); ++i) {
      auto sr = std::make_unique<ServerRuntime>();
      sr->config = &config.servers[i];
      sr->index = i;
      sr->health.setEffectiveWeight(config.servers[i].weight);
      runtime.servers.push_back(std::move(sr));
    }
  }
  ServerRuntime& server(size_t i) { return *runtime.servers[i]; }
};

ServerRuntime* pickAndRelease(LoadBalancer& lb, const PickContext& ctx) {
  PickFailure why;
  ServerRuntime* s = lb.pick(ctx, nullptr, &why);
  if (s) s->releaseSlot();
  return s;
}

TEST(LoadBalancer, SmoothWeightedRoundRobin) {
  Fixture f({5, 1, 1});
  LoadBalancer lb(f.runtime);
  std::string seq;
  for (int i = 0; i < 7; ++i) seq += std::to_string(pickAndRelease(lb, {})->index);
  EXPECT_EQ(seq, "0010200");  // nginx's smooth sequence for 5,1,1: {a a b a c a a}
}

TEST(LoadBalancer, WeightZeroAndDownServersGetNothing) {
  Fixture f({1, 0, 1});
  f.server(2).health.setState(health::ServerState::Down);
  LoadBalancer lb(f.runtime);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(pickAndRelease(lb, {})->index, 0u);
}

TEST(LoadBalancer, BackupOnlyWhenNoActiveIsUsable) {
  Fixture f({1, 1, 1});
  f.config.servers[1].backup = true;
  f.config.servers[2].backup = true;
  LoadBalancer lb(f.runtime);
  EXPECT_EQ(pickAndRelease(lb, {})->index, 0u);
  f.server(0).health.setState(health::ServerState::Maint);
  EXPECT_EQ(pickAndRelease(lb, {})->index, 1u);
  EXPECT_EQ(pickAndRelease(lb, {})->index, 1u);  // first backup only
  f.config.allbackups = true;
  std::map<size_t, int> c;
  for (int i = 0; i < 10; ++i) c[pickAndRelease(lb, {})->index]++;
  EXPECT_EQ(c[1], 5);
  EXPECT_EQ(c[2], 5);
  f.server(1).health.setState(health::ServerState::Drain);
  f.server(2).health.setState(health::ServerState::Down);
  PickFailure why;
  EXPECT_EQ(lb.pick({}, nullptr, &why), nullptr);
  EXPECT_EQ(why, PickFailure::NoServer);
}

TEST(LoadBalancer, MaxconnFullServersAreSkippedThenQueue) {
  Fixture f({1, 1}, Balance::Algorithm::First);
  f.config.servers[0].maxconn = 2;
  f.config.servers[1].maxconn = 1;
  LoadBalancer lb(f.runtime);
  PickFailure why;
  EXPECT_EQ(lb.pick({}, nullptr, &why)->index, 0u);
  EXPECT_EQ(lb.pick({}, nullptr, &why)->index, 0u);
  EXPECT_EQ(lb.pick({}, nullptr, &why)->index, 1u);
  EXPECT_EQ(lb.pick({}, nullptr, &why), nullptr);
  EXPECT_EQ(why, PickFailure::AllFull);
  f.server(0).releaseSlot();
  EXPECT_EQ(lb.pick({}, nullptr, &why)->index, 0u);
}

TEST(LoadBalancer, LeastConnPrefersIdleAndRespectsWeight) {
  Fixture f({1, 2}, Balance::Algorithm::LeastConn);
  LoadBalancer lb(f.runtime);
  PickFailure why;
  // Held connections: weight 2 takes two for every one of weight 1.
  std::map<size_t, int> held;
  for (int i = 0; i < 9; ++i) held[lb.pick({}, nullptr, &why)->index]++;
  EXPECT_EQ(held[0], 3);
  EXPECT_EQ(held[1], 6);
}

TEST(LoadBalancer, SourceHashIsStableAndMovesOnlyTheLeavingServersClients) {
  Fixture f({1, 1, 1, 1}, Balance::Algorithm::Source);
  LoadBalancer lb(f.runtime);
  std::map<int, size_t> before;
  std::map<size_t, int> spread;
  for (int i = 0; i < 1000; ++i) {
    IpAddress ip =
        *IpAddress::parse("198.18." + std::to_string(i / 256) + "." + std::to_string(i % 256));
    PickContext ctx{&ip, {}, {}};
    before[i] = pickAndRelease(lb, ctx)->index;
    EXPECT_EQ(pickAndRelease(lb, ctx)->index, before[i]);
    spread[before[i]]++;
  }
  for (auto& [s, n] : spread) EXPECT_GT(n, 180) << "server " << s;  // ~250 each
  f.server(2).health.setState(health::ServerState::Down);
  int moved = 0;
  for (int i = 0; i < 1000; ++i) {
    IpAddress ip =
        *IpAddress::parse("198.18." + std::to_string(i / 256) + "." + std::to_string(i % 256));
    PickContext ctx{&ip, {}, {}};
    size_t now = pickAndRelease(lb, ctx)->index;
    if (before[i] != 2) {
      EXPECT_EQ(now, before[i]);  // clients of other servers stay
    }
    if (now != before[i]) ++moved;
  }
  EXPECT_EQ(moved, spread[2]);
}

TEST(LoadBalancer, UriHashUsesThePathUnlessWhole) {
  Fixture f({1, 1, 1}, Balance::Algorithm::Uri);
  LoadBalancer lb(f.runtime);
  std::map<size_t, int> spread;
  for (int i = 0; i < 300; ++i) {
    std::string p = "/item/" + std::to_string(i);
    size_t a = pickAndRelease(lb, {nullptr, p, p + "?x=1"})->index;
    size_t b = pickAndRelease(lb, {nullptr, p, p + "?x=2"})->index;
    EXPECT_EQ(a, b);
    spread[a]++;
  }
  EXPECT_EQ(spread.size(), 3u);
}

// HAProxy's dynamic maxconn: with minconn, a server's limit is max(minconn,
// maxconn * backend streams / fullconn), and maxconn once the backend holds fullconn streams.
TEST(LoadBalancer, MinconnGrowsTheLimitWithTheBackendLoadUpToMaxconnAtFullconn) {
  Fixture f({1});
  f.config.servers[0].maxconn = 100;
  f.config.servers[0].minconn = 10;
  f.runtime.fullconn = 1000;
  const ServerRuntime& s = f.server(0);
  EXPECT_EQ(f.runtime.serverLimit(s), 10u);  // idle backend: minconn
  f.runtime.streams = 300;
  EXPECT_EQ(f.runtime.serverLimit(s), 30u);
  f.runtime.streams = 999;
  EXPECT_EQ(f.runtime.serverLimit(s), 100u);  // 99.9 rounded up
  f.runtime.streams = 5000;
  EXPECT_EQ(f.runtime.serverLimit(s), 100u);
  f.config.servers[0].minconn = 0;  // without minconn: the static maxconn
  f.runtime.streams = 0;
  EXPECT_EQ(f.runtime.serverLimit(s), 100u);
}

TEST(LoadBalancer, PickQueuesWhenTheDynamicLimitIsReached) {
  Fixture f({1});
  f.config.servers[0].maxconn = 50;
  f.config.servers[0].minconn = 2;
  f.runtime.fullconn = 100;
  f.runtime.streams = 3;  // 50 * 3 / 100 = 1.5 -> below minconn: the limit is 2
  LoadBalancer lb(f.runtime);
  PickFailure why;
  ASSERT_NE(lb.pick({}, nullptr, &why), nullptr);
  ASSERT_NE(lb.pick({}, nullptr, &why), nullptr);
  EXPECT_EQ(lb.pick({}, nullptr, &why), nullptr);
  EXPECT_EQ(why, PickFailure::AllFull);
  f.runtime.streams = 60;  // the limit is now 30: room again
  EXPECT_NE(lb.pick({}, nullptr, &why), nullptr);
}

TEST(LoadBalancer, BackendUseCountsStreamsOnceAndGivesThemBack) {
  Fixture f({1});
  BackendRuntime other;
  {
    BackendUse use;
    use = &f.runtime;
    use = &f.runtime;  // the same backend again (a retry): still one stream
    EXPECT_EQ(f.runtime.streams.load(), 1u);
    use = &other;  // the next request goes elsewhere
    EXPECT_EQ(f.runtime.streams.load(), 0u);
    EXPECT_EQ(other.streams.load(), 1u);
  }
  EXPECT_EQ(other.streams.load(), 0u);  // the stream ended
}

}  // namespace
}  // namespace tandem::proxy
