#include "proxy/http_stream.h"

#include "proxy/stats_page.h"

#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "proxy/socket_util.h"
#include "proxy/worker.h"

namespace tandem::proxy {
namespace {

bool isHopByHop(std::string_view name) {
  return iequals(name, "connection") || iequals(name, "keep-alive") ||
         iequals(name, "proxy-connection") || iequals(name, "upgrade") || iequals(name, "te") ||
         iequals(name, "trailer");
}

// RFC 9110 §9.2.2: safe to send again when no response was received.
bool idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" || m == "TRACE";
}

std::string_view pathOf(std::string_view url) {
  if (!url.empty() && url.front() != '/') {
    size_t scheme = url.find("://");  // absolute-form: skip scheme://authority
    if (scheme != std::string_view::npos) {
      size_t slash = url.find('/', scheme + 3);
      url = slash == std::string_view::npos ? std::string_view("/") : url.substr(slash);
    }
  }
  return url.substr(0, url.find('?'));
}

const char* redirectReason(int code) {
  switch (code) {
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    default:
      return "Redirect";
  }
}

// Header rules apply in order: a set replaces every earlier field of its name (from the message
// or an earlier rule, of the frontend or the backend), a del removes them, an add appends one.
// So a field of the message survives unless some set/del names it ...
template <class Rule>
bool replacedByRule(std::string_view name, const std::vector<const Rule*>& edits) {
  for (const Rule* r : edits)
    if (r->action != Rule::Action::AddHeader && iequals(r->name, name)) return true;
  return false;
}

// ... and a field a rule writes survives unless a later set/del names it.
template <class Rule>
void appendRuleHeaders(std::string& o, const std::vector<const Rule*>& edits) {
  for (size_t i = 0; i < edits.size(); ++i) {
    const Rule& r = *edits[i];
    if (r.action == Rule::Action::DelHeader) continue;
    bool replacedLater = false;
    for (size_t j = i + 1; j < edits.size() && !replacedLater; ++j)
      replacedLater =
          edits[j]->action != Rule::Action::AddHeader && iequals(edits[j]->name, r.name);
    if (!replacedLater) o.append(r.name).append(": ").append(r.value).append("\r\n");
  }
}

}  // namespace

// What ACLs see of the request being routed.
class HttpStream::View final : public RequestView {
 public:
  View(const HttpStream& s, const MessageHead& h, const char* base) : s_(s), h_(h), base_(base) {
    for (const auto& f : h_.headers)
      if (iequals(f.name.in(base_), "host")) {
        host_ = f.value.in(base_);
        // Strip the port; keep IPv6 literals whole ("[::1]:80").
        size_t colon = host_.rfind(':');
        if (colon != std::string_view::npos && host_.find(']') == std::string_view::npos)
          host_ = host_.substr(0, colon);
        else if (!host_.empty() && host_.front() == '[' && colon != std::string_view::npos &&
                 colon > host_.find(']'))
          host_ = host_.substr(0, colon);
        break;
      }
    path_ = pathOf(h_.url.in(base_));
  }
  std::string_view method() const override { return h_.method.in(base_); }
  std::string_view path() const override { return path_; }
  std::string_view host() const override { return host_; }
  bool anyHeader(std::string_view name,
                 const std::function<bool(std::string_view)>& f) const override {
    for (const auto& hf : h_.headers)
      if (iequals(hf.name.in(base_), name) && f(hf.value.in(base_))) return true;
    return false;
  }
  const IpAddress& clientAddress() const override { return s_.client_; }
  bool tls() const override { return s_.tls(); }

 private:
  const HttpStream& s_;
  const MessageHead& h_;
  const char* base_;
  std::string_view host_;
  std::string_view path_;
};

// What a built-in frontend needs of a request head, copied so that it outlives the input buffer
// while the form body arrives.
struct HttpStream::PendingBuiltin {
  std::string method, target, authorization, host, origin, referer, secFetchSite;
  bool head = false;
  size_t bodyLength = 0;
};

HttpStream::HttpStream(Worker& worker, FrontendRuntime& frontend, UniqueFd fd,
                       const sockaddr_storage& peer, const TlsContext* tls)
    : Session(worker, frontend, std::move(fd), peer, tls) {}

HttpStream::~HttpStream() = default;

void HttpStream::start() {
  if (dead()) return;  // TLS set-up failed
  armTimer(frontend_.config->timeouts.httpRequest);
  wantClientRead(true);
}

void HttpStream::stopWhenIdle(bool closeIdle) {
  stopRequested_ = true;
  closeIdleOnStop_ = closeIdle;
  clientKeepAlive_ = false;
  if (closeIdle && phase_ == Phase::WaitRequest) close();
}

// ---- client side ---------------------------------------------------------------------------

void HttpStream::consumeClient(size_t n) {
  in_->consume(n);
  if (in_->empty()) parsed_ = fwdEnd_ = 0;
}

void HttpStream::onClientReadable() {
  if (!in_) in_ = worker_.buffers().acquire();
  if (in_->space() == 0) {
    if (phase_ != Phase::ReadHead && phase_ != Phase::WaitRequest && in_->head > 0) {
      uint32_t shift = in_->head;
      in_->compact();
      parsed_ -= shift;
      fwdEnd_ -= shift;
    } else {
      wantClientRead(false);
      return;
    }
  }
  ssize_t n = readClient(*in_);
  if (n == Transport::kAgain) return;
  if (n == Transport::kError) return abort();
  if (n == 0) {
    clientEof_ = true;
    wantClientRead(false);
    switch (phase_) {
      case Phase::WaitRequest:
      case Phase::ReadHead:
      case Phase::ReadBuiltinBody:
      case Phase::LocalResponse:
        return close();
      case Phase::Tunnel:
        if (flushToServer() && serverConn_ && !serverConn_->shutWrite) {
          serverConn_->transport().shutdownWrite();
          serverConn_->shutWrite = true;
        }
        if (serverConn_ && serverConn_->eof && clientShut_) close();
        return;
      default:
        // Half-closed after a complete request: still deliver the response, then close.
        if (!requestDone_) return abort();
        clientKeepAlive_ = false;
        return;
    }
  }
  if (phase_ == Phase::Tunnel) {
    fwdEnd_ = parsed_ = in_->tail;
    flushToServer();
    armTimer(backend_->config->timeouts.tunnel);
    return updateInterest();
  }
  processClientInput();
}

void HttpStream::processClientInput() {
  bool headJustParsed = false;
  while (!dead()) {
    if (phase_ == Phase::WaitRequest || phase_ == Phase::ReadHead) {
      if (!in_ || parsed_ == in_->tail) break;
      if (phase_ == Phase::WaitRequest) {
        phase_ = Phase::ReadHead;
        if (!request_) request_ = worker_.acquireRequestParser();
        armTimer(frontend_.config->timeouts.httpRequest);
      }
      size_t n = 0;
      ParseEvent ev = request_->execute(in_->bytes, in_->bytes + parsed_, in_->tail - parsed_, &n);
      parsed_ += static_cast<uint32_t>(n);
      if (ev == ParseEvent::Error) return sendLocal(400);
      if (ev == ParseEvent::NeedMore) {
        if (in_->space() == 0) return sendLocal(431);  // head larger than a buffer
        break;
      }
      onRequestHead();
      headJustParsed = true;
    } else if (phase_ == Phase::ReadBuiltinBody) {
      size_t have = in_ ? in_->tail - in_->head : 0;
      if (have < builtin_->bodyLength) break;
      return answerBuiltin(std::string_view(in_->bytes + in_->head, builtin_->bodyLength));
    } else if ((phase_ == Phase::Connect || phase_ == Phase::Exchange) && !requestDone_) {
      if (!in_ || (parsed_ == in_->tail && !headJustParsed)) break;
      headJustParsed = false;
      size_t n = 0;
      ParseEvent ev = request_->execute(in_->bytes, in_->bytes + parsed_, in_->tail - parsed_, &n);
      parsed_ += static_cast<uint32_t>(n);
      fwdEnd_ = parsed_;
      if (ev == ParseEvent::Error) {
        // Bad chunk framing mid-body: the connection cannot be trusted any more.
        if (!respHeadDone_ && respHeadSent_ == 0) return sendLocal(400);
        return abort();
      }
      if (ev == ParseEvent::MessageComplete) requestDone_ = true;
      if (ev == ParseEvent::NeedMore) break;
    } else {
      break;
    }
  }
  if (dead()) return;
  if (phase_ == Phase::Exchange) flushToServer();
  if (!dead()) updateInterest();
}

void HttpStream::onRequestHead() {
  const MessageHead& h = request_->head();
  const char* base = in_->bytes;
  const FrontendRuntime& fe = frontend_;
  ++requests_;
  clientHttp10_ = h.versionMinor == 0;
  clientKeepAlive_ = request_->keepAlive() && !stopRequested_ && !worker_.stopping();
  if (h.isConnect) return sendLocal(400);
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (at most one in 1.0), else 400.
  int hosts = 0;
  bool hasUpgradeHeader = false;
  for (const auto& f : h.headers) {
    if (iequals(f.name.in(base), "host")) ++hosts;
    if (iequals(f.name.in(base), "upgrade")) hasUpgradeHeader = true;
  }
  if (hosts > 1 || (!clientHttp10_ && hosts == 0)) return sendLocal(400);
  upgrade_ = h.connectionUpgrade && hasUpgradeHeader;
  if (fe.config->builtin != Frontend::Builtin::None) return startBuiltin(h, base);

  View view(*this, h, base);
  reqEdits_.clear();
  respEdits_.clear();
  if (!runRequestRules(fe.rules, view, &fe.rateLimiters, h, base)) return;
  BackendRuntime* be = fe.defaultBackend;
  for (const auto& route : fe.routes)
    if (route.when.eval(fe.rules.acls, view)) {
      be = route.backend;
      break;
    }
  if (!be) return sendLocal(503);
  backend_ = be;
  if (!runRequestRules(be->rules, view, nullptr, h, base)) return;
  // Response rules are decided now, while the request head is at hand: the backend's first.
  for (const HttpRules* rules : {static_cast<const HttpRules*>(&be->rules), &fe.rules})
    for (const auto& rule : rules->response)
      if (rule.when.eval(rules->acls, view)) respEdits_.push_back(rule.config);

  buildServerHead(h, base);
  if (be->config->balance.algorithm == Balance::Algorithm::Uri)
    hashKey_ =
        be->config->balance.uriWhole ? std::string(h.url.in(base)) : std::string(view.path());
  replayable_ = !h.chunked && h.contentLength == 0 && idempotent(h.method.in(base));
  noBodyResponse_ = h.isHead;

  // The original head is done with: skip it; what follows is body (or the next request).
  in_->head = parsed_;
  fwdEnd_ = parsed_;
  if (in_->empty()) in_->head = in_->tail = parsed_ = fwdEnd_ = 0;
  requestDone_ = false;
  respHeadDone_ = respDone_ = respInterim_ = false;
  respHead_.clear();
  respHeadSent_ = reqHeadSent_ = 0;
  attempts_ = 0;
  lastFailed_ = nullptr;
  giveUpStatus_ = 503;
  phase_ = Phase::Connect;
  startConnect();
}

bool HttpStream::runRequestRules(
    const HttpRules& rules, const RequestView& view,
    const std::map<std::string, std::unique_ptr<RateLimiter>>* limiters, const MessageHead& h,
    const char* base) {
  for (const RequestRule& rule : rules.request) {
    if (!rule.when.eval(rules.acls, view)) continue;
    const HttpRequestRule& r = *rule.config;
    switch (r.action) {
      case HttpRequestRule::Action::Deny:
        sendLocal(r.status);
        return false;
      case HttpRequestRule::Action::Redirect: {
        std::string location;
        std::string url(h.url.in(base));
        if (!r.redirectScheme.empty())
          location = r.redirectScheme + "://" + std::string(view.host()) + url;
        else if (!r.redirectPrefix.empty())
          location = r.redirectPrefix + url;
        else
          location = r.redirectLocation;
        sendLocalRaw("HTTP/1.1 " + std::to_string(r.status) + " " + redirectReason(r.status) +
                     "\r\ncontent-length: 0\r\nlocation: " + location +
                     "\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n");
        return false;
      }
      case HttpRequestRule::Action::Return: {
        std::string reply = "HTTP/1.1 " + std::to_string(r.status) + " " +
                            std::string(reasonPhrase(r.status)) +
                            "\r\ncontent-type: " + r.contentType +
                            "\r\ncontent-length: " + std::to_string(r.body.size()) +
                            "\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
        if (!h.isHead) reply += r.body;
        sendLocalRaw(std::move(reply));
        return false;
      }
      case HttpRequestRule::Action::Track: {
        if (!limiters) break;  // tables exist in frontends only (the loader says so)
        auto it = limiters->find(r.table);
        if (it == limiters->end()) break;
        int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
        if (it->second->hit(client_, now)) {
          sendLocal(it->second->table().status);
          return false;
        }
        break;
      }
      case HttpRequestRule::Action::SetHeader:
      case HttpRequestRule::Action::AddHeader:
      case HttpRequestRule::Action::DelHeader:
        reqEdits_.push_back(&r);
        break;
    }
  }
  return true;
}

void HttpStream::startBuiltin(const MessageHead& h, const char* base) {
  builtin_ = std::make_unique<PendingBuiltin>();
  PendingBuiltin& p = *builtin_;
  p.method = h.method.in(base);
  p.target = h.url.in(base);
  p.head = h.isHead;
  for (const auto& f : h.headers) {
    std::string_view name = f.name.in(base);
    std::string_view value = f.value.in(base);
    if (iequals(name, "authorization"))
      p.authorization = value;
    else if (iequals(name, "host"))
      p.host = value;
    else if (iequals(name, "origin"))
      p.origin = value;
    else if (iequals(name, "referer"))
      p.referer = value;
    else if (iequals(name, "sec-fetch-site"))
      p.secFetchSite = value;
  }
  if (h.chunked || h.contentLength > kBuiltinBodyLimit) {
    clientKeepAlive_ = false;
    return sendLocalRaw(builtinBodyRefused(h.chunked));
  }
  if (h.contentLength == 0) return answerBuiltin({});
  p.bodyLength = h.contentLength;
  in_->head = parsed_;  // the head is copied; keep only the body
  fwdEnd_ = parsed_;
  phase_ = Phase::ReadBuiltinBody;
}

void HttpStream::answerBuiltin(std::string_view body) {
  const PendingBuiltin& p = *builtin_;
  BuiltinRequest req{p.method, p.target,  p.authorization, client_, p.host,
                     p.origin, p.referer, p.secFetchSite,  body,    {}};
  Worker& worker = worker_;
  req.setState = [&worker](const std::string& b, const std::string& s, health::AdminState a) {
    return worker.requestAdminState(b, s, a, "set from the stats page");
  };
  std::string reply = builtinResponse(worker_.runtime(), *frontend_.config, req);
  if (p.head) reply.resize(reply.find("\r\n\r\n") + 4);
  builtin_.reset();
  sendLocalRaw(std::move(reply));
}

void HttpStream::buildServerHead(const MessageHead& h, const char* base) {
  std::string& o = reqHead_;
  o.clear();
  o.append(h.method.in(base)).append(" ").append(h.url.in(base));
  o.append(clientHttp10_ ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  bool forwardfor = backend_->config->forwardfor;
  for (const auto& f : h.headers) {
    std::string_view name = f.name.in(base);
    if (isHopByHop(name) && !(upgrade_ && iequals(name, "upgrade"))) continue;
    if (forwardfor && iequals(name, "x-forwarded-proto")) continue;
    if (!reqEdits_.empty() && replacedByRule(name, reqEdits_)) continue;
    o.append(name).append(": ").append(f.value.in(base)).append("\r\n");
  }
  // Each side's connection is managed on its own: the server connection stays open for reuse.
  if (upgrade_)
    o.append("connection: upgrade\r\n");
  else if (clientHttp10_)
    o.append("connection: keep-alive\r\n");
  appendRuleHeaders(o, reqEdits_);
  if (forwardfor) {
    o.append("x-forwarded-for: ").append(client_.toString()).append("\r\n");
    o.append("x-forwarded-proto: ").append(tls() ? "https" : "http").append("\r\n");
  }
  o.append("\r\n");
}

// ---- server side ---------------------------------------------------------------------------

void HttpStream::onServerConnected() {
  phase_ = Phase::Exchange;
  ServerConnection& sc = *serverConn_;
  sc.connected = true;
  sc.response.reset();
  sc.response.expectNoBody(noBodyResponse_);
  respParsed_ = respFwdEnd_ = 0;
  if (sc.in && !sc.in->empty()) {  // never reuse a connection with stray bytes
    releaseServer(false);
    return serverFailed(true);
  }
  sc.wantRead(true);
  armTimer(backend_->config->timeouts.server);
  flushToServer();
  if (!dead()) processClientInput();  // the body may already be waiting
}

void HttpStream::serverFailed(bool connectFailure) {
  reqHeadSent_ = 0;
  // A pooled connection the server had closed: resend on a fresh one when that is safe.
  if (serverConn_ && serverConn_->reused && replayable_ && attempts_ <= 8) {
    releaseServer(false);
    --attempts_;
    lastFailed_ = nullptr;
    return startConnect();
  }
  bool bodyStarted = !replayable_ && !connectFailure;
  giveUpStatus_ = connectFailure ? 503 : 502;
  if (bodyStarted) {
    releaseServer(false);
    return onGiveUp();
  }
  retryOrGiveUp();
}

void HttpStream::onServerWritable() {
  ServerConnection& sc = *serverConn_;
  if (!sc.connected) {
    sc.wantWrite(false);
    if (socketError(sc.fd()) != 0) return serverFailed(true);
    return onServerConnected();
  }
  flushToServer();
  if (!dead()) updateInterest();
}

void HttpStream::onServerReadable() {
  ServerConnection& sc = *serverConn_;
  if (!sc.in) sc.in = worker_.buffers().acquire();
  if (sc.in->space() == 0) {
    if (sc.in->head == 0) return sc.wantRead(false);
    uint32_t shift = sc.in->head;
    sc.in->compact();
    respParsed_ -= shift;
    respFwdEnd_ -= shift;
  }
  ssize_t n = sc.transport().read(*sc.in);
  if (n == Transport::kAgain) return;
  if (respDone_) {
    // After a complete response: a close is fine; anything else makes the connection unusable.
    sc.eof = true;
    sc.wantRead(false);
    return;
  }
  if (n <= 0) {
    sc.eof = true;
    sc.wantRead(false);
    if (phase_ == Phase::Tunnel) {
      if (flushToClient() && !clientShut_) {
        shutdownClient();
        clientShut_ = true;
      }
      if (clientEof_ && clientShut_) close();
      return;
    }
    if (!respHeadDone_ && respParsed_ == 0 && sc.in->empty() && respHead_.empty())
      return serverFailed(false);  // closed before answering (idle pool race) or reset
    if (!respHeadDone_) return sendLocal(502);
    if (n == 0 && sc.response.bodyDelimitedByEof() &&
        sc.response.finish() == ParseEvent::MessageComplete) {
      respDone_ = true;
      if (flushToClient()) finishTransaction();
      return;
    }
    return abort();  // truncated body: the client must see the connection end
  }
  if (phase_ == Phase::Tunnel) {
    respFwdEnd_ = respParsed_ = sc.in->tail;
    flushToClient();
    armTimer(backend_->config->timeouts.tunnel);
    return updateInterest();
  }
  armTimer(backend_->config->timeouts.server);
  processServerInput();
}

void HttpStream::processServerInput() {
  ServerConnection& sc = *serverConn_;
  bool zeroLengthPass = false;
  while (!dead() && sc.in && (respParsed_ < sc.in->tail || zeroLengthPass) && !respDone_) {
    zeroLengthPass = false;
    size_t n = 0;
    ParseEvent ev = sc.response.execute(sc.in->bytes, sc.in->bytes + respParsed_,
                                        sc.in->tail - respParsed_, &n);
    respParsed_ += static_cast<uint32_t>(n);
    if (ev == ParseEvent::Error) {
      if (!respHeadDone_ && respHeadSent_ == 0) return sendLocal(502);
      return abort();
    }
    if (!respHeadDone_) {
      if (ev == ParseEvent::NeedMore) {
        if (sc.in->space() == 0 && sc.in->head == 0) return sendLocal(502);  // head too large
        break;
      }
      if (respInterim_ && ev == ParseEvent::MessageComplete) {
        respInterim_ = false;  // end of a 1xx; the final response follows
        continue;
      }
      int status = sc.response.head().status;
      if (ev == ParseEvent::HeadComplete && status >= 100 && status < 200 && status != 101) {
        // Interim response (100 Continue, 103 Early Hints): forward it as received.
        respHead_.append(sc.in->bytes + sc.in->head, respParsed_ - sc.in->head);
        sc.in->head = respParsed_;
        respFwdEnd_ = respParsed_;
        respInterim_ = true;
        zeroLengthPass = true;
        continue;
      }
      onResponseHead(respParsed_);
      if (ev == ParseEvent::MessageComplete) respDone_ = true;
      if (status == 101 && upgrade_) {
        phase_ = Phase::Tunnel;
        respFwdEnd_ = respParsed_ = sc.in->tail;
        fwdEnd_ = parsed_ = in_ ? in_->tail : 0;
        armTimer(backend_->config->timeouts.tunnel);
        break;
      }
      zeroLengthPass = true;  // a bodiless response (204/304) completes without more input
    } else {
      respFwdEnd_ = respParsed_;
      if (ev == ParseEvent::MessageComplete) respDone_ = true;
      if (ev == ParseEvent::NeedMore) break;
    }
  }
  if (dead()) return;
  bool flushed = flushToClient();
  if (dead()) return;
  if (phase_ == Phase::Tunnel) {
    flushToServer();
    if (!dead()) updateInterest();
    return;
  }
  if (respDone_ && flushed) return finishTransaction();
  updateInterest();
}

void HttpStream::onResponseHead(size_t headEnd) {
  ServerConnection& sc = *serverConn_;
  const MessageHead& h = sc.response.head();
  const char* base = sc.in->bytes;
  bool switching = h.status == 101 && upgrade_;
  if (sc.response.bodyDelimitedByEof()) clientKeepAlive_ = false;  // only close can end it
  if (!requestDone_ && !switching) clientKeepAlive_ = false;       // answered early
  std::string& o = respHead_;
  o.append("HTTP/1.1 ").append(std::to_string(h.status)).append(" ");
  o.append(h.reason.in(base)).append("\r\n");
  for (const auto& f : h.headers) {
    std::string_view name = f.name.in(base);
    if (isHopByHop(name) && !(switching && iequals(name, "upgrade"))) continue;
    if (!respEdits_.empty() && replacedByRule(name, respEdits_)) continue;
    o.append(name).append(": ").append(f.value.in(base)).append("\r\n");
  }
  keepAlivePromised_ = !switching && clientKeepAlive_;
  if (switching)
    o.append("connection: upgrade\r\n");
  else if (!clientKeepAlive_)
    o.append("connection: close\r\n");
  else if (clientHttp10_)
    o.append("connection: keep-alive\r\n");
  appendRuleHeaders(o, respEdits_);
  o.append("\r\n");
  sc.in->head = static_cast<uint32_t>(headEnd);
  respFwdEnd_ = static_cast<uint32_t>(headEnd);
  respHeadDone_ = true;
}

// ---- moving bytes --------------------------------------------------------------------------

bool HttpStream::flushToServer() {
  if (!serverConn_ || !serverConn_->connected) return false;
  ServerConnection& sc = *serverConn_;
  iovec iov[2];
  int cnt = 0;
  size_t headLeft = reqHead_.size() - reqHeadSent_;
  if (headLeft) iov[cnt++] = {reqHead_.data() + reqHeadSent_, headLeft};
  size_t bodyLeft = in_ && fwdEnd_ > in_->head ? fwdEnd_ - in_->head : 0;
  if (bodyLeft) iov[cnt++] = {in_->begin(), bodyLeft};
  if (cnt == 0) {
    sc.wantWrite(false);
    return true;
  }
  ssize_t n = sc.transport().write(iov, cnt);
  if (n < 0) {
    if (n == Transport::kAgain) {
      sc.wantWrite(true);
      return false;
    }
    if (!respHeadDone_ && respHead_.empty() && phase_ != Phase::Tunnel)
      serverFailed(false);
    else
      abort();
    return false;
  }
  size_t left = static_cast<size_t>(n);
  size_t h = std::min(left, headLeft);
  reqHeadSent_ += h;
  left -= h;
  if (left) consumeClient(left);
  // `timeout server` is an inactivity timeout, as HAProxy's: a request body still flowing to the
  // server is activity, so a long upload is not cut off while the server is reading it.
  if (n > 0 && phase_ == Phase::Exchange && !respHeadDone_)
    armTimer(backend_->config->timeouts.server);
  bool done = reqHeadSent_ == reqHead_.size() && (!in_ || fwdEnd_ <= in_->head);
  sc.wantWrite(!done);
  if (in_ && in_->empty() && phase_ != Phase::Tunnel && requestDone_)
    worker_.buffers().release(in_);
  return done;
}

bool HttpStream::flushToClient() {
  iovec iov[2];
  int cnt = 0;
  size_t headLeft = respHead_.size() - respHeadSent_;
  if (headLeft) iov[cnt++] = {respHead_.data() + respHeadSent_, headLeft};
  IoBuffer* sin = serverConn_ ? serverConn_->in.get() : nullptr;
  size_t bodyLeft = sin && respFwdEnd_ > sin->head ? respFwdEnd_ - sin->head : 0;
  if (bodyLeft) iov[cnt++] = {sin->begin(), bodyLeft};
  if (cnt == 0) {
    wantClientWrite(false);
    return true;
  }
  ssize_t n = sendClient(iov, cnt);
  if (n < 0) {
    if (n == Transport::kAgain) {
      wantClientWrite(true);
      armTimer(frontend_.config->timeouts.client);
      return false;
    }
    abort();
    return false;
  }
  size_t left = static_cast<size_t>(n);
  size_t h = std::min(left, headLeft);
  respHeadSent_ += h;
  left -= h;
  if (left) {
    sin->consume(left);
    if (sin->empty()) respParsed_ = respFwdEnd_ = 0;
  }
  bool done = respHeadSent_ == respHead_.size() && (!sin || respFwdEnd_ <= sin->head);
  if (done) {
    respHead_.clear();
    respHeadSent_ = 0;
  }
  wantClientWrite(!done);
  return done;
}

void HttpStream::onClientWritable() {
  bool done = flushToClient();
  if (dead()) return;
  if (phase_ == Phase::LocalResponse) {
    if (done) close();
    return;
  }
  if (phase_ == Phase::Tunnel) {
    if (done && serverConn_ && serverConn_->eof && !clientShut_) {
      shutdownClient();
      clientShut_ = true;
      if (clientEof_) return close();
    }
    return updateInterest();
  }
  if (done && respDone_) return finishTransaction();
  if (done && backend_) armTimer(backend_->config->timeouts.server);
  updateInterest();
}

void HttpStream::finishTransaction() {
  ServerConnection* sc = serverConn_.get();
  bool reusable = sc && requestDone_ && reqHeadSent_ == reqHead_.size() &&
                  (!in_ || fwdEnd_ <= in_->head) && sc->response.keepAlive() && !sc->eof &&
                  (!sc->in || respParsed_ == sc->in->tail) && !upgrade_;
  if (sc) ++sc->requests;
  releaseServer(reusable);
  bool stopping = stopRequested_ || worker_.stopping();
  if (stopping && keepAlivePromised_ && !closeIdleOnStop_) {
    // The stop came while this response was on its way with a keep-alive promise: the client
    // may already be sending its next request here. Serve that one (with Connection: close)
    // rather than race it with a close.
    keepAlivePromised_ = false;
    return beginNextRequest();
  }
  if (!clientKeepAlive_ || stopping) {
    // Nothing is in flight; unread input (a pipelined request we will not serve) is dropped.
    return close();
  }
  beginNextRequest();
}

void HttpStream::beginNextRequest() {
  worker_.releaseRequestParser(request_);
  // Give back what only a request in flight needs: an idle connection stays small.
  std::string().swap(reqHead_);
  std::string().swap(respHead_);
  reqHeadSent_ = 0;
  requestDone_ = respHeadDone_ = respDone_ = upgrade_ = false;
  backend_ = nullptr;
  phase_ = Phase::WaitRequest;
  if (in_) {
    in_->compact();
    parsed_ = fwdEnd_ = 0;
    if (in_->empty()) worker_.buffers().release(in_);
  }
  Duration ka = frontend_.config->timeouts.keepAlive;
  armTimer(ka.count() ? ka : frontend_.config->timeouts.httpRequest);
  if (clientEof_) return close();
  wantClientRead(true);
  if (in_ && !in_->empty()) processClientInput();  // a pipelined request is already here
}

void HttpStream::sendLocal(int status) {
  sendLocalRaw(worker_.runtime().errors().response(status));
}

void HttpStream::sendLocalRaw(std::string response) {
  // Part of a response already went (or TLS committed it): too late for another one.
  if (clientOutputCommitted() || (respHeadDone_ && (respHeadSent_ > 0 || respHead_.empty())))
    return abort();
  releaseServer(false);
  phase_ = Phase::LocalResponse;
  respHead_ = std::move(response);
  respHeadSent_ = 0;
  respParsed_ = respFwdEnd_ = 0;
  wantClientRead(false);
  armTimer(frontend_.config->timeouts.client);
  if (flushToClient() && !dead()) close();
}

void HttpStream::abort() {
  closeAbruptly();
}

void HttpStream::onTimeout() {
  switch (phase_) {
    case Phase::WaitRequest:
      return close();  // keep-alive or first-request idle time is over
    case Phase::ReadHead:
    case Phase::ReadBuiltinBody:
      return sendLocal(408);
    case Phase::Connect:
      if (queuedOn) {
        leaveQueue();
        return sendLocal(503);  // timeout queue
      }
      return serverFailed(true);  // timeout connect
    case Phase::Exchange:
      if (!respHeadDone_) return sendLocal(504);
      return abort();
    case Phase::Tunnel:
    case Phase::LocalResponse:
      return close();
  }
}

void HttpStream::updateInterest() {
  if (dead()) return;
  bool room = !in_ || in_->space() > 0 || in_->head > 0;
  bool wantClient = false;
  switch (phase_) {
    case Phase::WaitRequest:
    case Phase::ReadHead:
    case Phase::ReadBuiltinBody:
      wantClient = room;
      break;
    // Reading stays on between requests (no epoll_ctl per request); pipelined bytes just wait
    // in the buffer, and a full buffer turns it off.
    case Phase::Connect:
    case Phase::Exchange:
      wantClient = !clientEof_ && room;
      break;
    case Phase::Tunnel:
      wantClient = !clientEof_ && room;
      break;
    case Phase::LocalResponse:
      wantClient = false;
      break;
  }
  wantClientRead(wantClient);
  if (serverConn_ && serverConn_->connected) {
    ServerConnection& sc = *serverConn_;
    bool sroom = !sc.in || sc.in->space() > 0 || sc.in->head > 0;
    bool wantServer = (phase_ == Phase::Exchange || phase_ == Phase::Tunnel) && !sc.eof && sroom;
    sc.wantRead(wantServer);
  }
}

}  // namespace tandem::proxy
