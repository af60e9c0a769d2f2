// mode tcp on fake connections and a manual clock: bytes both ways, half-close carried across,
// connect retries, the idle timeout, back-pressure.
#include "proxy/tcp_stream.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/proxy/stream_fixture.h"

namespace tandem::proxy {
namespace {

using testing::FakePeerPtr;
using namespace std::chrono_literals;

class TcpStreamTest : public testing::StreamTest {
 protected:
  TcpStreamTest() {
    config.frontends[0].mode = Mode::Tcp;
    web().mode = Mode::Tcp;
    config.frontends[0].timeouts.client = 30s;
    web().timeouts.server = 40s;
  }
};

TEST_F(TcpStreamTest, BytesGoBothWaysAndEachFinIsCarriedAcross) {
  start();
  FakePeerPtr client = connect();
  ASSERT_EQ(net.servers.size(), 1u) << "the server connection opens with the client's";
  FakePeerPtr s = serverPeer(0);
  send(s, "220 banner\r\n");  // a server that speaks first
  EXPECT_EQ(client->take(), "220 banner\r\n");
  send(client, "HELO x\r\n");
  EXPECT_EQ(s->take(), "HELO x\r\n");
  client->eof = true;
  pump();
  EXPECT_TRUE(s->proxyShutWrite) << "the client's FIN reaches the server";
  EXPECT_FALSE(client->closed) << "the other direction still flows";
  send(s, "221 bye\r\n");
  EXPECT_EQ(client->take(), "221 bye\r\n");
  s->eof = true;
  pump();
  EXPECT_TRUE(client->proxyShutWrite);
  EXPECT_TRUE(client->closed);
  EXPECT_TRUE(client->closedClean);
}

TEST_F(TcpStreamTest, AServerResetIsNotPassedOffAsACleanEnd) {
  start();
  FakePeerPtr client = connect();
  send(serverPeer(0), "partial");
  serverPeer(0)->reset = true;
  pump();
  EXPECT_EQ(client->take(), "partial");
  EXPECT_TRUE(client->closed);
  EXPECT_FALSE(client->closedClean);
}

TEST_F(TcpStreamTest, AFailedConnectIsRetriedAndTheClientsBytesWaitForIt) {
  start();
  net.refuseConnects = 1;
  FakePeerPtr client = connect();
  ASSERT_EQ(net.servers.size(), 2u);
  send(client, "hello");
  EXPECT_EQ(serverPeer(1)->take(), "hello");
}

TEST_F(TcpStreamTest, NoServerLeftClosesTheClientConnection) {
  web().retries = 1;
  start();
  net.refuseConnects = 10;
  FakePeerPtr client = connect();
  EXPECT_EQ(net.servers.size(), 2u);
  EXPECT_TRUE(client->closed);
  EXPECT_EQ(client->take(), "") << "TCP has nothing to say: it closes, as HAProxy";
}

TEST_F(TcpStreamTest, AnIdleTunnelEndsAtTheLongerOfTheClientAndServerTimeouts) {
  start();
  FakePeerPtr client = connect();
  send(client, "x");
  advance(35s);
  EXPECT_FALSE(client->closed) << "timeout server (40 s) is the longer one";
  send(client, "y");  // activity moves the deadline
  advance(39s);
  EXPECT_FALSE(client->closed);
  advance(1s);
  EXPECT_TRUE(client->closed);
  EXPECT_FALSE(client->closedClean);
}

TEST_F(TcpStreamTest, AClientThatDoesNotReadHoldsBackTheServer) {
  start();
  FakePeerPtr client = connect();
  FakePeerPtr s = serverPeer(0);
  client->window = 0;
  send(s, std::string(200000, 'a'));
  EXPECT_GT(s->toProxy.size(), 0u) << "reading from the server stops when the buffer is full";
  client->window = SIZE_MAX;
  pump();
  EXPECT_EQ(client->take().size(), 200000u);
  EXPECT_EQ(s->toProxy.size(), 0u);
}

TEST_F(TcpStreamTest, ATcplogLineWhenTheConnectionEnds) {
  logTo(AccessLog::Format::Tcp);
  start();
  FakePeerPtr client = connect();
  send(client, "ping");
  advance(5ms);
  send(serverPeer(0), "pong!");
  client->eof = true;
  serverPeer(0)->eof = true;
  pump();
  ASSERT_TRUE(client->closed);
  std::vector<std::string> lines = logLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "198.18.0.9:41234 [01/Dec/2026:10:00:00.000] fe web/s1 0/0/5 5 -- 1/1/1/1/0 0/0");
}

TEST_F(TcpStreamTest, TcplogNamesAServerResetAndAnIdleTimeout) {
  logTo(AccessLog::Format::Tcp);
  start();
  FakePeerPtr a = connect();
  serverPeer(0)->reset = true;
  pump();
  FakePeerPtr b = connect();
  send(b, "x");
  advance(40s);
  std::vector<std::string> lines = logLines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(" SD "), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find(" cD "), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find(" 0/0/40000 "), std::string::npos) << lines[1];
}

TEST_F(TcpStreamTest, DontlognullLeavesOutConnectionsThatExchangedNothing) {
  logTo(AccessLog::Format::Tcp);
  config.frontends[0].log.dontlognull = true;
  start();
  FakePeerPtr probe = connect();
  probe->eof = true;
  serverPeer(0)->eof = true;
  pump();
  ASSERT_TRUE(probe->closed);
  EXPECT_TRUE(logLines().empty());
}

}  // namespace
}  // namespace tandem::proxy
