// HTTP/2 client connections on the fake network: an nghttp2 client session on the test's side
// of the connection, HTTP/1.1 servers faked as in the stream tests. Proves the conversion both
// ways, that the HTTP/1.1 phases (rules) apply per stream, that one stream's end never ends
// another, GOAWAY on stop with open streams finishing, and the counters.
#include <nghttp2/nghttp2.h>

#include <list>
#include <map>

#include "proxy/h2_connection.h"
#include "tests/proxy/stream_fixture.h"

namespace tandem::proxy::testing {
namespace {

// The test's HTTP/2 client: requests out, frames in, what came back per stream.
class H2Client {
 public:
  struct Response {
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
    bool closed = false;
    uint32_t error = 0;  // RST_STREAM's code (NO_ERROR after a whole response)
    bool reset = false;  // an RST_STREAM came
  };

  H2Client() {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl,
               const uint8_t* v, size_t vl, uint8_t, void* u) {
          auto& r = static_cast<H2Client*>(u)->responses[f->hd.stream_id];
          std::string name(reinterpret_cast<const char*>(n), nl);
          std::string value(reinterpret_cast<const char*>(v), vl);
          if (name == ":status")
            r.status = std::stoi(value);
          else
            r.headers[name] = value;
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cb, [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t n, void* u) {
          static_cast<H2Client*>(u)->responses[id].body.append(reinterpret_cast<const char*>(d), n);
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        cb, [](nghttp2_session*, int32_t id, uint32_t code, void* u) {
          auto& r = static_cast<H2Client*>(u)->responses[id];
          r.closed = true;
          r.error = code;
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, void* u) {
          auto* self = static_cast<H2Client*>(u);
          if (f->hd.type == NGHTTP2_GOAWAY) {
            self->goaway = true;
            self->goawayError = f->goaway.error_code;
          }
          if (f->hd.type == NGHTTP2_RST_STREAM) self->responses[f->hd.stream_id].reset = true;
          if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK))
            for (size_t i = 0; i < f->settings.niv; ++i)
              self->settings[f->settings.iv[i].settings_id] = f->settings.iv[i].value;
          return 0;
        });
    nghttp2_session_client_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~H2Client() { nghttp2_session_del(session_); }

  // A request; `body` sent as DATA (with END_STREAM) when not null.
  int32_t request(const std::string& method, const std::string& path,
                  std::vector<std::pair<std::string, std::string>> headers = {},
                  const std::string* body = nullptr) {
    std::vector<std::pair<std::string, std::string>> all = {
        {":method", method}, {":scheme", "http"}, {":authority", "a.test"}, {":path", path}};
    all.insert(all.end(), headers.begin(), headers.end());
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : all)
      nva.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                     n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    nghttp2_data_provider provider{};
    if (body) {
      bodies_.push_back({*body, 0});
      provider.source.ptr = &bodies_.back();
      provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t len,
                                  uint32_t* flags, nghttp2_data_source* src, void*) -> ssize_t {
        auto* b = static_cast<std::pair<std::string, size_t>*>(src->ptr);
        size_t n = std::min(len, b->first.size() - b->second);
        std::memcpy(buf, b->first.data() + b->second, n);
        b->second += n;
        if (b->second == b->first.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
        return static_cast<ssize_t>(n);
      };
    }
    return nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                  body ? &provider : nullptr, nullptr);
  }
  void cancel(int32_t id) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  }
  std::string output() {
    std::string out;
    for (;;) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    return out;
  }
  void input(const std::string& bytes) {
    ASSERT_EQ(nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                       bytes.size()),
              static_cast<ssize_t>(bytes.size()));
  }

  std::map<int32_t, Response> responses;
  std::map<int32_t, uint32_t> settings;
  bool goaway = false;
  uint32_t goawayError = 0;

 private:
  nghttp2_session* session_ = nullptr;
  std::list<std::pair<std::string, size_t>> bodies_;
};

class H2ConnectionTest : public StreamTest {
 protected:
  H2ConnectionTest() { bind.proto = Bind::Proto::H2; }

  FakePeerPtr connectH2() {
    auto [peer, transport] = net.client();
    FrontendRuntime& fe = *runtime->frontends()[0];
    worker->adopt(std::make_unique<H2Connection>(*worker, fe, bind, std::move(transport),
                                                 clientAddress, clientPort,
                                                 H2Connection::Start::PriorKnowledge));
    pump();
    return peer;
  }
  // Frames both ways until neither side has more to say.
  void exchange(const FakePeerPtr& peer) {
    for (int i = 0; i < 20; ++i) {
      std::string out = client.output();
      if (!out.empty()) send(peer, out);
      std::string in = peer->take();
      if (!in.empty()) client.input(in);
      if (out.empty() && in.empty()) return;
    }
  }
  TrafficTotals frontendTotals() { return runtime->totals(*runtime->frontends()[0]); }

  Bind bind;
  H2Client client;
};

TEST_F(H2ConnectionTest, RequestGoesOutAsHttp11AndTheResponseComesBackAsFrames) {
  start();
  FakePeerPtr peer = connectH2();
  int32_t id =
      client.request("GET", "/x?y=1", {{"accept", "*/*"}, {"cookie", "a=1"}, {"cookie", "b=2"}});
  exchange(peer);
  EXPECT_EQ(client.settings[NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS], 100u);
  ASSERT_EQ(net.servers.size(), 1u);
  std::string request = serverPeer(0)->take();
  EXPECT_EQ(request.rfind("GET /x?y=1 HTTP/1.1\r\nhost: a.test\r\n", 0), 0u) << request;
  EXPECT_NE(request.find("accept: */*\r\n"), std::string::npos) << request;
  // RFC 9113 §8.2.3: cookie crumbs are one header again for HTTP/1.1.
  EXPECT_NE(request.find("cookie: a=1; b=2\r\n"), std::string::npos) << request;
  EXPECT_EQ(request.find("transfer-encoding"), std::string::npos) << request;

  serverPeer(0)->toProxy =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n"
      "X-Served: s1\r\n\r\nhello";
  pump();
  exchange(peer);
  const H2Client::Response& r = client.responses[id];
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.headers.at("x-served"), "s1");
  EXPECT_EQ(r.headers.count("connection"), 0u);  // connection-specific: not in HTTP/2
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.error, static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_FALSE(peer->closed);  // the connection stays for more streams
  EXPECT_EQ(frontendTotals().h2.connections, 1u);
  EXPECT_EQ(frontendTotals().h2.streams, 1u);
  EXPECT_EQ(frontendTotals().httpRequests, 1u);
  EXPECT_EQ(frontendTotals().sessions, 1u);  // one connection, however many streams
}

TEST_F(H2ConnectionTest, BodiesOfUnknownLengthAreChunkedForTheServer) {
  start();
  FakePeerPtr peer = connectH2();
  std::string body(40000, 'b');
  int32_t id = client.request("POST", "/up", {}, &body);
  exchange(peer);
  ASSERT_EQ(net.servers.size(), 1u);
  std::string request = serverPeer(0)->take();
  EXPECT_NE(request.find("transfer-encoding: chunked\r\n"), std::string::npos);
  // Unchunked, the bytes are the body, whole.
  std::string data = request.substr(request.find("\r\n\r\n") + 4), unchunked;
  for (size_t at = 0;;) {
    size_t eol = data.find("\r\n", at);
    size_t size = std::stoul(data.substr(at, eol - at), nullptr, 16);
    if (size == 0) break;
    unchunked += data.substr(eol + 2, size);
    at = eol + 2 + size + 2;
  }
  EXPECT_EQ(unchunked, body);

  serverPeer(0)->toProxy =
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  pump();
  exchange(peer);
  EXPECT_EQ(client.responses[id].status, 201);
  EXPECT_EQ(client.responses[id].body, "abcde");  // HTTP/1 chunk framing is not passed on
  EXPECT_EQ(client.responses[id].headers.count("transfer-encoding"), 0u);
}

TEST_F(H2ConnectionTest, BackendRulesAnswerTheStreamWithoutAServer) {
  denyInBackend(403);
  start();
  FakePeerPtr peer = connectH2();
  int32_t id = client.request("GET", "/");
  exchange(peer);
  EXPECT_EQ(client.responses[id].status, 403);
  EXPECT_TRUE(client.responses[id].closed);
  EXPECT_TRUE(net.servers.empty());
  EXPECT_EQ(frontendTotals().h2.streams, 1u);
}

TEST_F(H2ConnectionTest, OneStreamResetLeavesTheOthers) {
  start();
  FakePeerPtr peer = connectH2();
  int32_t first = client.request("GET", "/1");
  int32_t second = client.request("GET", "/2");
  exchange(peer);
  ASSERT_EQ(net.servers.size(), 2u);
  client.cancel(first);
  exchange(peer);
  // The cancelled request's server connection is given up (never pooled half-read): the
  // client's connection and the second stream's are what is left.
  EXPECT_EQ(net.liveCount(), 2u);
  EXPECT_FALSE(serverPeer(1)->closed);
  serverPeer(1)->toProxy = kOk;
  pump();
  exchange(peer);
  EXPECT_EQ(client.responses[second].status, 200);
  EXPECT_EQ(client.responses[second].body, "hello");
  EXPECT_FALSE(peer->closed);
  EXPECT_EQ(frontendTotals().h2.rstReceived, 1u);
  // And the connection takes new streams.
  int32_t third = client.request("GET", "/3");
  exchange(peer);
  ASSERT_EQ(net.servers.size(), 3u);  // round robin: s1 again, on a new connection
  serverPeer(2)->toProxy = kOk;
  pump();
  exchange(peer);
  EXPECT_EQ(client.responses[third].status, 200);
}

TEST_F(H2ConnectionTest, AServerCutMidBodyResetsTheStreamNotTheConnection) {
  start();
  FakePeerPtr peer = connectH2();
  int32_t id = client.request("GET", "/");
  exchange(peer);
  ASSERT_EQ(net.servers.size(), 1u);
  serverPeer(0)->toProxy = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello";
  serverPeer(0)->eof = true;
  pump();
  exchange(peer);
  const H2Client::Response& r = client.responses[id];
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.reset);  // not END_STREAM: the client cannot take 5 bytes for the whole body
  EXPECT_EQ(r.error, static_cast<uint32_t>(NGHTTP2_INTERNAL_ERROR));
  EXPECT_FALSE(peer->closed);
}

TEST_F(H2ConnectionTest, StopSendsGoawayAndOpenStreamsFinish) {
  start();
  FakePeerPtr peer = connectH2();
  int32_t id = client.request("GET", "/");
  exchange(peer);
  ASSERT_EQ(net.servers.size(), 1u);
  worker->requestStop(30s);
  pump();
  exchange(peer);
  EXPECT_TRUE(client.goaway);
  EXPECT_EQ(client.goawayError, static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_FALSE(peer->closed);  // the open stream is still served
  serverPeer(0)->toProxy = kOk;
  pump();
  exchange(peer);
  EXPECT_EQ(client.responses[id].status, 200);
  EXPECT_EQ(client.responses[id].body, "hello");
  EXPECT_TRUE(peer->closed);  // nothing open any more: the connection ends
  EXPECT_GE(frontendTotals().h2.goawaySent, 1u);
}

TEST_F(H2ConnectionTest, IdleConnectionsEndWithGoawayAfterTimeoutClient) {
  start();
  FakePeerPtr peer = connectH2();
  exchange(peer);
  advance(31s);  // timeout client is 30 s
  exchange(peer);
  EXPECT_TRUE(client.goaway);
  EXPECT_TRUE(peer->closed);
}

TEST_F(H2ConnectionTest, AMalformedRequestIsAStreamErrorAndNeverReachesAServer) {
  start();
  FakePeerPtr peer = connectH2();
  // A space in :path would split the HTTP/1.1 request line.
  int32_t bad = client.request("GET", "/a b");
  exchange(peer);
  EXPECT_TRUE(client.responses[bad].reset);
  EXPECT_EQ(client.responses[bad].error, static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR));
  EXPECT_TRUE(net.servers.empty());
  EXPECT_EQ(frontendTotals().h2.streamErrors, 1u);
  int32_t good = client.request("GET", "/ok");
  exchange(peer);
  ASSERT_EQ(net.servers.size(), 1u);
  serverPeer(0)->toProxy = kOk;
  pump();
  exchange(peer);
  EXPECT_EQ(client.responses[good].status, 200);
}

TEST_F(H2ConnectionTest, AClientThatLeavesEndsItsStreamsAsAborts) {
  start();
  FakePeerPtr peer = connectH2();
  client.request("GET", "/");
  exchange(peer);
  ASSERT_EQ(net.servers.size(), 1u);
  peer->eof = true;
  pump();
  EXPECT_EQ(net.liveCount(), 0u);  // the stream's server connection too
  EXPECT_EQ(worker->sessionCount(), 0u);
}

}  // namespace
}  // namespace tandem::proxy::testing
