#include "proxy/http_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace tandem::proxy {
namespace {

struct Fed {
  ParseEvent event;
  size_t consumed;
};

Fed feed(HttpParser& p, const std::string& buf, size_t from = 0) {
  size_t consumed = 0;
  ParseEvent e = p.execute(buf.data(), buf.data() + from, buf.size() - from, &consumed);
  return {e, consumed};
}

std::string header(const HttpParser& p, const std::string& buf, size_t i) {
  const auto& h = p.head().headers[i];
  return std::string(h.name.in(buf.data())) + ": " + std::string(h.value.in(buf.data()));
}

TEST(HttpParser, RequestHeadThenMessage) {
  HttpParser p(HttpParser::Kind::Request);
  std::string buf = "GET /a?b=1 HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n\r\n";
  Fed f = feed(p, buf);
  ASSERT_EQ(f.event, ParseEvent::HeadComplete);
  EXPECT_EQ(f.consumed, buf.size());
  EXPECT_EQ(p.head().method.in(buf.data()), "GET");
  EXPECT_EQ(p.head().url.in(buf.data()), "/a?b=1");
  ASSERT_EQ(p.head().headers.size(), 2u);
  EXPECT_EQ(header(p, buf, 0), "Host: x.test");
  EXPECT_TRUE(p.head().connectionClose);
  Fed g = feed(p, buf, f.consumed);
  EXPECT_EQ(g.event, ParseEvent::MessageComplete);
  EXPECT_FALSE(p.keepAlive());
}

TEST(HttpParser, HeadSplitAcrossReads) {
  HttpParser p(HttpParser::Kind::Request);
  std::string buf = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Le";
  Fed f = feed(p, buf);
  EXPECT_EQ(f.event, ParseEvent::NeedMore);
  size_t done = buf.size();
  buf += "ngth: 5\r\nX-Long-Header: abc";
  f = feed(p, buf, done);
  EXPECT_EQ(f.event, ParseEvent::NeedMore);
  done = buf.size();
  buf += "def\r\n\r\nhello";
  f = feed(p, buf, done);
  ASSERT_EQ(f.event, ParseEvent::HeadComplete);
  EXPECT_EQ(header(p, buf, 1), "Content-Length: 5");
  EXPECT_EQ(header(p, buf, 2), "X-Long-Header: abcdef");
  EXPECT_EQ(p.head().contentLength, 5u);
  size_t bodyStart = done + f.consumed;
  f = feed(p, buf, bodyStart);
  EXPECT_EQ(f.event, ParseEvent::MessageComplete);
  EXPECT_EQ(f.consumed, 5u);
}

TEST(HttpParser, PipelinedRequestsStopAtEachMessage) {
  HttpParser p(HttpParser::Kind::Request);
  std::string buf = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  Fed f = feed(p, buf);
  ASSERT_EQ(f.event, ParseEvent::HeadComplete);
  Fed g = feed(p, buf, f.consumed);
  ASSERT_EQ(g.event, ParseEvent::MessageComplete);
  size_t second = f.consumed + g.consumed;
  EXPECT_EQ(buf.substr(second, 6), "GET /2");
  Fed h = feed(p, buf, second);
  ASSERT_EQ(h.event, ParseEvent::HeadComplete);
  EXPECT_EQ(p.head().url.in(buf.data()), "/2");
}

TEST(HttpParser, ChunkedBodyAndTrailers) {
  HttpParser p(HttpParser::Kind::Request);
  std::string buf =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n";
  Fed f = feed(p, buf);
  ASSERT_EQ(f.event, ParseEvent::HeadComplete);
  EXPECT_TRUE(p.head().chunked);
  Fed g = feed(p, buf, f.consumed);
  EXPECT_EQ(g.event, ParseEvent::MessageComplete);
  EXPECT_EQ(f.consumed + g.consumed, buf.size());
}

// Trailers go to the sink whole, even split across reads into other buffers, and leave the head
// (whose spans point into the first buffer) as it was.
TEST(HttpParser, TrailersGoToTheSinkAcrossReads) {
  HttpParser p(HttpParser::Kind::Response);
  std::vector<std::pair<std::string, std::string>> got;
  p.setTrailerSink(
      [](void* ctx, std::string_view n, std::string_view v) {
        static_cast<std::vector<std::pair<std::string, std::string>>*>(ctx)->emplace_back(n, v);
      },
      &got);
  std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  Fed f = feed(p, head);
  ASSERT_EQ(f.event, ParseEvent::HeadComplete);
  std::string part1 = "2\r\nhi\r\n0\r\ngrpc-sta";
  std::string part2 = "tus: 0 \r\ngrpc-message: fine\r\n\r\n";
  EXPECT_EQ(feed(p, part1).event, ParseEvent::NeedMore);
  EXPECT_EQ(feed(p, part2).event, ParseEvent::MessageComplete);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(std::string("grpc-status"), std::string("0")));
  EXPECT_EQ(got[1], std::make_pair(std::string("grpc-message"), std::string("fine")));
  ASSERT_EQ(p.head().headers.size(), 1u);  // the trailers are not head fields
  EXPECT_EQ(header(p, head, 0), "Transfer-Encoding: chunked");

  // A malformed trailer name is an error, as in the head.
  HttpParser q(HttpParser::Kind::Response);
  std::string bad = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Name: x\r\n\r\n";
  Fed h = feed(q, bad);
  ASSERT_EQ(h.event, ParseEvent::HeadComplete);
  EXPECT_EQ(feed(q, bad, h.consumed).event, ParseEvent::Error);
}

// Request smuggling shapes and malformed heads are errors, never guesses.
TEST(HttpParser, RejectsSmugglingShapes) {
  const char* bad[] = {
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nBad\x01Name: x\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5_0\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
      "GET / HTTP/1.1\nHost: a\n\n",
      "GET /\r\n\r\n",
      "G@T / HTTP/1.1\r\nHost: a\r\n\r\n",
  };
  for (const char* req : bad) {
    HttpParser p(HttpParser::Kind::Request);
    std::string buf = req;
    Fed f = feed(p, buf);
    if (f.event == ParseEvent::HeadComplete) f = feed(p, buf, f.consumed);
    EXPECT_EQ(f.event, ParseEvent::Error) << "accepted: " << ::testing::PrintToString(buf);
  }
}

TEST(HttpParser, HostMustBeAHost) {
  // RFC 9110 §7.2 with RFC 3986's host syntax: a space (or a slash, an "@") is never a host.
  for (const char* host : {"a b", "a/b", "user@a", "a:80x", "[::1", "[zz]", "a:123456", ":80"}) {
    HttpParser p(HttpParser::Kind::Request);
    std::string buf = std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n";
    EXPECT_EQ(feed(p, buf).event, ParseEvent::Error) << "accepted Host: " << host;
  }
  for (const char* host : {"a.test", "a.test:8080", "127.0.0.1:80", "[::1]:80", "[2001:2::1]",
                           "xn--bcher-kva.test", "a_b.test", "a%41.test", ""}) {
    HttpParser p(HttpParser::Kind::Request);
    std::string buf = std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n";
    EXPECT_EQ(feed(p, buf).event, ParseEvent::HeadComplete) << "refused Host: " << host;
  }
  EXPECT_TRUE(isValidHostHeader("a.test:"));  // an empty port is allowed by RFC 3986
}

TEST(HttpParser, TabIsOptionalWhitespaceAroundValues) {
  // RFC 9110 §5.6.3: OWS is SP or HTAB, before and after a field value; neither is part of it.
  HttpParser p(HttpParser::Kind::Request);
  std::string buf = "GET / HTTP/1.1\r\nHost:\ta.test\t\r\nX-A: \t1 2\t \r\n\r\n";
  ASSERT_EQ(feed(p, buf).event, ParseEvent::HeadComplete);
  EXPECT_EQ(header(p, buf, 0), "Host: a.test");
  EXPECT_EQ(header(p, buf, 1), "X-A: 1 2");
}

TEST(HttpParser, TooManyHeaders) {
  HttpParser p(HttpParser::Kind::Request, 3);
  std::string buf = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
  EXPECT_EQ(feed(p, buf).event, ParseEvent::Error);
  EXPECT_TRUE(p.tooManyHeaders());
}

TEST(HttpParser, ResponseToHeadHasNoBody) {
  HttpParser p(HttpParser::Kind::Response);
  p.expectNoBody(true);
  std::string buf = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
  Fed f = feed(p, buf);
  EXPECT_EQ(f.event, ParseEvent::MessageComplete);
  EXPECT_TRUE(p.headComplete());
  EXPECT_EQ(p.head().status, 200);
  EXPECT_EQ(f.consumed, buf.size());
}

TEST(HttpParser, InterimResponseThenFinal) {
  HttpParser p(HttpParser::Kind::Response);
  std::string buf = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
  Fed f = feed(p, buf);
  ASSERT_EQ(f.event, ParseEvent::HeadComplete);
  EXPECT_EQ(p.head().status, 100);
  Fed g = feed(p, buf, f.consumed);
  ASSERT_EQ(g.event, ParseEvent::MessageComplete);
  size_t at = f.consumed + g.consumed;
  Fed h = feed(p, buf, at);
  ASSERT_EQ(h.event, ParseEvent::HeadComplete);
  EXPECT_EQ(p.head().status, 204);
}

TEST(HttpParser, ResponseDelimitedByEof) {
  HttpParser p(HttpParser::Kind::Response);
  std::string buf = "HTTP/1.0 200 OK\r\n\r\nbody until close";
  Fed f = feed(p, buf);
  ASSERT_EQ(f.event, ParseEvent::HeadComplete);
  EXPECT_TRUE(p.bodyDelimitedByEof());
  Fed g = feed(p, buf, f.consumed);
  EXPECT_EQ(g.event, ParseEvent::NeedMore);
  EXPECT_EQ(p.finish(), ParseEvent::MessageComplete);
}

TEST(HttpParser, UpgradeRequestEndsAfterHead) {
  HttpParser p(HttpParser::Kind::Request);
  std::string buf =
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: "
      "websocket\r\n\r\n\x81\x05hello";
  Fed f = feed(p, buf);
  ASSERT_EQ(f.event, ParseEvent::HeadComplete);
  EXPECT_TRUE(p.head().connectionUpgrade);
  Fed g = feed(p, buf, f.consumed);
  ASSERT_EQ(g.event, ParseEvent::MessageComplete);
  EXPECT_TRUE(p.upgrade());
  EXPECT_EQ(f.consumed + g.consumed, buf.size() - 7);
}

TEST(HttpParser, ResetForNextConnectionUse) {
  HttpParser p(HttpParser::Kind::Request);
  std::string bad = "BAD\r\n\r\n";
  EXPECT_EQ(feed(p, bad).event, ParseEvent::Error);
  p.reset();
  std::string good = "GET / HTTP/1.0\r\n\r\n";
  EXPECT_EQ(feed(p, good).event, ParseEvent::HeadComplete);
  EXPECT_EQ(p.head().versionMinor, 0);
}

}  // namespace
}  // namespace tandem::proxy
