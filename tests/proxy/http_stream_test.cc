// HTTP/1 on a client connection, end to end through a real Worker, with fake connections and a
// manual clock: framing, keep-alive and connection reuse, pipelining, retries and redispatch,
// every timeout, queueing under maxconn, tunnels. No socket, no sleep: each test says what the
// peers send and when time moves, and reads what the proxy wrote.
#include "proxy/http_stream.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/proxy/stream_fixture.h"

namespace tandem::proxy {
namespace {

using testing::FakePeerPtr;
using testing::kGet;
using testing::kOk;
using namespace std::chrono_literals;

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

class HttpStreamTest : public testing::StreamTest {};

// ---- framing -------------------------------------------------------------------------------

TEST_F(HttpStreamTest, ARequestAndItsResponseGoThroughWithTheirFraming) {
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  ASSERT_EQ(net.servers.size(), 1u);
  FakePeerPtr s = serverPeer(0);
  std::string request = s->take();
  EXPECT_EQ(request.rfind("GET / HTTP/1.1\r\n", 0), 0u) << request;
  EXPECT_NE(request.find("\r\nHost: a.test\r\n"), std::string::npos) << request;
  EXPECT_EQ(request.substr(request.size() - 4), "\r\n\r\n");
  send(s, kOk);
  std::string response = client->take();
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_EQ(response.substr(response.size() - 9), "\r\n\r\nhello") << response;
  EXPECT_FALSE(client->closed) << "a complete keep-alive exchange keeps the connection";
}

TEST_F(HttpStreamTest, SendProxyOpensEachServerConnectionWithTheClientsHeaderAndNeverPoolsIt) {
  web().servers.resize(1);
  web().servers[0].sendProxy = Server::SendProxy::V1;
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  FakePeerPtr s = serverPeer(0);
  std::string got = s->take();
  EXPECT_EQ(got.rfind("PROXY TCP4 " + clientAddress.toString() + " ", 0), 0u) << got;
  EXPECT_NE(got.find(" " + std::to_string(clientPort) + " "), std::string::npos) << got;
  EXPECT_NE(got.find("\r\nGET / HTTP/1.1\r\n"), std::string::npos) << got;
  send(s, kOk);
  client->take();
  EXPECT_EQ(worker->connectionPool().idleCount(), 0u)
      << "a connection that named one client is not pooled for another";
  FakePeerPtr next = connect();
  send(next, kGet);
  ASSERT_EQ(net.servers.size(), 2u);
  EXPECT_EQ(serverPeer(1)->take().rfind("PROXY TCP4 ", 0), 0u) << "each connection has its own";
}

TEST_F(HttpStreamTest, ASmallResponseGoesToTheClientInOneContiguousWrite) {
  web().servers.resize(1);  // both requests on the same server connection
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  FakePeerPtr s = serverPeer(0);
  s->take();
  send(s, kOk);
  EXPECT_EQ(client->writePieces, std::vector<int>{1}) << "head and a small body: one piece";
  EXPECT_EQ(client->take().substr(0, 17), "HTTP/1.1 200 OK\r\n");

  // A large body is sent from the server's buffer as it is, behind the head: not copied.
  send(client, kGet);
  s->take();
  std::string big(8000, 'x');
  send(s, "HTTP/1.1 200 OK\r\nContent-Length: 8000\r\n\r\n" + big);
  EXPECT_EQ(client->writePieces, (std::vector<int>{1, 2}));
  std::string second = client->take();
  EXPECT_EQ(second.substr(second.size() - 8000), big);
}

TEST_F(HttpStreamTest, ChunkedBodiesStreamThroughUnchangedBothWays) {
  web().servers.resize(1);  // every request to the same server
  start();
  FakePeerPtr client = connect();
  send(client, "POST /up HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
  FakePeerPtr s = serverPeer(0);
  std::string head = s->take();
  EXPECT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 5), "5\r\nab") << "body bytes go on as they arrive";
  send(client, "cde\r\n0\r\n\r\n");
  EXPECT_EQ(s->take(), "cde\r\n0\r\n\r\n");
  send(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n");
  std::string first = client->take();
  EXPECT_EQ(first.substr(first.size() - 8), "3\r\nxyz\r\n");
  send(s, "0\r\n\r\n");
  EXPECT_EQ(client->take(), "0\r\n\r\n");
  // The exchange is complete: the next request reuses the server connection.
  send(client, kGet);
  EXPECT_EQ(net.servers.size(), 1u);
  EXPECT_EQ(s->take().rfind("GET / ", 0), 0u);
}

TEST_F(HttpStreamTest, AMalformedRequestGets400AndTheConnectionEnds) {
  start();
  FakePeerPtr client = connect();
  send(client, "GET / HTTP/1.1\r\nHost a.test\r\n\r\n");
  EXPECT_EQ(client->take().rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_TRUE(client->closed);
  EXPECT_TRUE(net.servers.empty()) << "nothing of a bad request reaches a server";
}

TEST_F(HttpStreamTest, AResponseDelimitedByCloseEndsTheClientConnectionAfterIt) {
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  FakePeerPtr s = serverPeer(0);
  s->toProxy = "HTTP/1.1 200 OK\r\n\r\nall of it";
  s->eof = true;
  pump();
  std::string response = client->take();
  EXPECT_EQ(response.substr(response.size() - 9), "all of it");
  EXPECT_TRUE(client->closed);
  EXPECT_TRUE(client->closedClean) << "the body was complete";
}

TEST_F(HttpStreamTest, ATruncatedBodyIsNotPassedOffAsComplete) {
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  FakePeerPtr s = serverPeer(0);
  s->toProxy = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf";
  s->eof = true;
  pump();
  EXPECT_TRUE(client->closed);
  EXPECT_FALSE(client->closedClean);
}

TEST_F(HttpStreamTest, AServerThatClosesBeforeAnsweringGives502) {
  web().servers.resize(1);
  web().retries = 0;
  start();
  FakePeerPtr client = connect();
  send(client, "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 2\r\n\r\nab");
  FakePeerPtr s = serverPeer(0);
  s->eof = true;
  pump();
  EXPECT_EQ(client->take().rfind("HTTP/1.1 502 ", 0), 0u);
}

// ---- keep-alive and pipelining -------------------------------------------------------------

TEST_F(HttpStreamTest, ServerConnectionsAreReusedAcrossRequestsAndClients) {
  web().servers.resize(1);  // every request to the same server
  start();
  FakePeerPtr a = connect();
  send(a, kGet);
  send(serverPeer(0), kOk);
  send(a, kGet);
  EXPECT_EQ(net.servers.size(), 1u) << "the second request of a client reuses the connection";
  send(serverPeer(0), kOk);
  a->take();
  FakePeerPtr b = connect();
  send(b, kGet);
  EXPECT_EQ(net.servers.size(), 1u) << "another client takes the idle connection from the pool";
  EXPECT_EQ(count(serverPeer(0)->take(), "GET / "), 3u);
  send(serverPeer(0), kOk);
  EXPECT_EQ(b->take().rfind("HTTP/1.1 200 OK", 0), 0u);
}

TEST_F(HttpStreamTest, PipelinedRequestsAreServedOneAtATimeInOrder) {
  web().servers.resize(1);  // every request to the same server
  start();
  FakePeerPtr client = connect();
  send(client, std::string("GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\n") +
                   "GET /2 HTTP/1.1\r\nHost: a.test\r\n\r\n");
  FakePeerPtr s = serverPeer(0);
  std::string first = s->take();
  EXPECT_EQ(count(first, "GET "), 1u) << "the second waits for the first response: " << first;
  EXPECT_EQ(first.rfind("GET /1 ", 0), 0u);
  send(s, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none");
  EXPECT_EQ(s->take().rfind("GET /2 ", 0), 0u);
  send(s, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo");
  std::string both = client->take();
  size_t one = both.find("one"), two = both.find("two");
  ASSERT_NE(one, std::string::npos);
  ASSERT_NE(two, std::string::npos);
  EXPECT_LT(one, two);
  EXPECT_EQ(net.servers.size(), 1u);
}

TEST_F(HttpStreamTest, ConnectionCloseFromTheClientEndsTheConnectionAfterTheResponse) {
  start();
  FakePeerPtr client = connect();
  send(client, "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n");
  send(serverPeer(0), kOk);
  std::string response = client->take();
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK", 0), 0u) << response;
  EXPECT_TRUE(client->closed);
  EXPECT_TRUE(client->closedClean);
}

// ---- retries and redispatch ----------------------------------------------------------------

TEST_F(HttpStreamTest, AFailedConnectIsRetriedOnAnotherServerWithRedispatch) {
  web().redispatch = true;
  web().balance.algorithm = Balance::Algorithm::First;  // would pick s1 again
  start();
  net.refuseConnects = 1;
  FakePeerPtr client = connect();
  send(client, kGet);
  ASSERT_EQ(net.servers.size(), 2u);
  EXPECT_EQ(net.servers[0].server, "s1");
  EXPECT_EQ(net.servers[1].server, "s2") << "redispatch avoids the server that just failed";
  send(serverPeer(1), kOk);
  EXPECT_EQ(client->take().rfind("HTTP/1.1 200 OK", 0), 0u);
}

TEST_F(HttpStreamTest, WithoutRedispatchARetryStaysOnTheSameServer) {
  web().redispatch = false;  // roundrobin would go on to s2
  start();
  net.refuseConnects = 1;
  FakePeerPtr client = connect();
  send(client, kGet);
  ASSERT_EQ(net.servers.size(), 2u);
  EXPECT_EQ(net.servers[0].server, "s1");
  EXPECT_EQ(net.servers[1].server, "s1");
}

TEST_F(HttpStreamTest, RetriesAreBoundedThen503) {
  web().retries = 2;
  start();
  net.refuseConnects = 100;
  FakePeerPtr client = connect();
  send(client, kGet);
  EXPECT_EQ(net.servers.size(), 3u) << "one attempt and `retries` more";
  EXPECT_EQ(client->take().rfind("HTTP/1.1 503 ", 0), 0u);
}

TEST_F(HttpStreamTest, APooledConnectionTheServerClosedIsReplacedTransparently) {
  web().servers.resize(1);  // every request to the same server
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  send(serverPeer(0), kOk);
  client->take();
  // The server closes the idle connection just as the next request goes out on it.
  send(client, kGet);
  ASSERT_EQ(net.servers.size(), 1u);
  serverPeer(0)->eof = true;
  pump();
  ASSERT_EQ(net.servers.size(), 2u) << "the request is sent again on a fresh connection";
  EXPECT_EQ(serverPeer(1)->take().rfind("GET / ", 0), 0u);
  send(serverPeer(1), kOk);
  EXPECT_EQ(client->take().rfind("HTTP/1.1 200 OK", 0), 0u);
}

// ---- timeouts ------------------------------------------------------------------------------

TEST_F(HttpStreamTest, AnIncompleteRequestHeadGets408AtTimeoutHttpRequest) {
  start();
  FakePeerPtr client = connect();
  send(client, "GET / HTTP/1.1\r\nHo");
  advance(9s);
  EXPECT_EQ(client->take(), "");
  advance(1s);
  EXPECT_EQ(client->take().rfind("HTTP/1.1 408 ", 0), 0u);
  EXPECT_TRUE(client->closed);
}

TEST_F(HttpStreamTest, AnIdleKeepAliveConnectionClosesAtTimeoutHttpKeepAlive) {
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  send(serverPeer(0), kOk);
  advance(1900ms);
  EXPECT_FALSE(client->closed);
  advance(100ms);
  EXPECT_TRUE(client->closed);
  EXPECT_EQ(client->take().find("408"), std::string::npos) << "an idle close says nothing";
}

TEST_F(HttpStreamTest, ASilentServerGets504AtTimeoutServerAndActivityMovesIt) {
  start();
  FakePeerPtr client = connect();
  send(client, "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 4\r\n\r\nab");
  advance(15s);
  send(client, "cd");  // body still flowing to the server: activity
  advance(15s);
  EXPECT_EQ(client->take(), "") << "`timeout server` counts from the last activity";
  advance(5s);
  EXPECT_EQ(client->take().rfind("HTTP/1.1 504 ", 0), 0u);
}

TEST_F(HttpStreamTest, AConnectThatNeverCompletesIsRetriedAtTimeoutConnect) {
  start();
  net.hangConnects = 1;
  FakePeerPtr client = connect();
  send(client, kGet);
  ASSERT_EQ(net.servers.size(), 1u);
  advance(2900ms);
  EXPECT_EQ(net.servers.size(), 1u);
  advance(100ms);
  ASSERT_EQ(net.servers.size(), 2u) << "the connect timed out and a retry went out";
  EXPECT_EQ(net.servers[1].server, "s2");
  send(serverPeer(1), kOk);
  EXPECT_EQ(client->take().rfind("HTTP/1.1 200 OK", 0), 0u);
}

TEST_F(HttpStreamTest, AClientThatStopsReadingIsCutAtTimeoutClient) {
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  client->window = 10;  // takes 10 bytes, then nothing
  send(serverPeer(0), kOk);
  EXPECT_EQ(client->take().size(), 10u);
  EXPECT_FALSE(client->closed);
  advance(30s);
  EXPECT_TRUE(client->closed);
  EXPECT_FALSE(client->closedClean);
}

// ---- queueing ------------------------------------------------------------------------------

TEST_F(HttpStreamTest, AtServerMaxconnRequestsQueueAndGetTheFreedSlotInOrder) {
  web().servers.resize(1);
  web().servers[0].maxconn = 1;
  start();
  FakePeerPtr a = connect();
  send(a, kGet);
  FakePeerPtr b = connect();
  send(b, "GET /b HTTP/1.1\r\nHost: a.test\r\n\r\n");
  FakePeerPtr c = connect();
  send(c, "GET /c HTTP/1.1\r\nHost: a.test\r\n\r\n");
  ASSERT_EQ(net.servers.size(), 1u) << "b and c wait: no second connection past maxconn";
  FakePeerPtr s = serverPeer(0);
  s->take();
  send(s, kOk);
  EXPECT_EQ(a->take().rfind("HTTP/1.1 200 OK", 0), 0u);
  EXPECT_EQ(s->take().rfind("GET /b ", 0), 0u) << "the first in line gets the slot";
  send(s, kOk);
  EXPECT_EQ(b->take().rfind("HTTP/1.1 200 OK", 0), 0u);
  EXPECT_EQ(s->take().rfind("GET /c ", 0), 0u);
}

TEST_F(HttpStreamTest, AQueuedRequestGets503AtTimeoutQueue) {
  web().servers.resize(1);
  web().servers[0].maxconn = 1;
  start();
  FakePeerPtr a = connect();
  send(a, kGet);
  FakePeerPtr b = connect();
  send(b, kGet);
  advance(3900ms);
  EXPECT_EQ(b->take(), "");
  advance(100ms);
  EXPECT_EQ(b->take().rfind("HTTP/1.1 503 ", 0), 0u);
  EXPECT_EQ(net.servers.size(), 1u);
}

TEST_F(HttpStreamTest, AClientThatLeavesTheQueueGivesUpItsPlace) {
  web().servers.resize(1);
  web().servers[0].maxconn = 1;
  start();
  FakePeerPtr a = connect();
  send(a, kGet);
  FakePeerPtr b = connect();
  send(b, "GET /b HTTP/1.1\r\nHost: a.test\r\n\r\n");
  FakePeerPtr c = connect();
  send(c, "GET /c HTTP/1.1\r\nHost: a.test\r\n\r\n");
  b->reset = true;  // b goes away while waiting
  pump();
  EXPECT_TRUE(b->closed);
  FakePeerPtr s = serverPeer(0);
  s->take();
  send(s, kOk);
  EXPECT_EQ(s->take().rfind("GET /c ", 0), 0u);
}

// ---- rules on the way ----------------------------------------------------------------------

TEST_F(HttpStreamTest, ABackendDenyAnswersWithoutOpeningAServerConnection) {
  denyInBackend(403);
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  EXPECT_EQ(client->take().rfind("HTTP/1.1 403 ", 0), 0u);
  EXPECT_TRUE(net.servers.empty());
}

TEST_F(HttpStreamTest, ResponseRulesRewriteTheHeadTheClientGets) {
  HttpResponseRule set;
  set.action = HttpResponseRule::Action::SetHeader;
  set.name = "X-Served-By";
  set.value = "tandem";
  web().httpResponse.push_back(set);
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  send(serverPeer(0), kOk);
  std::string response = client->take();
  EXPECT_NE(response.find("X-Served-By: tandem\r\n"), std::string::npos) << response;
  EXPECT_EQ(response.substr(response.size() - 5), "hello");
}

// ---- access log ----------------------------------------------------------------------------

// HAProxy's httplog: timers TR/Tw/Tc/Tr/Ta as each phase took on the clock, the counters while
// the request holds its places, the termination state, the request line.
TEST_F(HttpStreamTest, AnHttplogLineTellsEachPhaseItsDuration) {
  logTo(AccessLog::Format::Http);
  start();
  net.hangConnects = 1;
  FakePeerPtr client = connect();
  send(client, "GET /a?b=1 HTTP/1.1\r\nHost: a.test\r\n");
  advance(3ms);
  send(client, "\r\n");  // TR: 3 ms for the head
  advance(7ms);
  serverPeer(0)->window = SIZE_MAX;  // Tc: the connect completes after 7 ms
  pump();
  advance(11ms);
  send(serverPeer(0), kOk);  // Tr: 11 ms to the response head
  std::vector<std::string> lines = logLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "198.18.0.9:41234 [01/Dec/2026:10:00:00.000] fe web/s1 3/0/7/11/21 200 " +
                          std::to_string(client->fromProxy.size()) +
                          " - - ---- 1/1/1/1/0 0/0 \"GET /a?b=1 HTTP/1.1\"");
}

TEST_F(HttpStreamTest, TheTerminationStateSaysWhoEndedARequestAndWhen) {
  logTo(AccessLog::Format::Http);
  HttpRequestRule deny;
  deny.action = HttpRequestRule::Action::Deny;
  deny.status = 403;
  Acl blocked;
  blocked.kind = Acl::Kind::PathBeg;
  blocked.values = {"/blocked"};
  config.frontends[0].acls["blocked"] = blocked;
  deny.guard.condition = Condition{Condition::Op::Acl, "blocked", {}};
  config.frontends[0].httpRequest.push_back(deny);
  web().retries = 0;
  start();
  auto lineOf = [&](const std::function<void()>& run) {
    size_t before = logLines().size();
    run();
    std::vector<std::string> lines = logLines();
    return lines.size() == before + 1 ? lines.back()
                                      : "(" + std::to_string(lines.size() - before) + " lines)";
  };
  // deny: the proxy blocked it before any server (PR)
  EXPECT_NE(lineOf([&] {
              send(connect(), "GET /blocked HTTP/1.1\r\nHost: a\r\n\r\n");
            }).find("fe fe/<NOSRV> 0/-1/-1/-1/0 403 "),
            std::string::npos);
  EXPECT_NE(lineOf([&] {
              send(connect(), "GET /blocked HTTP/1.1\r\nHost: a\r\n\r\n");
            }).find(" - - PR-- "),
            std::string::npos);
  // an invalid request (PR) has no request line to show
  std::string bad = lineOf([&] { send(connect(), "GET / HTTP/1.1\r\nHost a\r\n\r\n"); });
  EXPECT_NE(bad.find(" 400 "), std::string::npos) << bad;
  EXPECT_NE(bad.find(" PR-- "), std::string::npos) << bad;
  EXPECT_NE(bad.find("\"<BADREQ>\""), std::string::npos) << bad;
  // the head never completed: client timeout in the request phase (cR), 408
  std::string slow = lineOf([&] {
    send(connect(), "GET / HT");
    advance(10s);
  });
  EXPECT_NE(slow.find(" 408 "), std::string::npos) << slow;
  EXPECT_NE(slow.find(" cR-- "), std::string::npos) << slow;
  // the server never answered: server timeout waiting for the head (sH), 504
  std::string silent = lineOf([&] {
    send(connect(), kGet);
    advance(20s);
  });
  EXPECT_NE(silent.find(" 504 "), std::string::npos) << silent;
  EXPECT_NE(silent.find(" sH-- "), std::string::npos) << silent;
  // the server refused the connection and no retry was left (SC), 503
  std::string refused = lineOf([&] {
    net.refuseConnects = 1;
    send(connect(), kGet);
  });
  EXPECT_NE(refused.find(" 503 "), std::string::npos) << refused;
  EXPECT_NE(refused.find(" SC-- "), std::string::npos) << refused;
  // the server cut its body short (SD)
  std::string cut = lineOf([&] {
    send(connect(), kGet);
    FakePeerPtr s = net.servers.back().peer;
    s->toProxy = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf";
    s->eof = true;
    pump();
  });
  EXPECT_NE(cut.find(" 200 "), std::string::npos) << cut;
  EXPECT_NE(cut.find(" SD-- "), std::string::npos) << cut;
  // the client went away while waiting for the response (CH)
  std::string gone = lineOf([&] {
    FakePeerPtr c = connect();
    send(c, kGet);
    c->reset = true;
    pump();
  });
  EXPECT_NE(gone.find(" -1 "), std::string::npos) << gone;
  EXPECT_NE(gone.find(" CH-- "), std::string::npos) << gone;
}

TEST_F(HttpStreamTest, ARetryThatSucceedsIsANormalEndWithItsRetryCount) {
  logTo(AccessLog::Format::Http);
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  serverPeer(0)->eof = true;  // s1 closes without answering; the GET goes to s2
  pump();
  send(serverPeer(1), kOk);
  std::vector<std::string> lines = logLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(" web/s2 "), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(" 200 "), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(" ---- 1/1/1/1/+1 "), std::string::npos) << lines[0];
}

TEST_F(HttpStreamTest, AQueuedRequestLogsItsWaitAndPosition) {
  logTo(AccessLog::Format::Http);
  web().servers.resize(1);
  web().servers[0].maxconn = 1;
  start();
  FakePeerPtr a = connect();
  send(a, kGet);
  FakePeerPtr b = connect();
  send(b, kGet);
  advance(4s);  // b's queue timeout
  std::vector<std::string> lines = logLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(" web/<NOSRV> 0/4000/-1/-1/4000 503 "), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(" sQ-- "), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(" 0/0 \""), std::string::npos) << "nobody was ahead: " << lines[0];
}

TEST_F(HttpStreamTest, AConnectionWithoutARequestIsLoggedUnlessDontlognull) {
  logTo(AccessLog::Format::Http);
  start();
  connect()->eof = true;  // a probe: connects and closes
  pump();
  std::vector<std::string> lines = logLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(" fe fe/<NOSRV> -1/-1/-1/-1/0 -1 0 - - CR-- "), std::string::npos)
      << lines[0];
  EXPECT_NE(lines[0].find("\"<BADREQ>\""), std::string::npos);
}

TEST_F(HttpStreamTest, DontlognullLeavesOutConnectionsWithoutARequest) {
  logTo(AccessLog::Format::Http);
  config.frontends[0].log.dontlognull = true;
  start();
  connect()->eof = true;
  pump();
  FakePeerPtr idle = connect();
  advance(10s);  // idle until timeout http_request: closed, and not logged either
  EXPECT_TRUE(idle->closed);
  FakePeerPtr client = connect();
  send(client, kGet);
  send(serverPeer(0), kOk);
  EXPECT_EQ(logLines().size(), 1u) << "the request is logged, the empty connections are not";
}

TEST_F(HttpStreamTest, DontlogNormalKeepsOnlyErrors) {
  logTo(AccessLog::Format::Http);
  config.frontends[0].log.dontlogNormal = true;
  web().servers.resize(1);
  start();
  FakePeerPtr client = connect();
  send(client, kGet);
  send(serverPeer(0), kOk);
  EXPECT_TRUE(logLines().empty()) << "a 200 that ended normally";
  send(client, kGet);
  send(serverPeer(0), "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n");
  std::vector<std::string> lines = logLines();
  ASSERT_EQ(lines.size(), 1u) << "a 5xx is an error even when it ended normally";
  EXPECT_NE(lines[0].find(" 500 "), std::string::npos);
}

TEST_F(HttpStreamTest, AKeepAliveConnectionLogsEachRequestAndNotItsIdleClose) {
  logTo(AccessLog::Format::Http);
  web().servers.resize(1);
  start();
  FakePeerPtr client = connect();
  send(client, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n");
  send(serverPeer(0), kOk);
  advance(1s);
  send(client, "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
  send(serverPeer(0), kOk);
  advance(2s);  // the keep-alive timeout closes it: no line for that
  EXPECT_TRUE(client->closed);
  std::vector<std::string> lines = logLines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("[01/Dec/2026:10:00:00.000]"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"GET /1 HTTP/1.1\""), std::string::npos);
  EXPECT_NE(lines[1].find("[01/Dec/2026:10:00:01.000]"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("\"GET /2 HTTP/1.1\""), std::string::npos);
}

TEST_F(HttpStreamTest, SampleWritesTheChosenShareOfLines) {
  logTo(AccessLog::Format::Http);
  config.frontends[0].log.sampleSize = 4;
  config.frontends[0].log.sampleRanges = {{1, 1}, {3, 3}};  // "1,3:4": two in four
  web().servers.resize(1);
  start();
  FakePeerPtr client = connect();
  for (int i = 0; i < 8; ++i) {
    send(client, "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n");
    send(serverPeer(0), kOk);
  }
  std::vector<std::string> lines = logLines();
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < lines.size(); ++i)
    EXPECT_NE(lines[i].find("\"GET /" + std::to_string(2 * i) + " "), std::string::npos)
        << lines[i];
}

TEST_F(HttpStreamTest, ThAndTiTellTheWaitBeforeEachRequest) {
  logTo(AccessLog::Format::Http);
  config.frontends[0].log.customFormat = "%Th %Ti %TR %Tq %Ta";
  web().servers.resize(1);
  start();
  FakePeerPtr client = connect();
  advance(40ms);  // connected, silent
  send(client, "GET / HTTP/1.1\r\n");
  advance(5ms);
  send(client, "Host: a\r\n\r\n");
  send(serverPeer(0), kOk);
  advance(300ms);  // keep-alive idle time
  send(client, kGet);
  send(serverPeer(0), kOk);
  std::vector<std::string> lines = logLines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "0 40 5 45 5");  // plain TCP: no handshake
  EXPECT_EQ(lines[1], "0 300 0 300 0");
}

// ---- tunnels -------------------------------------------------------------------------------

TEST_F(HttpStreamTest, A101UpgradeTurnsTheConnectionIntoATunnel) {
  start();
  FakePeerPtr client = connect();
  send(client,
       "GET /ws HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  FakePeerPtr s = serverPeer(0);
  EXPECT_NE(s->take().find("Upgrade: websocket"), std::string::npos);
  send(s, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  EXPECT_EQ(client->take().rfind("HTTP/1.1 101 ", 0), 0u);
  send(client, "\x81\x02hi");
  EXPECT_EQ(s->take(), "\x81\x02hi");
  send(s, "\x81\x03yo!");
  EXPECT_EQ(client->take(), "\x81\x03yo!");
  // The client half-closes: carried to the server; the server's close ends the tunnel.
  client->eof = true;
  pump();
  EXPECT_TRUE(s->proxyShutWrite);
  s->eof = true;
  pump();
  EXPECT_TRUE(client->closed);
}

}  // namespace
}  // namespace tandem::proxy
