// The rule phases of one HTTP transaction over parsed heads, with no socket and a clock the
// test sets: every rule action, every ACL fetch, routing, the heads sent on both sides.
#include "proxy/http_transaction.h"

#include <gtest/gtest.h>

#include <string>

namespace tandem::proxy {
namespace {

Guard when(const std::string& acl, bool negate = false) {
  Guard g;
  g.condition = Condition{Condition::Op::Acl, acl, {}};
  g.negate = negate;
  return g;
}

Acl acl(Acl::Kind kind, std::vector<std::string> values, std::string header = {}) {
  Acl a;
  a.kind = kind;
  a.values = std::move(values);
  a.header = std::move(header);
  return a;
}

HttpRequestRule requestRule(HttpRequestRule::Action action, Guard guard = {}) {
  HttpRequestRule r;
  r.action = action;
  r.guard = std::move(guard);
  return r;
}

HttpRequestRule header(HttpRequestRule::Action action, std::string name, std::string value = {}) {
  HttpRequestRule r = requestRule(action);
  r.name = std::move(name);
  r.value = std::move(value);
  return r;
}

HttpResponseRule responseHeader(HttpResponseRule::Action action, std::string name,
                                std::string value = {}) {
  HttpResponseRule r;
  r.action = action;
  r.name = std::move(name);
  r.value = std::move(value);
  return r;
}

Backend backend(const std::string& name) {
  Backend b;
  b.name = name;
  Server s;
  s.name = "s1";
  std::string error;
  s.address = *Endpoint::parse("127.0.0.1:9", true, &error);
  b.servers.push_back(s);
  return b;
}

// One frontend "fe" routing to backends "web" (default) and "api"; tests edit the config
// before build().
struct Fixture {
  Config config;
  std::unique_ptr<Runtime> runtime;
  IpAddress client = *IpAddress::parse("198.18.0.7");
  bool tls = false;
  int64_t nowUs = 1'000'000;

  Fixture() {
    Frontend fe;
    fe.name = "fe";
    fe.defaultBackend = "web";
    config.frontends.push_back(fe);
    config.backends.push_back(backend("web"));
    config.backends.push_back(backend("api"));
  }
  Frontend& fe() { return config.frontends[0]; }
  Backend& be(const std::string& name) {
    for (auto& b : config.backends)
      if (b.name == name) return b;
    throw std::runtime_error("no backend " + name);
  }
  void build() {
    std::string error;
    runtime = Runtime::build(config, &error);
    ASSERT_TRUE(runtime) << error;
  }

  // Parses `head` (a complete request head) and runs the request phases.
  struct Result {
    std::unique_ptr<HttpTransaction> txn;
    HttpTransaction::Decision decision;
    std::string backendName() const { return txn->backend() ? txn->backend()->config->name : ""; }
  };
  Result request(const std::string& head, bool keepAliveAllowed = true) {
    if (!runtime) build();
    text_ = head;
    parser_ = std::make_unique<HttpParser>(HttpParser::Kind::Request);
    size_t n = 0;
    ParseEvent ev = parser_->execute(text_.data(), text_.data(), text_.size(), &n);
    EXPECT_TRUE(ev == ParseEvent::HeadComplete || ev == ParseEvent::MessageComplete) << head;
    Result r;
    r.txn = std::make_unique<HttpTransaction>(*runtime->frontends()[0], runtime->errors(), client,
                                              tls, keepAliveAllowed);
    r.decision = r.txn->onRequestHead(*parser_, text_.data(), nowUs);
    return r;
  }
  // Parses a response head for `txn` and builds the client's head.
  std::string respond(HttpTransaction& txn, const std::string& head) {
    response_ = head;
    responseParser_ = std::make_unique<HttpParser>(HttpParser::Kind::Response);
    size_t n = 0;
    ParseEvent ev =
        responseParser_->execute(response_.data(), response_.data(), response_.size(), &n);
    EXPECT_NE(ev, ParseEvent::Error);
    EXPECT_NE(ev, ParseEvent::NeedMore);
    txn.onResponseHead(*responseParser_, response_.data());
    return txn.clientHead;
  }

 private:
  std::string text_, response_;
  std::unique_ptr<HttpParser> parser_, responseParser_;
};

constexpr const char* kGet = "GET /a HTTP/1.1\r\nHost: example.test\r\n\r\n";

std::string statusLine(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

using Kind = HttpTransaction::Decision::Kind;

TEST(HttpTransaction, ForwardsToTheDefaultBackendWithARewrittenHead) {
  Fixture f;
  auto r = f.request(
      "GET /a?x=1 HTTP/1.1\r\nHost: example.test\r\nConnection: keep-alive, te\r\nTE: trailers\r\n"
      "Keep-Alive: 5\r\nX-Other: yes\r\n\r\n");
  ASSERT_EQ(r.decision.kind, Kind::Forward);
  EXPECT_EQ(r.backendName(), "web");
  // Hop-by-hop fields are this hop's: gone. The server connection is managed on its own. TE
  // is said again for the next hop: the proxy passes trailers on, so "trailers" still holds.
  EXPECT_EQ(r.txn->serverHead,
            "GET /a?x=1 HTTP/1.1\r\nHost: example.test\r\nte: trailers\r\nX-Other: yes\r\n\r\n");
  EXPECT_TRUE(r.txn->replayable());
  EXPECT_TRUE(r.txn->clientKeepAlive());
  // RFC 9110 §7.6.1: a field the Connection header names is this hop's as well.
  auto named = f.request(
      "GET / HTTP/1.1\r\nHost: example.test\r\nConnection: keep-alive, X-Hop\r\n"
      "X-Hop: secret\r\nX-Other: yes\r\n\r\n");
  EXPECT_EQ(named.txn->serverHead, "GET / HTTP/1.1\r\nHost: example.test\r\nX-Other: yes\r\n\r\n");
}

TEST(HttpTransaction, Http10KeepsItsServerConnectionAliveExplicitly) {
  Fixture f;
  auto r = f.request("GET / HTTP/1.0\r\n\r\n");  // no Host: fine in 1.0
  ASSERT_EQ(r.decision.kind, Kind::Forward);
  EXPECT_TRUE(r.txn->http10());
  EXPECT_EQ(r.txn->serverHead, "GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n");
  EXPECT_FALSE(r.txn->clientKeepAlive());  // 1.0 without keep-alive: close after
}

TEST(HttpTransaction, BadFramingIsAnswered400) {
  Fixture f;
  for (const char* head : {"GET / HTTP/1.1\r\n\r\n",  // no Host in 1.1
                           "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"}) {
    auto r = f.request(head);
    ASSERT_EQ(r.decision.kind, Kind::Answer) << head;
    EXPECT_EQ(statusLine(r.decision.response), "HTTP/1.1 400 Bad Request") << head;
    EXPECT_EQ(r.txn->backend(), nullptr);
  }
}

TEST(HttpTransaction, FrontendDenyAnswersWithItsStatusUnlessItsConditionFails) {
  Fixture f;
  f.fe().acls["admin"] = acl(Acl::Kind::PathBeg, {"/admin"});
  HttpRequestRule deny = requestRule(HttpRequestRule::Action::Deny, when("admin"));
  deny.status = 403;
  f.fe().httpRequest.push_back(deny);
  auto denied = f.request("GET /admin/x HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(denied.decision.kind, Kind::Answer);
  EXPECT_EQ(statusLine(denied.decision.response), "HTTP/1.1 403 Forbidden");
  EXPECT_EQ(denied.txn->backend(), nullptr);  // never routed
  EXPECT_EQ(f.request(kGet).decision.kind, Kind::Forward);
}

TEST(HttpTransaction, BackendRulesRunAfterRoutingOnTheChosenBackendOnly) {
  Fixture f;
  f.fe().acls["is_api"] = acl(Acl::Kind::Host, {"api.test"});
  f.fe().useBackends.push_back({"api", when("is_api")});
  HttpRequestRule deny = requestRule(HttpRequestRule::Action::Deny);
  deny.status = 401;
  f.be("api").httpRequest.push_back(deny);
  auto api = f.request("GET / HTTP/1.1\r\nHost: api.test:8080\r\n\r\n");  // port stripped
  ASSERT_EQ(api.decision.kind, Kind::Answer);
  EXPECT_EQ(statusLine(api.decision.response), "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(api.backendName(), "api");
  auto web = f.request("GET / HTTP/1.1\r\nHost: www.test\r\n\r\n");
  ASSERT_EQ(web.decision.kind, Kind::Forward);
  EXPECT_EQ(web.backendName(), "web");
}

TEST(HttpTransaction, BackendRulesSeeTheBackendsOwnAcls) {
  Fixture f;
  f.be("web").acls["post"] = acl(Acl::Kind::Method, {"POST"});
  f.be("web").httpRequest.push_back(requestRule(HttpRequestRule::Action::Deny, when("post")));
  EXPECT_EQ(f.request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").decision.kind,
            Kind::Answer);
  EXPECT_EQ(f.request(kGet).decision.kind, Kind::Forward);
}

TEST(HttpTransaction, NoBackendIs503) {
  Fixture f;
  f.fe().defaultBackend.clear();
  auto r = f.request(kGet);
  ASSERT_EQ(r.decision.kind, Kind::Answer);
  EXPECT_EQ(statusLine(r.decision.response), "HTTP/1.1 503 Service Unavailable");
}

TEST(HttpTransaction, RedirectsBySchemePrefixOrLocation) {
  Fixture f;
  f.fe().acls["old"] = acl(Acl::Kind::PathBeg, {"/old"});
  f.fe().acls["moved"] = acl(Acl::Kind::Path, {"/moved"});
  f.fe().acls["plain"] = acl(Acl::Kind::Ssl, {});
  HttpRequestRule prefix = requestRule(HttpRequestRule::Action::Redirect, when("old"));
  prefix.status = 302;
  prefix.redirectPrefix = "https://new.test";
  HttpRequestRule location = requestRule(HttpRequestRule::Action::Redirect, when("moved"));
  location.status = 308;
  location.redirectLocation = "/elsewhere";
  HttpRequestRule scheme = requestRule(HttpRequestRule::Action::Redirect, when("plain", true));
  scheme.status = 301;
  scheme.redirectScheme = "https";
  f.fe().httpRequest = {prefix, location, scheme};
  auto check = [&](const char* head, const char* status, const char* where) {
    auto r = f.request(head);
    ASSERT_EQ(r.decision.kind, Kind::Answer) << head;
    EXPECT_EQ(statusLine(r.decision.response), status);
    EXPECT_NE(r.decision.response.find(std::string("\r\nlocation: ") + where + "\r\n"),
              std::string::npos)
        << r.decision.response;
  };
  check("GET /old/page?q HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 302 Found",
        "https://new.test/old/page?q");
  check("GET /moved HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 308 Permanent Redirect", "/elsewhere");
  check("GET /x HTTP/1.1\r\nHost: h.test:80\r\n\r\n", "HTTP/1.1 301 Moved Permanently",
        "https://h.test/x");
  f.tls = true;  // ssl_fc holds: no scheme redirect
  EXPECT_EQ(f.request("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").decision.kind, Kind::Forward);
}

TEST(HttpTransaction, ReturnAnswersWithTheBodyExceptToHead) {
  Fixture f;
  HttpRequestRule ret = requestRule(HttpRequestRule::Action::Return);
  ret.status = 200;
  ret.contentType = "text/plain";
  ret.body = "hello";
  f.fe().httpRequest.push_back(ret);
  auto get = f.request(kGet);
  ASSERT_EQ(get.decision.kind, Kind::Answer);
  EXPECT_EQ(get.decision.response,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n"
            "cache-control: no-cache\r\nconnection: close\r\n\r\nhello");
  auto head = f.request("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(head.decision.response.substr(head.decision.response.size() - 4), "\r\n\r\n");
}

TEST(HttpTransaction, RateLimitCountsPerSourceInItsWindow) {
  Fixture f;
  RateLimitTable table;
  table.limit = 2;
  table.window = std::chrono::seconds(10);
  table.status = 429;
  f.fe().rateLimits["per_ip"] = table;
  HttpRequestRule track = requestRule(HttpRequestRule::Action::Track);
  track.table = "per_ip";
  f.fe().httpRequest.push_back(track);
  EXPECT_EQ(f.request(kGet).decision.kind, Kind::Forward);
  EXPECT_EQ(f.request(kGet).decision.kind, Kind::Forward);
  auto third = f.request(kGet);
  ASSERT_EQ(third.decision.kind, Kind::Answer);
  EXPECT_EQ(statusLine(third.decision.response), "HTTP/1.1 429 Too Many Requests");
  f.client = *IpAddress::parse("198.18.0.8");  // another source has its own count
  EXPECT_EQ(f.request(kGet).decision.kind, Kind::Forward);
  f.client = *IpAddress::parse("198.18.0.7");
  f.nowUs += 21'000'000;  // two windows later the count has decayed
  EXPECT_EQ(f.request(kGet).decision.kind, Kind::Forward);
}

TEST(HttpTransaction, RequestHeaderRulesApplyInOrderAcrossFrontendAndBackend) {
  Fixture f;
  using A = HttpRequestRule::Action;
  f.fe().httpRequest = {header(A::SetHeader, "X-Env", "fe"), header(A::AddHeader, "X-Add", "1"),
                        header(A::SetHeader, "X-Orig", "replaced"),
                        header(A::AddHeader, "X-Gone", "1")};
  f.be("web").httpRequest = {header(A::SetHeader, "X-Env", "be"), header(A::DelHeader, "X-Gone"),
                             header(A::AddHeader, "X-Add", "2")};
  auto r = f.request("GET / HTTP/1.1\r\nHost: h\r\nX-Orig: client\r\nX-Gone: client\r\n\r\n");
  ASSERT_EQ(r.decision.kind, Kind::Forward);
  EXPECT_EQ(r.txn->serverHead,
            "GET / HTTP/1.1\r\nHost: h\r\nX-Add: 1\r\nX-Orig: replaced\r\nX-Env: be\r\n"
            "X-Add: 2\r\n\r\n");
}

TEST(HttpTransaction, ForwardforAddsTheClientAndReplacesTheProto) {
  Fixture f;
  f.be("web").forwardfor = true;
  f.tls = true;
  auto r = f.request("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: http\r\n\r\n");
  EXPECT_EQ(r.txn->serverHead,
            "GET / HTTP/1.1\r\nHost: h\r\nx-forwarded-for: 198.18.0.7\r\n"
            "x-forwarded-proto: https\r\n\r\n");
}

TEST(HttpTransaction, ResponseRulesBackendFirstThenFrontendOnTheRequestsAcls) {
  Fixture f;
  using A = HttpResponseRule::Action;
  f.fe().acls["static"] = acl(Acl::Kind::PathEnd, {".css"});
  HttpResponseRule cache = responseHeader(A::SetHeader, "Cache-Control", "max-age=60");
  cache.guard = when("static");
  f.fe().httpResponse = {responseHeader(A::SetHeader, "X-Served", "fe"), cache};
  f.be("web").httpResponse = {responseHeader(A::SetHeader, "X-Served", "be"),
                              responseHeader(A::DelHeader, "Server")};
  auto css = f.request("GET /a.css HTTP/1.1\r\nHost: h\r\n\r\n");
  css.txn->requestDone = true;
  EXPECT_EQ(f.respond(*css.txn,
                      "HTTP/1.1 200 OK\r\nServer: x\r\nCache-Control: no-store\r\n"
                      "Content-Length: 0\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Served: fe\r\n"
            "Cache-Control: max-age=60\r\n\r\n");
  auto html = f.request("GET /a.html HTTP/1.1\r\nHost: h\r\n\r\n");
  html.txn->requestDone = true;
  EXPECT_EQ(f.respond(*html.txn,
                      "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\n"
                      "Content-Length: 0\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 0\r\n"
            "X-Served: fe\r\n\r\n");
}

TEST(HttpTransaction, ResponseHeadManagesTheClientConnection) {
  Fixture f;
  auto kept = f.request(kGet);
  kept.txn->requestDone = true;
  EXPECT_EQ(f.respond(*kept.txn, "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n"),
            "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_TRUE(kept.txn->keepAlivePromised());

  auto stopping = f.request(kGet, /*keepAliveAllowed=*/false);
  stopping.txn->requestDone = true;
  EXPECT_EQ(f.respond(*stopping.txn, "HTTP/1.1 204 No Content\r\n\r\n"),
            "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
  EXPECT_FALSE(stopping.txn->keepAlivePromised());

  auto early = f.request(kGet);  // answered before the request body was all read
  EXPECT_EQ(f.respond(*early.txn, "HTTP/1.1 204 No Content\r\n\r\n"),
            "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");

  auto eof = f.request(kGet);  // a body that only the server's close ends
  eof.txn->requestDone = true;
  EXPECT_EQ(f.respond(*eof.txn, "HTTP/1.1 200 OK\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");

  auto http10 = f.request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  http10.txn->requestDone = true;
  EXPECT_EQ(f.respond(*http10.txn, "HTTP/1.1 204 No Content\r\n\r\n"),
            "HTTP/1.1 204 No Content\r\nconnection: keep-alive\r\n\r\n");
}

TEST(HttpTransaction, UpgradeSwitchesOnlyWhenAsked) {
  Fixture f;
  auto ws =
      f.request("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  ASSERT_TRUE(ws.txn->upgrade());
  EXPECT_EQ(ws.txn->serverHead,
            "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nconnection: upgrade\r\n\r\n");
  EXPECT_TRUE(ws.txn->switching(101));
  EXPECT_EQ(
      f.respond(*ws.txn,
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\n\r\n"),
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nconnection: upgrade\r\n\r\n");
  auto plain = f.request(kGet);
  EXPECT_FALSE(plain.txn->switching(101));
}

TEST(HttpTransaction, BalanceUriHashesThePathOrTheWholeUri) {
  Fixture f;
  f.be("web").balance.algorithm = Balance::Algorithm::Uri;
  EXPECT_EQ(f.request("GET /p/q?x=1 HTTP/1.1\r\nHost: h\r\n\r\n").txn->hashKey(), "/p/q");
  f.be("web").balance.uriWhole = true;
  f.runtime.reset();
  EXPECT_EQ(f.request("GET /p/q?x=1 HTTP/1.1\r\nHost: h\r\n\r\n").txn->hashKey(), "/p/q?x=1");
}

TEST(HttpTransaction, OnlyBodilessIdempotentRequestsAreReplayable) {
  Fixture f;
  EXPECT_TRUE(f.request(kGet).txn->replayable());
  EXPECT_FALSE(
      f.request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").txn->replayable());
  EXPECT_FALSE(
      f.request("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx").txn->replayable());
  EXPECT_TRUE(f.request("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n").txn->headRequest());
}

TEST(HttpTransaction, ABuiltinFrontendIsAnsweredByItsPage) {
  Fixture f;
  f.fe().builtin = Frontend::Builtin::Stats;
  EXPECT_EQ(f.request(kGet).decision.kind, Kind::Builtin);
}

// Every ACL fetch routes a request that matches it and not one that does not.
struct FetchCase {
  const char* name;
  Acl acl;
  const char* matching;
  const char* other;
  bool tls = false;
};

TEST(HttpTransaction, EveryAclFetchRoutes) {
  Acl src = acl(Acl::Kind::Src, {});
  std::string error;
  src.networks = {*Cidr::parse("198.18.0.0/24", &error)};
  Acl exists = acl(Acl::Kind::HeaderExists, {}, "x-debug");
  std::vector<FetchCase> cases = {
      {"host", acl(Acl::Kind::Host, {"api.test"}), "GET / HTTP/1.1\r\nHost: API.test:81\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: www.test\r\n\r\n"},
      {"host6", acl(Acl::Kind::Host, {"[::1]"}), "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: [::2]\r\n\r\n"},
      {"path", acl(Acl::Kind::Path, {"/exact"}), "GET /exact?q HTTP/1.1\r\nHost: h\r\n\r\n",
       "GET /exact/more HTTP/1.1\r\nHost: h\r\n\r\n"},
      {"path_beg", acl(Acl::Kind::PathBeg, {"/api/"}), "GET /api/v1 HTTP/1.1\r\nHost: h\r\n\r\n",
       "GET /apix HTTP/1.1\r\nHost: h\r\n\r\n"},
      {"path_end", acl(Acl::Kind::PathEnd, {".jpg"}),
       "GET /a/b.jpg?s=1 HTTP/1.1\r\nHost: h\r\n\r\n",
       "GET /a/b.jpg/x HTTP/1.1\r\nHost: h\r\n\r\n"},
      {"path_reg", acl(Acl::Kind::PathReg, {"^/u/[0-9]+$"}),
       "GET /u/42 HTTP/1.1\r\nHost: h\r\n\r\n", "GET /u/me HTTP/1.1\r\nHost: h\r\n\r\n"},
      {"absolute-form path", acl(Acl::Kind::Path, {"/abs"}),
       "GET http://h/abs HTTP/1.1\r\nHost: h\r\n\r\n",
       "GET http://h/other HTTP/1.1\r\nHost: h\r\n\r\n"},
      {"method", acl(Acl::Kind::Method, {"DELETE"}), "DELETE / HTTP/1.1\r\nHost: h\r\n\r\n", kGet},
      {"hdr", acl(Acl::Kind::HeaderEq, {"beta"}, "x-channel"),
       "GET / HTTP/1.1\r\nHost: h\r\nX-Channel: beta\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: h\r\nX-Channel: betamax\r\n\r\n"},
      {"hdr_sub", acl(Acl::Kind::HeaderSub, {"mobile"}, "user-agent"),
       "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: Foo Mobile/1\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: Foo/1\r\n\r\n"},
      {"hdr_reg", acl(Acl::Kind::HeaderReg, {"^v[0-9]$"}, "x-version"),
       "GET / HTTP/1.1\r\nHost: h\r\nX-Version: v2\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: h\r\nX-Version: v22\r\n\r\n"},
      {"req.hdr found", exists, "GET / HTTP/1.1\r\nHost: h\r\nX-Debug: \r\n\r\n", kGet},
      {"src", src, kGet, nullptr},
      {"ssl_fc", acl(Acl::Kind::Ssl, {}), kGet, nullptr, true},
  };
  for (const auto& c : cases) {
    Fixture f;
    f.fe().acls["fetch"] = c.acl;
    f.fe().useBackends.push_back({"api", when("fetch")});
    f.tls = c.tls;
    EXPECT_EQ(f.request(c.matching).backendName(), "api") << c.name;
    if (c.other) {
      EXPECT_EQ(f.request(c.other).backendName(), "web") << c.name;
    } else {  // the connection, not the request, makes the difference
      f.tls = !c.tls;
      f.client = *IpAddress::parse("198.19.0.7");
      EXPECT_EQ(f.request(c.matching).backendName(), "web") << c.name;
    }
  }
}

}  // namespace
}  // namespace tandem::proxy
