// Log formats over records: HAProxy's httplog and tcplog lines, log-format %-variables, quoting,
// request headers, JSON, and the formats refused with the reason.
#include "proxy/access_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

namespace tandem::proxy {
namespace {

AccessLogRecord record() {
  setenv("TZ", "UTC", 1);
  tzset();
  AccessLogRecord r;
  r.client = *IpAddress::parse("198.18.0.9");
  r.clientPort = 41234;
  r.acceptWallUs = 1'796'119'199'500'000;  // 09:59:59.500
  r.startWallUs = 1'796'119'200'000'000;   // 10:00:00.000
  r.frontend = "fe";
  r.backend = "web";
  r.server = "s1";
  r.requestMs = 3;
  r.queueMs = 0;
  r.connectMs = 7;
  r.responseMs = 11;
  r.totalMs = 21;
  r.status = 200;
  r.bytesToClient = 130;
  r.actconn = 4;
  r.feconn = 3;
  r.beconn = 2;
  r.srvconn = 1;
  r.retries = 12;
  r.redispatched = true;
  r.requestLine = "GET /a?b=\"1\" HTTP/1.1";
  return r;
}

TEST(LogFormat, HttplogAndTcplogAreHAProxysLines) {
  AccessLogRecord r = record();
  EXPECT_EQ(LogFormat::httplog().render(r),
            "198.18.0.9:41234 [01/Dec/2026:10:00:00.000] fe web/s1 3/0/7/11/21 200 130 - - ---- "
            "4/3/2/1/+12 0/0 \"GET /a?b=\"1\" HTTP/1.1\"");
  r.termination.set('s', 'D');
  EXPECT_EQ(LogFormat::tcplog().render(r),
            "198.18.0.9:41234 [01/Dec/2026:09:59:59.500] fe web/s1 0/7/21 130 sD 4/3/2/1/+12 0/0");
  // Before routing and before a server: the frontend's name and <NOSRV>; no request: <BADREQ>.
  r.backend.clear();
  r.server.clear();
  r.requestLine.clear();
  std::string line = LogFormat::httplog().render(r);
  EXPECT_NE(line.find(" fe fe/<NOSRV> "), std::string::npos) << line;
  EXPECT_NE(line.find("\"<BADREQ>\""), std::string::npos) << line;
}

TEST(LogFormat, CustomFormatWithQuotingHeadersAndLiterals) {
  std::string error;
  auto f = LogFormat::compile(
      "%HM %HU %HV|%{+Q}ft %ST 100%% %[req.hdr(Host)] %[req.hdr(x-id)] "
      "%[req.hdr(host)] %ts",
      true, &error);
  ASSERT_TRUE(f) << error;
  ASSERT_EQ(f->headers(), (std::vector<std::string>{"host", "x-id"}));
  AccessLogRecord r = record();
  r.headers = {"a.test", ""};
  EXPECT_EQ(f->render(r), "GET /a?b=\"1\" HTTP/1.1|\"fe\" 200 100% a.test - a.test --");
}

TEST(LogFormat, JsonIsOneObjectWithTypedFields) {
  std::string error;
  auto f = LogFormat::compile("%ci:%cp %ST %Ta %rc %{+Q}r %[req.hdr(host)] %CC", true, &error);
  ASSERT_TRUE(f) << error;
  AccessLogRecord r = record();
  r.headers = {"a\x01"};
  EXPECT_EQ(f->render(r, true),
            "{\"client_ip\":\"198.18.0.9\",\"client_port\":41234,\"status_code\":200,\"Ta\":21,"
            "\"retries\":12,\"http_request\":\"GET /a?b=\\\"1\\\" HTTP/1.1\",\"req_hdr_host\":"
            "\"a\\u0001\"}");
}

TEST(LogFormat, RefusedFormatsSayWhy) {
  std::string error;
  EXPECT_FALSE(LogFormat::compile("%ci %zz", true, &error));
  EXPECT_EQ(error, "unknown variable %zz");
  EXPECT_FALSE(LogFormat::compile("%ci %ST", false, &error));
  EXPECT_EQ(error, "%ST needs mode http");
  EXPECT_FALSE(LogFormat::compile("50% off", true, &error));
  EXPECT_NE(error.find("%% writes a %"), std::string::npos) << error;
  EXPECT_FALSE(LogFormat::compile("%[src]", true, &error));
  EXPECT_NE(error.find("only %[req.hdr(NAME)]"), std::string::npos) << error;
  EXPECT_FALSE(LogFormat::compile("%{+E}r", true, &error));
  EXPECT_NE(error.find("{+Q}"), std::string::npos) << error;
  EXPECT_FALSE(LogFormat::compile("%[req.hdr(host)]", false, &error));
  EXPECT_EQ(error, "%[req.hdr(...)] needs mode http");
}

}  // namespace
}  // namespace tandem::proxy
