// The traffic counters (what the Prometheus exporter and the stats page show), counted by real
// streams on fake connections and a manual clock: every counter below is read back after the
// traffic that should move it, so removing a count fails a test.
#include "proxy/traffic_counters.h"

#include <gtest/gtest.h>

#include "tests/proxy/stream_fixture.h"

namespace tandem::proxy {
namespace {

using testing::FakePeerPtr;
using testing::kGet;
using testing::kOk;
using namespace std::chrono_literals;

class TrafficCountersTest : public testing::StreamTest {
 protected:
  TrafficTotals frontend() { return runtime->totals(*runtime->frontends()[0]); }
  TrafficTotals backend() { return runtime->totals(*runtime->backends()[0]); }
  TrafficTotals server(size_t i) { return runtime->totals(*runtime->backends()[0]->servers[i]); }
};

TEST(SlidingAverageTest, IsAMeanUntilTheWindowThenForgetsOldSamples) {
  SlidingAverage a;
  EXPECT_EQ(a.state().second, 0u);
  a.add(10);
  a.add(20);
  EXPECT_EQ(a.state().first / a.state().second, 15u);
  for (int i = 0; i < 20000; ++i) a.add(100);
  auto [sum, weight] = a.state();
  EXPECT_EQ(weight, SlidingAverage::kWindow);
  EXPECT_NEAR(static_cast<double>(sum) / static_cast<double>(weight), 100.0, 1.0);
}

TEST(TrafficTotalsTest, AddsWorkersUpAndWeighsTheirAverages) {
  TrafficCounters a, b;
  a.sessions.add(2);
  b.sessions.add(3);
  a.totalMs.add(10);
  b.totalMs.add(40);
  b.totalMs.add(40);
  a.addTotalTime(500);      // 0.5 ms: first bucket
  b.addTotalTime(700'000);  // 0.7 s: the 1 s bucket
  TrafficTotals t;
  t.add(a);
  t.add(b);
  t.finish();
  EXPECT_EQ(t.sessions, 5u);
  EXPECT_DOUBLE_EQ(t.totalMs, 30.0);
  EXPECT_EQ(t.totalTimeBuckets[0], 1u);
  EXPECT_EQ(t.totalTimeBuckets[9], 1u);
  EXPECT_EQ(t.totalTimeSumUs, 700'500u);
}

TEST_F(TrafficCountersTest, ARequestCountsOnItsFrontendBackendAndServer) {
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  advance(3ms);
  send(serverPeer(0), kOk);
  std::string response = client->take();
  TrafficTotals fe = frontend(), be = backend(), s1 = server(0), s2 = server(1);
  EXPECT_EQ(fe.sessions, 1u);
  EXPECT_EQ(fe.httpRequests, 1u);
  EXPECT_EQ(fe.responses[1], 1u);  // 2xx
  EXPECT_EQ(fe.bytesIn, std::string(kGet).size());
  EXPECT_EQ(fe.bytesOut, response.size());
  EXPECT_EQ(be.sessions, 1u);
  EXPECT_EQ(be.httpRequests, 1u);
  EXPECT_EQ(be.responses[1], 1u);
  EXPECT_EQ(be.bytesOut, response.size());
  EXPECT_GT(be.bytesIn, 0u);
  EXPECT_EQ(s1.responses[1], 1u);
  EXPECT_EQ(s1.bytesIn, be.bytesIn);
  EXPECT_EQ(s2.responses[1], 0u);
  EXPECT_DOUBLE_EQ(be.responseMs, 3.0);
  EXPECT_DOUBLE_EQ(s1.totalMs, 3.0);
  EXPECT_EQ(be.totalTimeBuckets[2], 1u) << "3 ms: the 5 ms bucket";
  EXPECT_EQ(runtime->frontends()[0]->maxConnections.load(), 1u);
  EXPECT_EQ(runtime->backends()[0]->servers[0]->maxActive.load(), 1u);
}

TEST_F(TrafficCountersTest, ConnectFailuresRetriesAndRedispatchesCountWhereTheyHappened) {
  web().redispatch = true;
  web().balance.algorithm = Balance::Algorithm::First;
  start();
  net.refuseConnects = 1;
  FakePeerPtr client = connect();
  send(client, kGet);
  send(serverPeer(1), kOk);
  TrafficTotals be = backend(), s1 = server(0), s2 = server(1);
  EXPECT_EQ(be.connectErrors, 1u);
  EXPECT_EQ(s1.connectErrors, 1u);
  EXPECT_EQ(s2.connectErrors, 0u);
  EXPECT_EQ(be.retries, 1u);
  EXPECT_EQ(s1.retries, 1u);
  EXPECT_EQ(be.redispatches, 1u);
  EXPECT_EQ(s1.redispatches, 1u) << "the server left behind";
  EXPECT_EQ(s2.responses[1], 1u);
}

TEST_F(TrafficCountersTest, DeniedInvalidAndBrokenOffResponsesCount) {
  denyInBackend(403);
  start();
  FakePeerPtr a = connect();
  send(a, kGet);
  EXPECT_EQ(frontend().responses[3], 1u);  // 4xx
  EXPECT_EQ(frontend().denied, 0u) << "the backend's rule denied it, not the frontend's";
  EXPECT_EQ(backend().denied, 1u);
  FakePeerPtr b = connect();
  send(b, "NOT HTTP\r\n\r\n");
  EXPECT_EQ(frontend().requestErrors, 1u);
}

TEST_F(TrafficCountersTest, AServerThatClosesMidResponseIsAResponseError) {
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  FakePeerPtr s = serverPeer(0);
  s->take();
  s->toProxy = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort";
  s->eof = true;
  pump();
  EXPECT_EQ(backend().responseErrors, 1u);
  EXPECT_EQ(server(0).responseErrors, 1u);
}

TEST_F(TrafficCountersTest, QueueHighWaterMarkIsKept) {
  web().servers.resize(1);
  web().servers[0].maxconn = 1;
  start();
  FakePeerPtr a = connect(), b = connect();
  send(a, kGet);
  send(b, kGet);
  EXPECT_EQ(runtime->backends()[0]->maxQueued.load(), 1u);
  EXPECT_EQ(runtime->backends()[0]->maxStreams.load(), 2u);
}

}  // namespace
}  // namespace tandem::proxy
