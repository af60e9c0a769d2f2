#include "proxy/h2_upstream.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/logging.h"
#include "proxy/h2_body.h"
#include "proxy/http_parser.h"
#include "proxy/socket_util.h"
#include "proxy/worker.h"

namespace tandem::proxy {

namespace {
// Request body bytes of one stream taken from its HttpStream but not yet framed: beyond this the
// HttpStream hears kAgain (back-pressure toward the client).
constexpr size_t kStreamInputLimit = 64 * 1024;
// What a server may send ahead of our reading it: per stream, and for the whole connection.
constexpr int32_t kStreamWindow = 256 * 1024;
constexpr int32_t kConnectionWindow = 4 << 20;
// Frames gathered before a write.
constexpr size_t kWriteBatch = 16 * 1024;

std::string_view view(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

// RFC 9113 §8.2.2 (and Host, which becomes :authority).
bool connectionSpecific(std::string_view name) {
  return h2ConnectionSpecific(name) || iequals(name, "host");
}

void appendHex(std::string& out, size_t n) {
  char buf[20];
  int len = std::snprintf(buf, sizeof buf, "%zx", n);
  out.append(buf, static_cast<size_t>(len));
}

struct NameValue {
  std::string name;
  std::string value;
};

}  // namespace

class H2UpstreamTransport;

// One request/response exchange on an upstream connection. Owned by the connection; lives until
// both the codec and its transport are done with it.
struct UpStream {
  int32_t id = -1;  // once the request is submitted
  H2UpstreamTransport* transport = nullptr;
  // The request, from the HttpStream's HTTP/1.1 bytes.
  HttpParser request{HttpParser::Kind::Request};
  std::string head;  // the bytes of a head not yet complete
  size_t headParsed = 0;
  bool submitted = false;
  bool requestEnded = false;
  bool headRequest = false;
  H2OutgoingBody body;  // for DATA frames, then the request's trailers
  // The response, as HTTP/1.1 bytes for the HttpStream.
  int status = 0;
  std::string fieldLines;  // "name: value\r\n" of the header block being received
  bool hasContentLength = false;
  bool finalHead = false;  // the final (non-1xx) head was received
  bool chunked = false;
  bool responseEnded = false;
  std::string out;
  size_t outRead = 0;
  size_t unconsumed = 0;  // DATA bytes not yet given back to the server's windows
  // Ends.
  bool closedByCodec = false;
  uint32_t resetCode = 0;  // RST_STREAM (or GOAWAY's refusal) before the response ended
  bool failed = false;     // the connection is gone
  int connectError = 0;    // ... before it was ever up
  bool queued = false;     // in the connection's ready list
  bool erased = false;     // done with; freed once the current dispatch is over

  size_t bodyBuffered() const { return body.buffered(); }
  size_t outAvailable() const { return out.size() - outRead; }
};

// ---- the connection ------------------------------------------------------------------------

class H2UpstreamConnection final : private Transport::Handler {
 public:
  H2UpstreamConnection(H2Upstream& owner, Worker& worker, ServerRuntime& server, std::string sni,
                       TransportPtr transport);
  ~H2UpstreamConnection() override;

  // Takes a new stream: same server and SNI, not closing, room under the server's limit.
  bool accepts(const ServerRuntime& server, std::string_view sni) const;
  UpStream* addStream(H2UpstreamTransport* transport);
  // The transport let go of its stream.
  void detach(UpStream& s, bool clean);
  void schedule(UpStream& s);
  void scheduleFlush();
  bool ready() const { return state_ == State::Ready; }
  bool secure() const { return transport_->secure(); }
  const std::string& failure() const { return failure_; }
  nghttp2_session* session() { return session_.get(); }
  ServerRuntime& server() { return server_; }
  // The request head is complete: HEADERS (and the body, as it comes, in DATA).
  bool submitRequest(UpStream& s);
  void close(int error);

  struct Callbacks;

 private:
  // Handshake: connected, our SETTINGS sent, the server's not yet received. Requests wait for
  // them: before, nghttp2 would assume 100 streams, and a server that allows fewer refuses the
  // rest (REFUSED_STREAM), which a request with a body could not be sent again after.
  enum class State { Connecting, Handshake, Ready, Closed };
  void onServerSettings();
  bool open() const { return state_ == State::Handshake || state_ == State::Ready; }
  void onReadable() override;
  void onWritable() override;
  void onConnected();
  void flush();
  void dispatch();
  void erase(UpStream& s);
  void maybeRetire();
  void updateIdle();

  H2Upstream& owner_;
  Worker& worker_;
  ServerRuntime& server_;
  std::string sni_;
  State state_ = State::Connecting;
  bool draining_ = false;  // GOAWAY received (or sent): no new streams
  std::string failure_;    // why a TLS handshake failed
  TransportPtr transport_;
  IoBufferPtr in_;
  std::string out_;
  size_t outSent_ = 0;
  std::vector<std::unique_ptr<UpStream>> streams_;
  std::vector<UpStream*> ready_;
  // Streams done with, freed after the dispatch (an HttpStream's callback may end its own).
  std::vector<std::unique_ptr<UpStream>> graveyard_;
  bool dispatching_ = false;
  Event flushEv_;
  bool flushScheduled_ = false;
  Timer idleTimer_;
  struct SessionDeleter {
    void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
  };
  std::unique_ptr<nghttp2_session, SessionDeleter> session_;
};

// ---- the transport an HttpStream sees --------------------------------------------------------

class H2UpstreamTransport final : public Transport {
 public:
  explicit H2UpstreamTransport(H2UpstreamConnection& connection) : connection_(&connection) {
    stream_ = connection.addStream(this);
  }
  ~H2UpstreamTransport() override { close(false); }

  void wantRead(bool on) override {
    wantRead_ = on;
    if (on && stream_) connection_->schedule(*stream_);
  }
  void wantWrite(bool on) override {
    wantWrite_ = on;
    if (on && stream_) connection_->schedule(*stream_);
  }

  int connectError() const override { return connectError_; }
  std::string_view failureReason() const override { return failure_; }
  bool secure() const override { return secure_; }
  std::string_view alpnProtocol() const override { return "h2"; }
  bool refusedUnprocessed() const override {
    return stream_ && stream_->resetCode == NGHTTP2_REFUSED_STREAM &&
           stream_->outAvailable() == 0 && !stream_->finalHead;
  }
  bool requestRejected() const override { return rejected_; }

  ssize_t read(IoBuffer& buf) override {
    if (!stream_) return kError;
    UpStream& s = *stream_;
    size_t avail = s.outAvailable();
    if (avail == 0) {
      if (s.responseEnded) return 0;
      if (s.failed || s.closedByCodec) return kError;
      return kAgain;
    }
    size_t n = std::min<size_t>(avail, buf.space());
    std::memcpy(buf.end(), s.out.data() + s.outRead, n);
    buf.produced(n);
    s.outRead += n;
    if (s.outRead == s.out.size()) {
      s.out.clear();
      s.outRead = 0;
    }
    // What was read may go again: the server's windows open by as much (chunk framing makes
    // the bytes read a little more than the DATA; all of it once nothing is left).
    size_t give = s.out.empty() ? s.unconsumed : std::min(s.unconsumed, n);
    if (give && !s.closedByCodec && !s.failed && s.id > 0) {
      nghttp2_session_consume(connection_->session(), s.id, give);
      connection_->scheduleFlush();
    }
    s.unconsumed -= give;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const iovec* iov, int count) override {
    if (!stream_ || stream_->failed || stream_->closedByCodec) return kError;
    UpStream& s = *stream_;
    if (s.submitted && s.bodyBuffered() >= kStreamInputLimit) return kAgain;
    size_t taken = 0;
    for (int i = 0; i < count; ++i) {
      if (!take(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len)) {
        rejectRequest();
        return kError;
      }
      taken += iov[i].iov_len;
    }
    if (s.body.deferred && s.id > 0 && (s.bodyBuffered() > 0 || s.requestEnded)) {
      s.body.deferred = false;
      nghttp2_session_resume_data(connection_->session(), s.id);
    }
    connection_->scheduleFlush();
    return static_cast<ssize_t>(taken);
  }

  void shutdownWrite() override {}  // no tunnels over HTTP/2 streams
  void close(bool clean) override {
    if (!stream_) return;
    UpStream* s = stream_;
    stream_ = nullptr;
    connection_->detach(*s, clean);
  }

  // The connection failed: what the HttpStream asks from now on gets this answer.
  void orphan(int connectError, const std::string& failure) {
    stream_ = nullptr;
    connectError_ = connectError;
    failure_ = failure;
  }

  // Tells the HttpStream what it waits for, if it is there.
  void notify() {
    UpStream* s = stream_;
    if (!s) return;
    if (!announcedConnected_) {
      // The connection came up (or never will): a waiting HttpStream hears it as writable.
      if (!connection_->ready() && !s->failed) return;
      announcedConnected_ = true;
      if (s->failed && s->connectError) {
        UpStream* gone = stream_;
        orphan(s->connectError, connection_->failure());
        connection_->detach(*gone, false);
      }
      if (wantWrite_ && handler_) handler_->onWritable();
      return;
    }
    bool ended = s->failed || s->closedByCodec || s->responseEnded;
    if (wantRead_ && (s->outAvailable() > 0 || ended) && handler_) {
      handler_->onReadable();
      // The HttpStream may have released its server connection, and this transport with it:
      // the stream (kept until the dispatch is over) says whether it is still ours.
      if (s->transport != this) return;
    }
    if (stream_ && wantWrite_ && (s->bodyBuffered() < kStreamInputLimit || ended) && handler_)
      handler_->onWritable();
  }

  static void onBody(void* context, const char* data, size_t length) {
    static_cast<UpStream*>(context)->body.append(data, length);
  }
  static void onTrailer(void* context, std::string_view name, std::string_view value) {
    static_cast<UpStream*>(context)->body.addTrailer(name, value);
  }

 private:
  // Parses request bytes: the head becomes HEADERS, the body (unframed) DATA.
  bool take(const char* data, size_t length) {
    UpStream& s = *stream_;
    if (s.requestEnded) return length == 0;  // one request per stream
    if (s.submitted) return parseBody(data, length);
    // The head's fields are spans into the bytes it came in: they stay together until it is
    // complete.
    s.head.append(data, length);
    const char* base = s.head.data();
    size_t n = 0;
    ParseEvent ev = s.request.execute(base, base + s.headParsed, s.head.size() - s.headParsed, &n);
    s.headParsed += n;
    if (ev == ParseEvent::Error) return false;
    if (ev == ParseEvent::NeedMore) return true;
    if (ev == ParseEvent::MessageComplete) s.requestEnded = true;
    if (!connection_->submitRequest(s)) return false;
    std::string rest = s.head.substr(s.headParsed);
    s.head = std::string();
    s.headParsed = 0;
    return s.requestEnded ? rest.empty() : parseBody(rest.data(), rest.size());
  }

  bool parseBody(const char* data, size_t length) {
    UpStream& s = *stream_;
    do {
      size_t n = 0;
      ParseEvent ev = s.request.execute(data, data, length, &n);
      data += n;
      length -= n;
      if (ev == ParseEvent::Error) return false;
      if (ev == ParseEvent::MessageComplete) {
        s.requestEnded = true;
        return length == 0;
      }
      if (ev == ParseEvent::NeedMore) return true;
    } while (length > 0);
    return true;
  }

  // A request HTTP/2 cannot carry (CONNECT, an Upgrade, a malformed one): the stream ends
  // here, before anything of it reached the server.
  void rejectRequest() {
    UpStream& s = *stream_;
    rejected_ = !s.submitted;
    if (s.id > 0 && !s.closedByCodec && !s.failed) {
      nghttp2_submit_rst_stream(connection_->session(), NGHTTP2_FLAG_NONE, s.id, NGHTTP2_CANCEL);
      connection_->scheduleFlush();
    }
    s.failed = true;
  }

  friend class H2UpstreamConnection;
  H2UpstreamConnection* connection_;
  UpStream* stream_ = nullptr;
  bool secure_ = false;
  bool wantRead_ = false;
  bool wantWrite_ = false;
  bool announcedConnected_ = false;
  bool rejected_ = false;
  int connectError_ = 0;
  std::string failure_;
};

// ---- nghttp2's callbacks -----------------------------------------------------------------------

struct H2UpstreamConnection::Callbacks {
  static H2UpstreamConnection& self(void* user) {
    return *static_cast<H2UpstreamConnection*>(user);
  }
  static UpStream* find(nghttp2_session* session, int32_t id) {
    return static_cast<UpStream*>(nghttp2_session_get_stream_user_data(session, id));
  }

  static int onBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void*) {
    if (UpStream* s = find(session, frame->hd.stream_id)) {
      s->fieldLines.clear();
      s->status = s->finalHead ? s->status : 0;
    }
    return 0;
  }

  static int onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void*) {
    UpStream* s = find(session, frame->hd.stream_id);
    if (!s) return 0;
    std::string_view n = view(name, namelen), v = view(value, valuelen);
    if (!s->finalHead && n == ":status") {
      int status = 0;
      for (char c : v) status = status * 10 + (c - '0');  // nghttp2 checked: 3 digits
      s->status = status;
      return 0;
    }
    if (!n.empty() && n.front() == ':') return 0;
    if (!s->finalHead && n == "content-length") s->hasContentLength = true;
    s->fieldLines.append(n).append(": ").append(v).append("\r\n");
    return 0;
  }

  static int onFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    H2UpstreamConnection& c = self(user);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      c.draining_ = true;  // streams above its last id are refused (closed by nghttp2)
      return 0;
    }
    if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
      c.onServerSettings();
      return 0;
    }
    UpStream* s = find(session, frame->hd.stream_id);
    if (!s) return 0;
    bool endStream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS) {
      if (!s->finalHead) {
        std::string line =
            "HTTP/1.1 " + std::to_string(s->status) + " " + reasonPhrase(s->status) + "\r\n";
        if (s->status >= 100 && s->status < 200) {  // 100 Continue, 103 Early Hints
          s->out.append(line).append(s->fieldLines).append("\r\n");
          s->fieldLines.clear();
          c.schedule(*s);
          return 0;
        }
        s->finalHead = true;
        s->out.append(line).append(s->fieldLines);
        bool bodyless = s->status == 204 || s->status == 304 || s->headRequest;
        if (!bodyless && !s->hasContentLength) {
          if (endStream) {
            s->out.append("content-length: 0\r\n");
          } else {
            // A body of unknown length, maybe followed by trailers: chunked carries both.
            s->chunked = true;
            s->out.append("transfer-encoding: chunked\r\n");
          }
        }
        s->out.append("\r\n");
        s->fieldLines.clear();
      } else if (s->chunked) {  // trailers (grpc-status): the chunked body's trailer section
        s->out.append("0\r\n").append(s->fieldLines).append("\r\n");
        s->fieldLines.clear();
        s->responseEnded = true;
        s->chunked = false;
      }
    }
    if (endStream && !s->responseEnded) {
      if (s->chunked) s->out.append("0\r\n\r\n");
      s->responseEnded = true;
    }
    c.schedule(*s);
    return 0;
  }

  static int onDataChunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data,
                         size_t len, void* user) {
    UpStream* s = find(session, id);
    if (!s || !s->transport) {  // nobody reads it: the windows open at once
      nghttp2_session_consume(session, id, len);
      return 0;
    }
    if (s->chunked) {
      appendHex(s->out, len);
      s->out.append("\r\n").append(view(data, len)).append("\r\n");
    } else {
      s->out.append(view(data, len));
    }
    s->unconsumed += len;
    self(user).schedule(*s);
    return 0;
  }

  static int onStreamClose(nghttp2_session* session, int32_t id, uint32_t error, void* user) {
    H2UpstreamConnection& c = self(user);
    UpStream* s = find(session, id);
    if (!s) return 0;
    s->closedByCodec = true;
    if (!s->responseEnded) s->resetCode = error ? error : uint32_t{NGHTTP2_INTERNAL_ERROR};
    nghttp2_session_set_stream_user_data(session, id, nullptr);
    if (!s->transport) {
      c.erase(*s);
    } else {
      c.schedule(*s);
    }
    return 0;
  }

  // Request bodies: what the HttpStream wrote, unframed.
  static ssize_t readBody(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source* source, void* user) {
    UpStream& s = *static_cast<UpStream*>(source->ptr);
    ssize_t n = s.body.read(session, id, buf, length, flags, s.requestEnded);
    if (n == NGHTTP2_ERR_DEFERRED) return n;
    if (s.transport) self(user).schedule(s);  // room again for an HttpStream waiting to write
    return static_cast<ssize_t>(n);
  }
};

H2UpstreamConnection::H2UpstreamConnection(H2Upstream& owner, Worker& worker, ServerRuntime& server,
                                           std::string sni, TransportPtr transport)
    : owner_(owner),
      worker_(worker),
      server_(server),
      sni_(std::move(sni)),
      transport_(std::move(transport)) {
  transport_->setHandler(this);
  transport_->wantWrite(true);  // writable = connected (or failed: connectError() tells)
  flushEv_.assign(worker_.base(), -1, 0, [this](short) {
    flushScheduled_ = false;
    dispatch();
    if (open()) flush();
    maybeRetire();
  });
  idleTimer_.assign(worker_.base(), [this] {
    if (!streams_.empty() || state_ != State::Ready) return;
    // Idle too long: GOAWAY(NO_ERROR), then the connection closes.
    draining_ = true;
    nghttp2_session_terminate_session(session_.get(), NGHTTP2_NO_ERROR);
    flush();
    if (state_ != State::Closed) close(0);
    maybeRetire();
  });
}

H2UpstreamConnection::~H2UpstreamConnection() {
  for (auto& s : streams_)
    if (s->transport) s->transport->orphan(ECONNRESET, failure_);
  if (state_ != State::Closed) transport_->close(false);
  worker_.buffers().release(in_);
}

bool H2UpstreamConnection::accepts(const ServerRuntime& server, std::string_view sni) const {
  if (&server != &server_ || sni != sni_ || draining_ || state_ == State::Closed) return false;
  uint32_t limit = 100;  // until the server's SETTINGS say otherwise
  if (session_)
    limit = nghttp2_session_get_remote_settings(session_.get(),
                                                NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return streams_.size() < limit;
}

UpStream* H2UpstreamConnection::addStream(H2UpstreamTransport* transport) {
  auto s = std::make_unique<UpStream>();
  s->transport = transport;
  s->request.setBodySink(&H2UpstreamTransport::onBody, s.get());
  s->request.setTrailerSink(&H2UpstreamTransport::onTrailer, s.get());
  transport->secure_ = transport_->secure();
  UpStream* raw = s.get();
  streams_.push_back(std::move(s));
  idleTimer_.cancel();
  if (state_ == State::Ready) schedule(*raw);  // connected already: writable at once
  return raw;
}

bool H2UpstreamConnection::submitRequest(UpStream& s) {
  if (state_ != State::Ready) return false;
  const MessageHead& h = s.request.head();
  const char* base = s.head.data();
  // HTTP/2 has no tunnels and no protocol switch on a stream (RFC 9113 §8.5, §8.6).
  if (h.isConnect || h.connectionUpgrade) return false;
  std::string method(h.method.in(base));
  std::string target(h.url.in(base));
  std::string authority, path = target;
  if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) {  // absolute-form
    size_t start = target.find("//") + 2;
    size_t slash = target.find('/', start);
    authority =
        target.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    path = slash == std::string::npos ? "/" : target.substr(slash);
  }
  std::vector<NameValue> fields;
  fields.reserve(h.headers.size() + 4);
  for (const auto& f : h.headers) {
    std::string_view name = f.name.in(base), value = f.value.in(base);
    if (iequals(name, "host")) {
      if (authority.empty()) authority = value;
      continue;
    }
    // (Fields the client's Connection named are gone already: HttpTransaction drops them.)
    if (connectionSpecific(name)) continue;
    // RFC 9113 §8.2.2: TE only as "trailers" (what gRPC sends).
    if (iequals(name, "te")) {
      if (asciiLowercase(value).find("trailers") != std::string::npos)
        fields.push_back({"te", "trailers"});
      continue;
    }
    fields.push_back({asciiLowercase(name), std::string(value)});
  }
  if (authority.empty()) {  // HTTP/1.0 without Host: the server's own address
    IpAddress a = peerAddress(server_.address);
    std::string ip = a.toString();
    authority = (a.family == AF_INET6 ? "[" + ip + "]" : ip) + ":" +
                std::to_string(peerPort(server_.address));
  }
  std::string scheme = transport_->secure() ? "https" : "http";
  std::vector<NameValue> pseudo = {
      {":method", method}, {":scheme", scheme}, {":authority", authority}, {":path", path}};
  std::vector<nghttp2_nv> nva;
  nva.reserve(pseudo.size() + fields.size());
  for (const auto& p : pseudo) nva.push_back(h2Field(p.name, p.value));
  for (const auto& f : fields) nva.push_back(h2Field(f.name, f.value));
  s.headRequest = h.isHead;
  bool hasBody = h.chunked || (h.hasContentLength && h.contentLength > 0);
  nghttp2_data_provider provider{};
  provider.source.ptr = &s;
  provider.read_callback = &Callbacks::readBody;
  int32_t id = nghttp2_submit_request(session_.get(), nullptr, nva.data(), nva.size(),
                                      hasBody ? &provider : nullptr, &s);
  if (id < 0) return false;
  s.id = id;
  s.submitted = true;
  if (!hasBody) s.requestEnded = true;
  scheduleFlush();
  return true;
}

void H2UpstreamConnection::schedule(UpStream& s) {
  if (!s.queued) {
    s.queued = true;
    ready_.push_back(&s);
  }
  scheduleFlush();
}

void H2UpstreamConnection::scheduleFlush() {
  if (flushScheduled_) return;
  flushScheduled_ = true;
  flushEv_.activate();
}

void H2UpstreamConnection::dispatch() {
  if (dispatching_) return;
  dispatching_ = true;
  // A stream's HttpStream may end its own or other streams while it is told: each is looked up
  // again before it is told.
  while (!ready_.empty()) {
    UpStream* s = ready_.front();
    ready_.erase(ready_.begin());
    s->queued = false;
    if (!s->erased && s->transport) s->transport->notify();
  }
  dispatching_ = false;
  graveyard_.clear();
}

void H2UpstreamConnection::detach(UpStream& s, bool clean) {
  s.transport = nullptr;
  bool open = s.id > 0 && !s.closedByCodec && !s.failed && session_;
  if (!open) return erase(s);
  // Given up before the exchange ended: the server stops working on it (RFC 9113 §8.7).
  if (!clean || !s.responseEnded || !s.requestEnded)
    nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, s.id, NGHTTP2_CANCEL);
  if (s.unconsumed) nghttp2_session_consume(session_.get(), s.id, s.unconsumed);
  s.unconsumed = 0;
  scheduleFlush();  // erased when nghttp2 closes it
}

void H2UpstreamConnection::erase(UpStream& s) {
  if (s.queued) {
    ready_.erase(std::find(ready_.begin(), ready_.end(), &s));
    s.queued = false;
  }
  auto it = std::find_if(streams_.begin(), streams_.end(),
                         [&](const std::unique_ptr<UpStream>& p) { return p.get() == &s; });
  if (it == streams_.end()) return;
  s.erased = true;
  graveyard_.push_back(std::move(*it));
  streams_.erase(it);
  updateIdle();
  scheduleFlush();  // maybeRetire
}

void H2UpstreamConnection::updateIdle() {
  if (streams_.empty() && state_ == State::Ready && !draining_)
    idleTimer_.arm(worker_.idleServerTimeout());
}

void H2UpstreamConnection::onWritable() {
  if (state_ == State::Connecting) {
    if (int error = transport_->connectError()) {
      failure_ = std::string(transport_->failureReason());
      return close(error);
    }
    onConnected();
  }
  flush();
  maybeRetire();
}

void H2UpstreamConnection::onConnected() {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &Callbacks::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &Callbacks::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Callbacks::onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &Callbacks::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &Callbacks::onStreamClose);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Response bodies go back to the server's windows only as the HttpStream reads them.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_session* raw = nullptr;
  int rv = nghttp2_session_client_new2(&raw, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return close(ENOMEM);
  session_.reset(raw);
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                       {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow}};
  nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, settings, 2);
  nghttp2_session_set_local_window_size(session_.get(), NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  state_ = State::Handshake;
  transport_->wantRead(true);
}

void H2UpstreamConnection::onServerSettings() {
  if (state_ != State::Handshake) return;
  state_ = State::Ready;
  for (auto& s : streams_) schedule(*s);  // their HttpStreams wait to hear "connected"
  updateIdle();
}

void H2UpstreamConnection::onReadable() {
  if (!open()) return;
  if (!in_) in_ = worker_.buffers().acquire();
  for (int round = 0; round < 8 && open(); ++round) {
    in_->head = in_->tail = 0;
    ssize_t n = transport_->read(*in_);
    if (n == Transport::kAgain) break;
    if (n <= 0) {
      close(ECONNRESET);
      break;
    }
    ssize_t used = nghttp2_session_mem_recv(
        session_.get(), reinterpret_cast<const uint8_t*>(in_->bytes), static_cast<size_t>(n));
    if (used < 0) {
      logging::get(logging::Component::Proxy)
          .warn("server {}: HTTP/2 error from the server: {}", server_.config->name,
                nghttp2_strerror(static_cast<int>(used)));
      nghttp2_session_terminate_session(session_.get(), NGHTTP2_PROTOCOL_ERROR);
      flush();
      close(EPROTO);
      break;
    }
  }
  worker_.buffers().release(in_);
  if (open()) flush();
  maybeRetire();
}

void H2UpstreamConnection::flush() {
  if (!open() || !session_) return;
  for (;;) {
    while (out_.size() - outSent_ < kWriteBatch) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
      if (n < 0) return close(EPROTO);
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (outSent_ == out_.size()) break;
    iovec iov{out_.data() + outSent_, out_.size() - outSent_};
    ssize_t n = transport_->write(&iov, 1);
    if (n == Transport::kAgain) break;
    if (n < 0) return close(ECONNRESET);
    outSent_ += static_cast<size_t>(n);
    if (outSent_ == out_.size()) {
      out_.clear();
      outSent_ = 0;
    }
  }
  transport_->wantWrite(outSent_ < out_.size());
  if (out_.empty() && !nghttp2_session_want_read(session_.get()) &&
      !nghttp2_session_want_write(session_.get()))
    close(0);  // GOAWAY both ways, nothing left
  dispatch();
}

void H2UpstreamConnection::close(int error) {
  if (state_ == State::Closed) return;
  bool wasConnecting = state_ == State::Connecting || state_ == State::Handshake;
  state_ = State::Closed;
  draining_ = true;
  idleTimer_.cancel();
  transport_->close(error == 0);
  for (auto& s : streams_) {
    if (s->responseEnded && s->requestEnded) continue;
    s->failed = true;
    if (wasConnecting) s->connectError = error ? error : ECONNRESET;
    schedule(*s);
  }
  // Streams without a transport are done with; the rest go when their HttpStreams let go.
  for (size_t i = streams_.size(); i-- > 0;)
    if (!streams_[i]->transport) erase(*streams_[i]);
}

void H2UpstreamConnection::maybeRetire() {
  if (state_ != State::Closed || !streams_.empty() || dispatching_) return;
  owner_.retire(this);
}

// ---- the pool ---------------------------------------------------------------------------------

H2Upstream::H2Upstream(Worker& worker) : worker_(worker) {
  reapEv_.assign(worker_.base(), -1, 0, [this](short) { retired_.clear(); });
}

H2Upstream::~H2Upstream() {
  closeAll();
  retired_.clear();
}

TransportPtr H2Upstream::openStream(ServerRuntime& server, std::string_view sni, int* error) {
  for (auto& c : connections_)
    if (c->accepts(server, sni)) return std::make_unique<H2UpstreamTransport>(*c);
  std::string preface;  // send_proxy is refused with proto: h2 (one header, many clients)
  TransportPtr t = worker_.connectTo(server, {sni, &preface}, error);
  if (!t) return nullptr;
  connections_.push_back(std::make_unique<H2UpstreamConnection>(*this, worker_, server,
                                                                std::string(sni), std::move(t)));
  return std::make_unique<H2UpstreamTransport>(*connections_.back());
}

void H2Upstream::retire(H2UpstreamConnection* connection) {
  auto it = std::find_if(connections_.begin(), connections_.end(),
                         [&](const auto& p) { return p.get() == connection; });
  if (it == connections_.end()) return;
  retired_.push_back(std::move(*it));
  connections_.erase(it);
  reapEv_.activate();
}

void H2Upstream::closeAll() {
  for (auto& c : connections_) c->close(ECONNRESET);
  for (auto& c : connections_) retired_.push_back(std::move(c));
  connections_.clear();
}

}  // namespace tandem::proxy
