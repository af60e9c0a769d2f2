#include "proxy/h2_connection.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>

#include "proxy/h2_body.h"
#include "proxy/http_parser.h"
#include "proxy/http_stream.h"
#include "proxy/worker.h"

namespace tandem::proxy {

namespace {
// Response bytes of one stream buffered ahead of the client's window: beyond it the stream's
// HttpStream waits (back-pressure toward the server).
constexpr size_t kStreamOutputLimit = 64 * 1024;
// Frames gathered before a write.
constexpr size_t kWriteBatch = 16 * 1024;
// The per-stream receive window (request bodies) and the connection's.
constexpr int32_t kStreamWindow = 64 * 1024;
constexpr int32_t kConnectionWindow = 1 << 20;
// The header block one request may carry, decoded (SETTINGS_MAX_HEADER_LIST_SIZE). The request
// head as HTTP/1.1 has to fit the stream's 16 KiB buffer too; beyond either: 431.
constexpr uint32_t kMaxHeaderList = 16 * 1024;
// nghttp2's stream reset rate limit: this many resets at once, then 33 a second.
constexpr uint64_t kRapidResetBurst = 1000;

std::string_view view(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

// RFC 9113 §8.2.1: a field name is a token in lowercase.
bool isFieldNameChar(unsigned char c) {
  return isTokenChar(c) && !(c >= 'A' && c <= 'Z');
}
}  // namespace

// ---- one stream ------------------------------------------------------------------------------

struct H2Connection::Stream {
  int32_t id = 0;
  // The request, as HTTP/1.1.
  std::string method, path, authority, host, scheme, cookies;
  std::string headerLines;   // "name: value\r\n" for every regular field
  std::string trailerLines;  // of a chunked body
  size_t headerBytes = 0;
  bool tooLarge = false;
  bool hasContentLength = false;
  bool chunked = false;  // a body of unknown length, sent to the HttpStream in chunks
  bool started = false;  // the HttpStream exists
  int64_t begunUs = 0;   // its HEADERS frame began
  bool headRequest = false;
  bool requestEnded = false;
  std::string requestBytes;  // for the HttpStream to read
  size_t requestRead = 0;
  size_t unconsumed = 0;  // DATA bytes not yet given back to the client's windows
  // The response.
  HttpParser response{HttpParser::Kind::Response};
  std::string responseHead;  // the bytes of a head not yet complete
  size_t headParsed = 0;
  bool headSubmitted = false;
  bool interim = false;  // in a 1xx head the client does not get
  bool responseEnded = false;
  bool endStreamSent = false;
  // The response body for DATA frames, then the chunked response's trailers (grpc-status).
  H2OutgoingBody body;
  // Ends.
  bool reset = false;                    // RST_STREAM, or the connection is gone
  bool closedByCodec = false;            // nghttp2 is done with it
  bool queued = false;                   // in ready_
  StreamTransport* transport = nullptr;  // while an HttpStream uses it
  Session* session = nullptr;

  size_t bodyBuffered() const { return body.buffered(); }
};

// The transport an HttpStream reads its request from and writes its response to.
class H2Connection::StreamTransport final : public Transport {
 public:
  StreamTransport(H2Connection& connection, Stream& stream, bool secure)
      : connection_(&connection), stream_(&stream), secure_(secure) {}
  ~StreamTransport() override { close(false); }

  void wantRead(bool on) override {
    wantRead_ = on;
    if (on && stream_) connection_->schedule(*stream_);
  }
  void wantWrite(bool on) override {
    wantWrite_ = on;
    if (on && stream_) connection_->schedule(*stream_);
  }

  ssize_t read(IoBuffer& buf) override {
    if (!stream_ || stream_->reset) return kError;
    Stream& s = *stream_;
    size_t avail = s.requestBytes.size() - s.requestRead;
    if (avail == 0) return s.requestEnded ? 0 : kAgain;
    size_t n = std::min<size_t>(avail, buf.space());
    std::memcpy(buf.end(), s.requestBytes.data() + s.requestRead, n);
    buf.produced(n);
    s.requestRead += n;
    if (s.requestRead == s.requestBytes.size()) {
      s.requestBytes.clear();
      s.requestRead = 0;
    }
    // The body read: the client may send as much again. Chunk framing makes what was read a
    // little more than the DATA it came from; everything once the buffer is empty.
    size_t give = s.requestBytes.empty() ? s.unconsumed : std::min(s.unconsumed, n);
    if (give && !s.closedByCodec) {
      nghttp2_session_consume(connection_->session_.get(), s.id, give);
      connection_->scheduleFlush();
    }
    s.unconsumed -= give;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const iovec* iov, int count) override {
    if (!stream_ || stream_->reset) return kError;
    Stream& s = *stream_;
    if (s.headSubmitted && s.bodyBuffered() >= kStreamOutputLimit) return kAgain;
    size_t taken = 0;
    for (int i = 0; i < count; ++i) {
      if (!take(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len)) return kError;
      taken += iov[i].iov_len;
    }
    if (s.body.deferred && (s.bodyBuffered() > 0 || s.responseEnded)) {
      s.body.deferred = false;
      nghttp2_session_resume_data(connection_->session_.get(), s.id);
    }
    connection_->scheduleFlush();
    return static_cast<ssize_t>(taken);
  }

  void shutdownWrite() override {}  // no tunnels over HTTP/2 streams
  void close(bool clean) override {
    if (!stream_) return;
    Stream* s = stream_;
    stream_ = nullptr;
    connection_->detach(*s, clean);
  }
  // The connection ended first: nothing reaches it any more.
  void orphan() { stream_ = nullptr; }

  bool localAddress(sockaddr_storage* out) const override {
    return stream_ && connection_->clientTransport_->localAddress(out);
  }
  bool secure() const override { return secure_; }
  PeerCertificate peerCertificate() const override {
    return stream_ ? connection_->clientTransport_->peerCertificate() : PeerCertificate{};
  }
  std::string_view alpnProtocol() const override { return "h2"; }
  std::string_view serverName() const override {
    return stream_ ? connection_->clientTransport_->serverName() : std::string_view();
  }

  // Tells the HttpStream what it waits for, if it is there.
  void notify() {
    Stream* s = stream_;
    if (!s) return;
    if (wantRead_ && (s->requestRead < s->requestBytes.size() || s->requestEnded) && handler_)
      handler_->onReadable();
    if (stream_ && wantWrite_ && s->bodyBuffered() < kStreamOutputLimit && handler_)
      handler_->onWritable();
  }

  static void onBody(void* context, const char* data, size_t length) {
    static_cast<Stream*>(context)->body.append(data, length);
  }
  static void onTrailer(void* context, std::string_view name, std::string_view value) {
    static_cast<Stream*>(context)->body.addTrailer(name, value);
  }

 private:
  // Parses response bytes: the head becomes HEADERS, the body (unframed) DATA.
  bool take(const char* data, size_t length) {
    Stream& s = *stream_;
    if (s.responseEnded) return true;  // nothing follows a response on a stream
    if (s.headSubmitted) return parseBody(data, length);
    // The head's fields are spans into the bytes it came in: they stay together until it is
    // complete.
    s.responseHead.append(data, length);
    for (;;) {
      const char* base = s.responseHead.data();
      size_t n = 0;
      ParseEvent ev =
          s.response.execute(base, base + s.headParsed, s.responseHead.size() - s.headParsed, &n);
      s.headParsed += n;
      if (ev == ParseEvent::Error) return false;
      if (ev == ParseEvent::NeedMore) return true;
      int status = s.response.head().status;
      if (s.interim || (status >= 100 && status < 200)) {
        // 100 Continue, 103 Early Hints: a HEADERS frame of their own; the final head follows.
        if (!s.interim && !submitHead(base, true)) return false;
        s.interim = ev != ParseEvent::MessageComplete;
        if (!s.interim) {
          s.responseHead.erase(0, s.headParsed);
          s.headParsed = 0;
        }
        continue;
      }
      if (!submitHead(base)) return false;
      if (ev == ParseEvent::MessageComplete) s.responseEnded = true;
      std::string rest = s.responseHead.substr(s.headParsed);
      s.responseHead = std::string();
      s.headParsed = 0;
      return s.responseEnded || parseBody(rest.data(), rest.size());
    }
  }

  bool parseBody(const char* data, size_t length) {
    Stream& s = *stream_;
    // At least one pass, even over nothing: a message can end right after its head.
    do {
      size_t n = 0;
      ParseEvent ev = s.response.execute(data, data, length, &n);
      data += n;
      length -= n;
      if (ev == ParseEvent::Error) return false;
      if (ev == ParseEvent::MessageComplete) {
        s.responseEnded = true;
        return true;
      }
      if (ev == ParseEvent::NeedMore) return true;
    } while (length > 0);
    return true;
  }

  bool submitHead(const char* base, bool interim = false) {
    Stream& s = *stream_;
    const MessageHead& h = s.response.head();
    std::string status = std::to_string(h.status);
    // Every name lowercased into one buffer, reserved whole so the views into it stay put.
    std::string lowered;
    size_t nameBytes = 0;
    for (const auto& f : h.headers) nameBytes += f.name.length;
    lowered.reserve(nameBytes);
    std::vector<nghttp2_nv> nva;
    nva.reserve(h.headers.size() + 1);
    nva.push_back(h2Field(":status", status));
    for (const auto& f : h.headers) {
      std::string_view name = f.name.in(base);
      if (h2ConnectionSpecific(name)) continue;
      size_t at = lowered.size();
      for (char c : name)
        lowered.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
      nva.push_back(h2Field(std::string_view(lowered).substr(at, name.size()), f.value.in(base)));
    }
    bool bodyless = h.status == 204 || h.status == 304 || s.headRequest ||
                    (h.hasContentLength && h.contentLength == 0 && !h.chunked);
    nghttp2_data_provider provider{};
    provider.source.ptr = &s;
    provider.read_callback = &StreamTransport::readBody;
    nghttp2_session* session = connection_->session_.get();
    if (interim)
      return nghttp2_submit_headers(session, NGHTTP2_FLAG_NONE, s.id, nullptr, nva.data(),
                                    nva.size(), nullptr) >= 0;
    int rv = nghttp2_submit_response(session, s.id, nva.data(), nva.size(),
                                     bodyless ? nullptr : &provider);
    s.headSubmitted = true;
    if (bodyless) s.responseEnded = true;
    return rv == 0;
  }

 public:
  static ssize_t readBody(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source* source, void*) {
    Stream& s = *static_cast<Stream*>(source->ptr);
    ssize_t n = s.body.read(session, id, buf, length, flags, s.responseEnded);
    if (n == NGHTTP2_ERR_DEFERRED) return n;
    // Room again: an HttpStream waiting to write hears it.
    if (s.transport && s.transport->wantWrite_ && s.bodyBuffered() < kStreamOutputLimit)
      s.transport->connection_->schedule(s);
    return static_cast<ssize_t>(n);
  }

 private:
  H2Connection* connection_;
  Stream* stream_;
  bool secure_;
  bool wantRead_ = false;
  bool wantWrite_ = false;
};

// ---- nghttp2's callbacks ---------------------------------------------------------------------

struct H2Connection::Callbacks {
  static H2Connection& self(void* user) { return *static_cast<H2Connection*>(user); }

  static Stream* find(H2Connection& c, int32_t id) {
    auto it = c.streams_.find(id);
    return it == c.streams_.end() ? nullptr : it->second.get();
  }

  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    H2Connection& c = self(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    c.frontendCounters().h2.streams.add();
    auto s = std::make_unique<Stream>();
    s->id = frame->hd.stream_id;
    s->begunUs = c.nowUs();
    c.streams_.emplace(s->id, std::move(s));
    // A header block must be whole within `timeout http_request` (slowloris over HTTP/2).
    c.armTimer(c.frontend_.config->timeouts.httpRequest);
    return 0;
  }

  // RFC 9113 §8.2.1 and §8.3, after nghttp2's own checks (which already refuse most of this):
  // what would change meaning as HTTP/1.1 never gets that far.
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    H2Connection& c = self(user);
    Stream* s = find(c, frame->hd.stream_id);
    if (!s) return 0;
    std::string_view n = view(name, namelen), v = view(value, valuelen);
    for (char ch : v)
      if (ch == '\r' || ch == '\n' || ch == '\0') return NGHTTP2_ERR_HTTP_HEADER;
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) {  // trailers
      if (n.empty() || n[0] == ':') return NGHTTP2_ERR_HTTP_HEADER;
      if (s->chunked) s->trailerLines.append(n).append(": ").append(v).append("\r\n");
      return 0;
    }
    s->headerBytes += namelen + valuelen + 32;
    if (s->headerBytes > kMaxHeaderList) {
      s->tooLarge = true;
      return 0;
    }
    if (!n.empty() && n[0] == ':') {
      std::string* slot = n == ":method"      ? &s->method
                          : n == ":path"      ? &s->path
                          : n == ":authority" ? &s->authority
                          : n == ":scheme"    ? &s->scheme
                                              : nullptr;
      if (!slot || !slot->empty()) return NGHTTP2_ERR_HTTP_HEADER;  // unknown or repeated
      *slot = v;
      return 0;
    }
    if (n.empty()) return NGHTTP2_ERR_HTTP_HEADER;
    for (char ch : n)
      if (!isFieldNameChar(static_cast<unsigned char>(ch))) return NGHTTP2_ERR_HTTP_HEADER;
    if (h2ConnectionSpecific(n)) return NGHTTP2_ERR_HTTP_HEADER;
    if (n == "te" && v != "trailers") return NGHTTP2_ERR_HTTP_HEADER;
    if (n == "host") {
      if (!s->host.empty()) return NGHTTP2_ERR_HTTP_HEADER;
      s->host = v;
      return 0;
    }
    if (n == "cookie") {  // §8.2.3: crumbs joined again for HTTP/1.1
      if (!s->cookies.empty()) s->cookies.append("; ");
      s->cookies.append(v);
      return 0;
    }
    if (n == "content-length") s->hasContentLength = true;
    s->headerLines.append(n).append(": ").append(v).append("\r\n");
    return 0;
  }

  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    H2Connection& c = self(user);
    Stream* s = find(c, frame->hd.stream_id);
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
        if (!s) return 0;
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST)
          c.beginRequest(*s, (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0);
        else if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
          c.endRequest(*s);
        return 0;
      case NGHTTP2_DATA:
        if (s && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) c.endRequest(*s);
        return 0;
      case NGHTTP2_RST_STREAM:
        c.frontendCounters().h2.rstReceived.add();
        ++c.resetsReceived_;
        return 0;
      default:
        return 0;
    }
  }

  static int onDataChunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data,
                         size_t len, void* user) {
    H2Connection& c = self(user);
    Stream* s = find(c, id);
    if (!s || !s->transport || s->reset) {
      // Nobody reads it: the window comes back at once so other streams do not stall.
      nghttp2_session_consume(session, id, len);
      return 0;
    }
    if (s->chunked) {
      char size[20];
      int k = std::snprintf(size, sizeof(size), "%zx\r\n", len);
      s->requestBytes.append(size, static_cast<size_t>(k));
      s->requestBytes.append(reinterpret_cast<const char*>(data), len);
      s->requestBytes.append("\r\n");
    } else {
      s->requestBytes.append(reinterpret_cast<const char*>(data), len);
    }
    s->unconsumed += len;
    c.schedule(*s);
    return 0;
  }

  static int onFrameSend(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    H2Connection& c = self(user);
    TrafficCounters::H2& counters = c.frontendCounters().h2;
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
      counters.rstSent.add();
      if (frame->rst_stream.error_code == NGHTTP2_PROTOCOL_ERROR) counters.streamErrors.add();
      return 0;
    }
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      counters.goawaySent.add();
      uint32_t code = frame->goaway.error_code;
      if (code != NGHTTP2_NO_ERROR) c.goawayCounted_ = true;
      // nghttp2 ends a rapid-reset attack (CVE-2023-44487: its stream reset rate limit) with
      // INTERNAL_ERROR; many resets before it tell that case apart.
      if (code == NGHTTP2_ENHANCE_YOUR_CALM ||
          (code == NGHTTP2_INTERNAL_ERROR && c.resetsReceived_ >= kRapidResetBurst))
        counters.floods.add();
      else if (code != NGHTTP2_NO_ERROR)
        counters.connectionErrors.add();
      return 0;
    }
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    Stream* s = find(c, frame->hd.stream_id);
    if (!s) return 0;
    s->endStreamSent = true;
    // §8.1: the response is complete and nobody will read the rest of the request: the
    // client stops sending it (NO_ERROR: the response stands).
    if (!s->transport && !s->requestEnded && !s->closedByCodec)
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
    return 0;
  }

  static int onStreamClose(nghttp2_session*, int32_t id, uint32_t errorCode, void* user) {
    H2Connection& c = self(user);
    Stream* s = find(c, id);
    if (!s) return 0;
    s->closedByCodec = true;
    if (errorCode != NGHTTP2_NO_ERROR || !s->responseEnded || !s->requestEnded) {
      s->reset = true;  // the client cancelled it (RST_STREAM), or a stream error
      if (s->transport) c.schedule(*s);
    }
    if (!s->transport) c.erase(*s);
    return 0;
  }
};

void H2Connection::SessionDeleter::operator()(nghttp2_session* s) const {
  nghttp2_session_del(s);
}

// ---- the connection --------------------------------------------------------------------------

H2Connection::H2Connection(Worker& worker, FrontendRuntime& frontend, const Bind& bind,
                           TransportPtr client, const IpAddress& clientAddress, uint16_t clientPort,
                           Start start)
    : Session(worker, frontend, std::move(client), clientAddress, clientPort),
      bind_(bind),
      start_(start) {
  flushEv_.assign(worker.base(), -1, 0, [this](short) {
    flushScheduled_ = false;
    if (dead()) return;
    dispatch();
    flush();
  });
}

H2Connection::~H2Connection() = default;

void H2Connection::start() {
  armTimer(start_ == Start::Negotiate ? frontend_.config->timeouts.httpRequest
                                      : frontend_.config->timeouts.client);
  // On TLS the session starts once the handshake is done (nothing can be written before).
  if (start_ == Start::PriorKnowledge && tlsHandshakeDone() && !startSession()) return close();
  wantClientRead(true);
}

bool H2Connection::startSession() {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &Callbacks::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cb, &Callbacks::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Callbacks::onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Callbacks::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Callbacks::onStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, &Callbacks::onFrameSend);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Request bodies are given back to the window as the streams read them (back-pressure).
  nghttp2_option_set_no_auto_window_update(opt, 1);
  // Rapid reset (CVE-2023-44487): nghttp2's defaults, said here so the counter above agrees.
  nghttp2_option_set_stream_reset_rate_limit(opt, kRapidResetBurst, 33);
  nghttp2_session* raw = nullptr;
  int rv = nghttp2_session_server_new2(&raw, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) return false;
  session_.reset(raw);
  frontendCounters().h2.connections.add();
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, bind_.maxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, kMaxHeaderList},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  if (nghttp2_submit_settings(raw, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0)
    return false;
  nghttp2_session_set_local_window_size(raw, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  scheduleFlush();
  return true;
}

void H2Connection::handOverToHttp1() {
  auto next = std::make_unique<HttpStream>(worker_, frontend_, std::move(clientTransport_), client_,
                                           clientPort_, Accounting::TakenOver);
  next->takeOver(std::move(in_), acceptedAtUs_, acceptedAtWallUs_, readyAtUs_);
  if (destination_) next->setProxiedDestination(*destination_, destinationPort_);
  handedOver_ = true;
  close();
  worker_.adopt(std::move(next));
}

void H2Connection::onClientReadable() {
  for (int round = 0; round < 16 && !dead(); ++round) {
    if (!in_) in_ = worker_.buffers().acquire();
    ssize_t n = readClient(*in_);
    if (!session_ && tlsHandshakeDone()) {
      // ALPN is settled: HTTP/2 if the client picked it (or the bind speaks nothing else),
      // else HTTP/1.1 on this connection.
      if (start_ == Start::Negotiate && clientTransport_->alpnProtocol() != "h2")
        return handOverToHttp1();
      if (!startSession()) return closeAbruptly();
      armTimer(frontend_.config->timeouts.client);
    }
    if (n == Transport::kAgain) break;
    if (n <= 0) return closeAbruptly();  // the client left (or TLS failed): streams end
    if (!session_) continue;
    ssize_t used = nghttp2_session_mem_recv(
        session_.get(), reinterpret_cast<const uint8_t*>(in_->begin()), in_->size());
    in_->consume(in_->size());
    if (used < 0) {
      // A connection error nghttp2 does not answer with GOAWAY itself (a bad preface, a
      // flood of frames it would have to answer, too many CONTINUATION frames): the
      // connection ends here.
      bool flood = used == NGHTTP2_ERR_FLOODED || used == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
      if (!goawayCounted_) {
        // The GOAWAY below counts it (as a flood or a protocol error) when it goes out.
        nghttp2_session_terminate_session(
            session_.get(), flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
        flush();
        if (dead()) return;
      }
      if (!goawayCounted_) {
        TrafficCounters::H2& counters = frontendCounters().h2;
        (flood ? counters.floods : counters.connectionErrors).add();
      }
      return closeAbruptly();
    }
    dispatch();
    if (dead()) return;
  }
  if (in_ && in_->empty()) worker_.buffers().release(in_);
  flush();
}

void H2Connection::onClientWritable() {
  dispatch();
  flush();
}

void H2Connection::scheduleFlush() {
  // From a stream's HttpStream, outside any read of this connection: the frames go out at the
  // end of this loop pass, batched with whatever else it produces.
  if (flushScheduled_ || dead()) return;
  flushScheduled_ = true;
  flushEv_.activate();
}

void H2Connection::flush() {
  if (dead() || !session_) return;
  if (!writePending()) return;
  for (;;) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
    if (n < 0) return closeAbruptly();
    if (n == 0) break;
    out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    if (out_.size() - outSent_ >= kWriteBatch && !writePending()) return;
  }
  if (!writePending()) return;
  wantClientWrite(false);
  maybeFinish();
}

bool H2Connection::writePending() {
  while (outSent_ < out_.size()) {
    iovec iov{out_.data() + outSent_, out_.size() - outSent_};
    ssize_t n = sendClient(&iov, 1);
    if (n == Transport::kAgain) {
      wantClientWrite(true);
      return false;
    }
    if (n < 0) {
      closeAbruptly();
      return false;
    }
    outSent_ += static_cast<size_t>(n);
  }
  out_.clear();
  outSent_ = 0;
  return true;
}

void H2Connection::maybeFinish() {
  // Frames still waiting for the socket (the last END_STREAM, the GOAWAY) go out first.
  if (dead() || !session_ || outSent_ < out_.size()) return;
  bool codecDone =
      !nghttp2_session_want_read(session_.get()) && !nghttp2_session_want_write(session_.get());
  if (codecDone || (draining_ && streams_.empty()))
    close();
  else if (streams_.empty())
    armTimer(frontend_.config->timeouts.client);
}

void H2Connection::schedule(Stream& s) {
  if (s.queued) return;
  s.queued = true;
  ready_.push_back(s.id);
  if (!dispatching_) scheduleFlush();  // dispatched at the end of the loop pass
}

void H2Connection::dispatch() {
  if (dispatching_) return;
  dispatching_ = true;
  for (size_t i = 0; i < ready_.size() && !dead(); ++i) {
    auto it = streams_.find(ready_[i]);
    if (it == streams_.end()) continue;
    Stream& s = *it->second;
    s.queued = false;
    if (!s.transport) continue;
    if (s.reset) {
      s.session->clientGone();
      continue;
    }
    s.transport->notify();
  }
  ready_.clear();
  dispatching_ = false;
}

void H2Connection::beginRequest(Stream& s, bool endStream) {
  if (s.tooLarge) return answerHere(s, 431);
  if (s.method == "CONNECT") return answerHere(s, 501);  // no tunnels over HTTP/2 streams
  // §8.3.1: a path starts with "/" ("*" only for OPTIONS); no space or control character may
  // reach the request line.
  bool pathOk = !s.path.empty() && (s.path[0] == '/' || (s.path == "*" && s.method == "OPTIONS"));
  for (char ch : s.path)
    if (static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f) pathOk = false;
  bool methodOk = !s.method.empty();
  for (char ch : s.method)
    if (!isTokenChar(static_cast<unsigned char>(ch))) methodOk = false;
  // §8.3.1: :authority, when present, names the target; a Host that disagrees is malformed.
  if (!pathOk || !methodOk || (!s.authority.empty() && !s.host.empty() && s.host != s.authority)) {
    nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, s.id, NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  const std::string& host = s.authority.empty() ? s.host : s.authority;
  s.chunked = !endStream && !s.hasContentLength;
  std::string head;
  head.reserve(s.method.size() + s.path.size() + host.size() + s.headerLines.size() +
               s.cookies.size() + 64);
  head.append(s.method).append(" ").append(s.path).append(" HTTP/1.1\r\n");
  if (!host.empty()) head.append("host: ").append(host).append("\r\n");
  head.append(s.headerLines);
  if (!s.cookies.empty()) head.append("cookie: ").append(s.cookies).append("\r\n");
  if (s.chunked) head.append("transfer-encoding: chunked\r\n");
  head.append("\r\n");
  if (s.requestBytes.empty())
    s.requestBytes = std::move(head);
  else
    s.requestBytes.insert(0, head);
  s.headerLines = std::string();
  s.requestEnded = endStream;
  s.headRequest = s.method == "HEAD";
  s.response.expectNoBody(s.headRequest);
  s.response.setBodySink(&StreamTransport::onBody, &s);
  s.response.setTrailerSink(&StreamTransport::onTrailer, &s);
  auto transport = std::make_unique<StreamTransport>(*this, s, tls());
  s.transport = transport.get();
  auto stream = std::make_unique<HttpStream>(worker_, frontend_, std::move(transport), client_,
                                             clientPort_, Accounting::Stream);
  if (destination_) stream->setProxiedDestination(*destination_, destinationPort_);
  s.session = stream.get();
  s.started = true;
  worker_.adopt(std::move(stream));  // starts it: it asks to read, and hears so in dispatch()
}

void H2Connection::endRequest(Stream& s) {
  if (s.requestEnded) return;
  s.requestEnded = true;
  if (s.chunked) s.requestBytes.append("0\r\n").append(s.trailerLines).append("\r\n");
  s.trailerLines.clear();
  if (s.transport) schedule(s);
}

void H2Connection::answerHere(Stream& s, int status) {
  std::string code = std::to_string(status);
  nghttp2_nv nv = {reinterpret_cast<uint8_t*>(const_cast<char*>(":status")),
                   reinterpret_cast<uint8_t*>(code.data()), 7, code.size(), NGHTTP2_NV_FLAG_NONE};
  s.headSubmitted = s.responseEnded = true;
  nghttp2_submit_response(session_.get(), s.id, &nv, 1, nullptr);
  frontendCounters().requestErrors.add();
}

void H2Connection::detach(Stream& s, bool clean) {
  s.transport = nullptr;
  s.session = nullptr;
  if (!s.closedByCodec && session_) {
    if (!s.responseEnded) {
      // The stream's HttpStream ended without a whole response (an abort, a timeout): the
      // client must not take what it got for complete. A stream whose request it never read
      // was not processed: the client may send it again.
      uint32_t code = s.headSubmitted || !clean ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_REFUSED_STREAM;
      // What the stream already produced goes first (the head, the part of the body), as
      // HTTP/1.1 would have sent it before the connection cut.
      int32_t id = s.id;
      if (s.headSubmitted) flush();
      if (dead() || !session_) return;
      nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, id, code);
    } else {
      if (s.unconsumed) {
        nghttp2_session_consume(session_.get(), s.id, s.unconsumed);
        s.unconsumed = 0;
      }
      if (s.endStreamSent && !s.requestEnded)
        nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, s.id, NGHTTP2_NO_ERROR);
    }
    if (s.body.deferred) {
      s.body.deferred = false;
      nghttp2_session_resume_data(session_.get(), s.id);
    }
    scheduleFlush();
    return;
  }
  erase(s);
  maybeFinish();
}

void H2Connection::erase(Stream& s) {
  streams_.erase(s.id);  // s is gone
  if (!dead() && streams_.empty()) {
    if (draining_)
      scheduleFlush();  // closes once the GOAWAY and the last frames are out
    else
      armTimer(frontend_.config->timeouts.client);
  }
}

void H2Connection::stopWhenIdle(bool closeIdle) {
  if (!session_) return close();
  if (!draining_) {
    draining_ = true;
    nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_.get()), NGHTTP2_NO_ERROR,
                          nullptr, 0);
  }
  if (closeIdle && streams_.empty()) {
    flush();
    if (!dead()) close();
    return;
  }
  scheduleFlush();
}

void H2Connection::onTimeout() {
  // A header block not finished in `timeout http_request`: the client is holding the
  // connection with nothing to serve (HTTP/1.1 would get 408).
  int64_t now = nowUs(), limit = frontend_.config->timeouts.httpRequest.count();
  int64_t nextDue = INT64_MAX;
  bool stale = false;
  for (auto& [id, s] : streams_) {
    if (s->started || s->closedByCodec) continue;
    if (now - s->begunUs >= limit)
      stale = true;
    else
      nextDue = std::min(nextDue, s->begunUs + limit - now);
  }
  if (!stale && nextDue != INT64_MAX) return armTimer(Duration(nextDue));
  if (!stale && !streams_.empty()) return;  // the streams time themselves; erase() re-arms
  // Idle past `timeout client`: GOAWAY, then the connection closes.
  if (session_) {
    draining_ = true;
    nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_.get()), NGHTTP2_NO_ERROR,
                          nullptr, 0);
    flush();
  }
  if (!dead()) close();
}

void H2Connection::onClosing() {
  if (handedOver_) return;
  // The connection is gone: every stream's HttpStream ends as a client abort.
  std::vector<Session*> sessions;
  for (auto& [id, s] : streams_) {
    if (!s->transport) continue;
    s->reset = true;
    s->transport->orphan();
    s->transport = nullptr;
    sessions.push_back(s->session);
    s->session = nullptr;
  }
  for (Session* session : sessions) session->clientGone();
}

}  // namespace tandem::proxy
