// HTTP/2 to servers (`proto: h2`) on the fake network: HTTP/1.1 clients as in the stream tests,
// an nghttp2 server session on the test's side of each server connection. Proves the request
// conversion (pseudo-headers, hop-by-hop fields, te: trailers, bodies of unknown length), the
// response conversion (chunked with the server's trailers, Trailers-Only, 1xx), that requests
// share one connection, that a client who leaves resets only its stream, and that a GOAWAY
// sends new requests to a new connection.
#include <nghttp2/nghttp2.h>

#include <list>
#include <map>

#include "tests/proxy/stream_fixture.h"

namespace tandem::proxy::testing {
namespace {

// The test's HTTP/2 server: frames in, requests per stream, responses out.
class H2Server {
 public:
  struct Request {
    std::map<std::string, std::string> headers;  // pseudo-headers included
    std::string body;
    std::map<std::string, std::string> trailers;
    bool headDone = false;
    bool ended = false;
    bool reset = false;
    uint32_t resetCode = 0;
  };

  H2Server() {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl,
               const uint8_t* v, size_t vl, uint8_t, void* u) {
          auto& r = static_cast<H2Server*>(u)->requests[f->hd.stream_id];
          std::string name(reinterpret_cast<const char*>(n), nl);
          std::string value(reinterpret_cast<const char*>(v), vl);
          (r.headDone ? r.trailers : r.headers)[name] = value;
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cb, [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t n, void* u) {
          static_cast<H2Server*>(u)->requests[id].body.append(reinterpret_cast<const char*>(d), n);
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, void* u) {
          auto* self = static_cast<H2Server*>(u);
          if (f->hd.type == NGHTTP2_HEADERS) {
            auto& r = self->requests[f->hd.stream_id];
            r.headDone = true;
            if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) r.ended = true;
          }
          if (f->hd.type == NGHTTP2_DATA && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
            self->requests[f->hd.stream_id].ended = true;
          if (f->hd.type == NGHTTP2_RST_STREAM) {
            self->requests[f->hd.stream_id].reset = true;
            self->requests[f->hd.stream_id].resetCode = f->rst_stream.error_code;
          }
          if (f->hd.type == NGHTTP2_GOAWAY) self->goawayReceived = true;
          return 0;
        });
    nghttp2_session_server_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~H2Server() { nghttp2_session_del(session_); }

  using Fields = std::vector<std::pair<std::string, std::string>>;
  // A response: HEADERS, then `body` as DATA when not null, then `trailers` as HEADERS.
  void respond(int32_t id, Fields headers, const std::string* body, Fields trailers = {}) {
    bodies_.push_back({body ? *body : std::string(), 0, std::move(trailers), {}});
    Body& b = bodies_.back();
    auto nva = toNv(headers);
    nghttp2_data_provider provider{};
    provider.source.ptr = &b;
    provider.read_callback = [](nghttp2_session* s, int32_t id, uint8_t* buf, size_t len,
                                uint32_t* flags, nghttp2_data_source* src, void*) -> ssize_t {
      auto* b = static_cast<Body*>(src->ptr);
      size_t n = std::min(len, b->data.size() - b->sent);
      std::memcpy(buf, b->data.data() + b->sent, n);
      b->sent += n;
      if (b->sent == b->data.size()) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (!b->trailers.empty()) {
          b->nva = toNv(b->trailers);
          nghttp2_submit_trailer(s, id, b->nva.data(), b->nva.size());
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
      }
      return static_cast<ssize_t>(n);
    };
    ASSERT_EQ(
        nghttp2_submit_response(session_, id, nva.data(), nva.size(), body ? &provider : nullptr),
        0);
  }
  void interim(int32_t id, int status) {
    Fields f = {{":status", std::to_string(status)}};
    auto nva = toNv(f);
    nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, id, nullptr, nva.data(), nva.size(),
                           nullptr);
  }
  void goaway() {
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
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

  std::map<int32_t, Request> requests;
  bool goawayReceived = false;

 private:
  struct Body {
    std::string data;
    size_t sent;
    Fields trailers;
    std::vector<nghttp2_nv> nva;
  };
  static std::vector<nghttp2_nv> toNv(Fields& fields) {
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : fields)
      nva.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                     n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    return nva;
  }
  nghttp2_session* session_ = nullptr;
  std::list<Body> bodies_;
};

class H2UpstreamTest : public StreamTest {
 protected:
  H2UpstreamTest() {
    for (auto& s : web().servers) s.proto = Server::Proto::H2;
  }
  // Frames both ways between the proxy and the n-th server connection until both are quiet.
  void exchange(size_t n = 0) {
    if (servers_.size() <= n) servers_.resize(n + 1);
    if (!servers_[n]) servers_[n] = std::make_unique<H2Server>();
    H2Server& h2 = *servers_[n];
    for (int i = 0; i < 20; ++i) {
      std::string in = serverPeer(n)->take();
      if (!in.empty()) h2.input(in);
      std::string out = h2.output();
      if (!out.empty()) send(serverPeer(n), out);
      if (out.empty() && in.empty()) return;
    }
  }
  H2Server& h2(size_t n = 0) { return *servers_.at(n); }

  std::vector<std::unique_ptr<H2Server>> servers_;
};

TEST_F(H2UpstreamTest, RequestBecomesHeadersAndTheResponseComesBackAsHttp11) {
  start();
  FakePeerPtr client = connect();
  send(client,
       "GET /x?y=1 HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive, x-hop\r\nX-Hop: 1\r\n"
       "TE: trailers\r\nAccept: */*\r\n\r\n");
  ASSERT_EQ(net.servers.size(), 1u);
  exchange();
  ASSERT_EQ(h2().requests.size(), 1u);
  auto& [id, req] = *h2().requests.begin();
  EXPECT_EQ(req.headers.at(":method"), "GET");
  EXPECT_EQ(req.headers.at(":path"), "/x?y=1");
  EXPECT_EQ(req.headers.at(":authority"), "a.test");
  EXPECT_EQ(req.headers.at(":scheme"), "http");
  EXPECT_EQ(req.headers.at("accept"), "*/*");
  EXPECT_EQ(req.headers.at("te"), "trailers");
  // Fields of the HTTP/1.1 hop stay there (RFC 9113 §8.2.2).
  EXPECT_EQ(req.headers.count("host"), 0u);
  EXPECT_EQ(req.headers.count("connection"), 0u);
  EXPECT_EQ(req.headers.count("keep-alive"), 0u);
  EXPECT_TRUE(req.ended);  // no body: END_STREAM on the HEADERS

  std::string body = "hello";
  h2().respond(id, {{":status", "200"}, {"x-served", "h2"}}, &body, {{"grpc-status", "0"}});
  exchange();
  std::string response = client->take();
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("x-served: h2\r\n"), std::string::npos) << response;
  // Unknown length and trailers: chunked, the trailers in its trailer section.
  EXPECT_NE(response.find("transfer-encoding: chunked\r\n"), std::string::npos) << response;
  EXPECT_NE(response.find("\r\n\r\n5\r\nhello\r\n0\r\ngrpc-status: 0\r\n\r\n"), std::string::npos)
      << response;
  EXPECT_FALSE(client->closed);
}

TEST_F(H2UpstreamTest, ChunkedRequestBodiesGoOutAsDataWithTheirTrailers) {
  start();
  FakePeerPtr client = connect();
  send(client,
       "POST /up HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"
       "3\r\nabc\r\n2\r\nde\r\n0\r\nx-checksum: 42\r\n\r\n");
  exchange();
  ASSERT_EQ(h2().requests.size(), 1u);
  auto& [id, req] = *h2().requests.begin();
  EXPECT_EQ(req.body, "abcde");  // HTTP/1.1 chunk framing is not passed on
  EXPECT_EQ(req.headers.count("transfer-encoding"), 0u);
  EXPECT_EQ(req.trailers.at("x-checksum"), "42");
  EXPECT_TRUE(req.ended);
  std::string body = "ok";
  h2().respond(id, {{":status", "201"}, {"content-length", "2"}}, &body);
  exchange();
  std::string response = client->take();
  EXPECT_EQ(response.rfind("HTTP/1.1 201 Created\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("content-length: 2\r\n\r\nok"), std::string::npos) << response;
  EXPECT_EQ(response.find("chunked"), std::string::npos) << response;
}

TEST_F(H2UpstreamTest, TrailersOnlyAndInterimResponses) {
  start();
  FakePeerPtr client = connect();
  send(client, "POST /a HTTP/1.1\r\nHost: a.test\r\nContent-Length: 2\r\n\r\nhi");
  exchange();
  int32_t id = h2().requests.begin()->first;
  EXPECT_EQ(h2().requests.begin()->second.body, "hi");
  h2().interim(id, 103);
  // A gRPC error without messages: one HEADERS frame with END_STREAM.
  h2().respond(id, {{":status", "200"}, {"grpc-status", "5"}}, nullptr);
  exchange();
  std::string response = client->take();
  EXPECT_EQ(response.rfind("HTTP/1.1 103 Early Hints\r\n\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("HTTP/1.1 200 OK\r\ngrpc-status: 5\r\ncontent-length: 0\r\n\r\n"),
            std::string::npos)
      << response;
}

TEST_F(H2UpstreamTest, RequestsShareOneConnectionAndALeavingClientResetsOnlyItsStream) {
  web().servers.pop_back();  // s1 only
  start();
  FakePeerPtr a = connect();
  FakePeerPtr b = connect();
  send(a, "GET /a HTTP/1.1\r\nHost: a.test\r\n\r\n");
  send(b, "GET /b HTTP/1.1\r\nHost: a.test\r\n\r\n");
  ASSERT_EQ(net.servers.size(), 1u);  // one connection, two streams
  exchange();
  ASSERT_EQ(h2().requests.size(), 2u);
  int32_t first = h2().requests.begin()->first;
  int32_t second = std::next(h2().requests.begin())->first;
  // Client a leaves before its answer: its stream is cancelled, b's is not.
  a->eof = true;
  a->reset = true;
  pump();
  exchange();
  EXPECT_TRUE(h2().requests[first].reset);
  EXPECT_EQ(h2().requests[first].resetCode, static_cast<uint32_t>(NGHTTP2_CANCEL));
  EXPECT_FALSE(h2().requests[second].reset);
  EXPECT_FALSE(serverPeer(0)->closed);
  std::string body = "bee";
  h2().respond(second, {{":status", "200"}, {"content-length", "3"}}, &body);
  exchange();
  EXPECT_NE(b->take().find("\r\n\r\nbee"), std::string::npos);
  // The next request takes a stream on the same connection.
  send(b, "GET /c HTTP/1.1\r\nHost: a.test\r\n\r\n");
  exchange();
  EXPECT_EQ(net.servers.size(), 1u);
  EXPECT_EQ(h2().requests.size(), 3u);
}

TEST_F(H2UpstreamTest, AfterGoawayNewRequestsOpenANewConnection) {
  web().servers.pop_back();
  start();
  FakePeerPtr client = connect();
  send(client, "GET /a HTTP/1.1\r\nHost: a.test\r\n\r\n");
  exchange();
  int32_t id = h2().requests.begin()->first;
  h2().goaway();
  std::string body = "one";
  h2().respond(id, {{":status", "200"}, {"content-length", "3"}}, &body);
  exchange();
  EXPECT_NE(client->take().find("\r\n\r\none"), std::string::npos);
  send(client, "GET /b HTTP/1.1\r\nHost: a.test\r\n\r\n");
  ASSERT_EQ(net.servers.size(), 2u);  // the draining connection takes no new stream
  exchange(1);
  ASSERT_EQ(h2(1).requests.size(), 1u);
  EXPECT_EQ(h2(1).requests.begin()->second.headers.at(":path"), "/b");
}

TEST_F(H2UpstreamTest, ServerResetBeforeAnyResponseIs502) {
  web().servers.pop_back();
  web().retries = 0;
  start();
  FakePeerPtr client = connect();
  send(client, "GET /a HTTP/1.1\r\nHost: a.test\r\n\r\n");
  exchange();
  serverPeer(0)->reset = true;  // the server connection dies before any answer
  pump();
  std::string response = client->take();
  EXPECT_EQ(response.rfind("HTTP/1.1 502", 0), 0u) << response;
}

TEST_F(H2UpstreamTest, UpgradeRequestsAreNotSentOverHttp2) {
  web().servers.pop_back();
  web().retries = 0;
  start();
  FakePeerPtr client = connect();
  send(client,
       "GET /ws HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  exchange();
  EXPECT_TRUE(h2().requests.empty());
  std::string response = client->take();
  EXPECT_EQ(response.rfind("HTTP/1.1 50", 0), 0u) << response;
}

}  // namespace
}  // namespace tandem::proxy::testing
