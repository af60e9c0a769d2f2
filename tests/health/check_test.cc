#include "health/check.h"

#include <gtest/gtest.h>

namespace tandem::health {
namespace {

CheckConfig http(std::vector<HttpExpect> expects) {
  CheckConfig c;
  c.type = CheckType::Http;
  c.expects = std::move(expects);
  return c;
}

HttpExpect status(int lo, int hi, bool negate = false) {
  HttpExpect e;
  e.kind = HttpExpect::Kind::Status;
  e.statusRanges = {{lo, hi}};
  e.negate = negate;
  return e;
}

HttpExpect body(HttpExpect::Kind k, std::string p, bool negate = false) {
  HttpExpect e;
  e.kind = k;
  e.pattern = std::move(p);
  e.negate = negate;
  return e;
}

const std::string k200 = "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}";
const std::string k500 = "HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\nfail";

TEST(HttpCheck, DefaultAccepts2xxAnd3xx) {
  EXPECT_TRUE(evaluateHttpResponse(k200, http({})).ok);
  EXPECT_TRUE(evaluateHttpResponse("HTTP/1.0 302 Found\r\n\r\n", http({})).ok);
  auto r = evaluateHttpResponse(k500, http({}));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "Layer7 wrong status 500");
}

TEST(HttpCheck, StatusListsRangesAndNegation) {
  EXPECT_TRUE(evaluateHttpResponse(k200, http({status(200, 299)})).ok);
  EXPECT_FALSE(evaluateHttpResponse(k500, http({status(200, 299)})).ok);
  EXPECT_TRUE(evaluateHttpResponse(k500, http({status(200, 299, true)})).ok);
  EXPECT_FALSE(evaluateHttpResponse(k200, http({status(200, 200, true)})).ok);
}

TEST(HttpCheck, StringAndRegexOnTheBody) {
  EXPECT_TRUE(
      evaluateHttpResponse(k200, http({body(HttpExpect::Kind::String, "\"status\":\"ok\"")})).ok);
  auto r = evaluateHttpResponse(k200, http({body(HttpExpect::Kind::String, "degraded")}));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "Layer7 response did not match 'degraded'");
  EXPECT_TRUE(
      evaluateHttpResponse(k200, http({body(HttpExpect::Kind::Rstring, "\"status\":\\s*\"o.\"")}))
          .ok);
  EXPECT_FALSE(evaluateHttpResponse(k200, http({body(HttpExpect::Kind::String, "ok", true)})).ok);
}

TEST(HttpCheck, EveryExpectMustHold) {
  auto c = http({status(200, 200), body(HttpExpect::Kind::String, "nope")});
  EXPECT_FALSE(evaluateHttpResponse(k200, c).ok);
}

TEST(HttpCheck, ChunkedBodyIsDecoded) {
  std::string raw =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nsta\r\n4\r\ntus!\r\n0\r\n\r\n";
  EXPECT_TRUE(evaluateHttpResponse(raw, http({body(HttpExpect::Kind::String, "status!")})).ok);
}

TEST(HttpCheck, InvalidOrEmptyResponse) {
  EXPECT_EQ(evaluateHttpResponse("", http({})).reason, "Layer7 empty response");
  EXPECT_EQ(evaluateHttpResponse("SSH-2.0-OpenSSH\r\n", http({})).reason,
            "Layer7 invalid response");
}

TEST(MysqlCheck, HandshakeResponseLayout) {
  std::string p = mysqlHandshakeResponse("haproxy_check");
  // 4-byte header: payload length (little endian) and sequence 1.
  size_t len = static_cast<uint8_t>(p[0]) | static_cast<uint8_t>(p[1]) << 8;
  EXPECT_EQ(len, p.size() - 4);
  EXPECT_EQ(p[3], '\x01');
  uint32_t flags = static_cast<uint8_t>(p[4]) | static_cast<uint8_t>(p[5]) << 8 |
                   static_cast<uint8_t>(p[6]) << 16 |
                   static_cast<uint32_t>(static_cast<uint8_t>(p[7])) << 24;
  EXPECT_TRUE(flags & 0x200);  // CLIENT_PROTOCOL_41
  EXPECT_EQ(p.substr(4 + 32, 13), "haproxy_check");
  EXPECT_EQ(p[4 + 32 + 13], '\0');
  EXPECT_EQ(p.back(), '\0');  // empty auth response
}

}  // namespace
}  // namespace tandem::health
