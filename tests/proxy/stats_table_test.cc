// The statistics table behind the stats page and its CSV, filled by real streams on fake
// connections: each HAProxy column reads the counter it names.
#include "proxy/stats_table.h"

#include "proxy/stats_history.h"

#include <gtest/gtest.h>

#include "tests/proxy/stream_fixture.h"

namespace tandem::proxy {
namespace {

using testing::FakePeerPtr;
using testing::kGet;
using testing::kOk;

class StatsTableTest : public testing::StreamTest {
 protected:
  const StatsLine& line(const std::vector<StatsLine>& t, const std::string& px,
                        const std::string& sv) {
    for (const auto& l : t)
      if (l.proxy == px && l.server == sv) return l;
    ADD_FAILURE() << "no line " << px << "/" << sv;
    return t.front();
  }
};

TEST(StatsColumnsTest, AreHAProxysInItsOrder) {
  const auto& c = statsColumns();
  ASSERT_GE(c.size(), 100u);
  EXPECT_EQ(c[0], "pxname");
  EXPECT_EQ(c[4], "scur");
  EXPECT_EQ(c[17], "status");
  EXPECT_EQ(c[32], "type");
  EXPECT_EQ(c[36], "check_status");
  EXPECT_EQ(c[48], "req_tot");
  EXPECT_EQ(c[73], "addr");
  EXPECT_EQ(c.back(), "agg_check_status");
}

TEST(HumanDurationTest, WritesTheTwoLargestUnits) {
  EXPECT_EQ(humanDuration(7), "7s");
  EXPECT_EQ(humanDuration(185), "3m05s");
  EXPECT_EQ(humanDuration(3720), "1h02m");
  EXPECT_EQ(humanDuration(90000), "1d01h");
}

TEST_F(StatsTableTest, LinesForTheFrontendTheServersAndTheBackendTotal) {
  web().servers[1].backup = true;
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  send(serverPeer(0), kOk);
  std::string response = client->take();
  auto t = statsTable(*runtime, runtime->startedAtUs() + 125'000'000);
  ASSERT_EQ(t.size(), 4u);  // fe, s1, s2, BACKEND
  const StatsLine& fe = line(t, "fe", "FRONTEND");
  EXPECT_EQ(fe.get("type"), "0");
  EXPECT_EQ(fe.get("status"), "OPEN");
  EXPECT_EQ(fe.get("scur"), "1");
  EXPECT_EQ(fe.get("stot"), "1");
  EXPECT_EQ(fe.get("req_tot"), "1");
  EXPECT_EQ(fe.get("hrsp_2xx"), "1");
  EXPECT_EQ(fe.get("bout"), std::to_string(response.size()));
  const StatsLine& s1 = line(t, "web", "s1");
  EXPECT_EQ(s1.get("type"), "2");
  EXPECT_EQ(s1.get("status"), "UP");
  EXPECT_EQ(s1.get("act"), "1");
  EXPECT_EQ(s1.get("bck"), "0");
  EXPECT_EQ(s1.get("stot"), "1");
  EXPECT_EQ(s1.get("hrsp_2xx"), "1");
  EXPECT_EQ(s1.get("addr"), "198.18.0.1:80");
  EXPECT_EQ(s1.get("lastchg"), "125") << "never changed: since the start";
  EXPECT_EQ(s1.get("check_status"), "") << "no check configured";
  EXPECT_EQ(line(t, "web", "s2").get("bck"), "1");
  const StatsLine& be = line(t, "web", "BACKEND");
  EXPECT_EQ(be.get("type"), "1");
  EXPECT_EQ(be.get("status"), "UP");
  EXPECT_EQ(be.get("act"), "1");
  EXPECT_EQ(be.get("bck"), "1");
  EXPECT_EQ(be.get("req_tot"), "1");
  EXPECT_EQ(be.get("algo"), "roundrobin");
  std::string csv = statsCsv(t);
  EXPECT_EQ(csv.rfind("# pxname,svname,qcur,", 0), 0u);
  EXPECT_NE(csv.find("\nweb,s1,0,0,"), std::string::npos) << csv;
}

TEST_F(StatsTableTest, ABackendWithNoServerInRotationIsDown) {
  start();
  for (auto& s : runtime->backends()[0]->servers) s->health.setState(health::ServerState::Maint);
  auto t = statsTable(*runtime, runtime->startedAtUs());
  EXPECT_EQ(line(t, "web", "BACKEND").get("status"), "DOWN");
  EXPECT_EQ(line(t, "web", "s1").get("status"), "MAINT");
}

}  // namespace
}  // namespace tandem::proxy

namespace tandem::proxy {
namespace {

using testing::FakePeerPtr;
using testing::kGet;
using testing::kOk;

class StatsHistoryTest : public testing::StreamTest {};

TEST_F(StatsHistoryTest, RatesArePerSecondDifferencesWithTheirMaximum) {
  web().servers.resize(1);  // every request on the one pooled server connection
  start();
  StatsHistory& h = runtime->history();
  h.sample(*runtime);  // the baseline: no rate yet
  EXPECT_TRUE(h.frontends()[0].requests.perSecond.empty());
  FakePeerPtr client = connect();
  for (int i = 0; i < 3; ++i) {
    send(client, kGet);
    send(serverPeer(0), kOk);
  }
  h.sample(*runtime);
  send(client, kGet);
  send(serverPeer(0), "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
  h.sample(*runtime);
  auto fe = h.frontends()[0];
  EXPECT_EQ(fe.requests.perSecond, (std::vector<double>{3, 1}));
  EXPECT_EQ(fe.requests.max, 3);
  EXPECT_EQ(fe.errors.perSecond, (std::vector<double>{0, 1}));
  EXPECT_EQ(fe.sessions.perSecond, (std::vector<double>{1, 0}));
  auto t = statsTable(*runtime, runtime->startedAtUs());
  const StatsLine& line = t.front();
  ASSERT_EQ(line.server, "FRONTEND");
  EXPECT_EQ(line.get("req_rate"), "1");
  EXPECT_EQ(line.get("req_rate_max"), "3");
  EXPECT_EQ(line.get("rate_max"), "1");
}

TEST(SvgPlotTest, DrawsOnePointPerValueWithinTheBox) {
  std::string svg = svgPlot({0, 5, 10}, "a <b>", 100, 20);
  EXPECT_NE(svg.find("<title>a &lt;b></title>"), std::string::npos) << svg;
  EXPECT_NE(svg.find("points=\"0.0,19.0 50.0,10.0 100.0,1.0\""), std::string::npos) << svg;
}

}  // namespace
}  // namespace tandem::proxy
