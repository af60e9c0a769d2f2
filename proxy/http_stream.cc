#include "proxy/http_stream.h"

#include "proxy/stats_page.h"

#include <strings.h>

#include <sys/socket.h>
#include <sys/uio.h>
#include <algorithm>
#include <cstdlib>

#include "proxy/socket_util.h"
#include "proxy/worker.h"

namespace tandem::proxy {

// What a built-in frontend needs of a request head, copied so that it outlives the input buffer
// while the form body arrives.
struct HttpStream::PendingBuiltin {
  std::string method, target, authorization, host, origin, referer, secFetchSite;
  bool head = false;
  size_t bodyLength = 0;
};

HttpStream::HttpStream(Worker& worker, FrontendRuntime& frontend, TransportPtr client,
                       const IpAddress& clientAddress, uint16_t clientPort, Accounting accounting)
    : Session(worker, frontend, std::move(client), clientAddress, clientPort, accounting),
      h2Stream_(accounting == Accounting::Stream) {}

HttpStream::~HttpStream() = default;

void HttpStream::start() {
  armTimer(frontend_.config->timeouts.httpRequest);
  wantClientRead(true);
  if (in_ && !in_->empty()) processClientInput();  // taken over with a request begun
}

void HttpStream::stopWhenIdle(bool closeIdle) {
  stopRequested_ = true;
  closeIdleOnStop_ = closeIdle;
  if (txn_) txn_->endClientKeepAlive();
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
  if (n == Transport::kError) {
    fail('C', phaseLetter());
    return abort();
  }
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
        if (flushToServer() && serverConn_ && !serverConn_->writeShut()) {
          serverConn_->shutdownWrite();
        }
        if (serverConn_ && serverConn_->eof() && clientShut_) close();
        return;
      default:
        // Half-closed after a complete request: still deliver the response, then close.
        if (!txn_->requestDone) {
          fail('C', phaseLetter());
          return abort();
        }
        txn_->endClientKeepAlive();
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
        // The first byte of a request: its transaction begins.
        phase_ = Phase::ReadHead;
        if (!request_) request_ = worker_.acquireRequestParser();
        txn_ = std::make_unique<HttpTransaction>(frontend_, worker_.runtime().errors(), client_,
                                                 tls(), !stopRequested_ && !worker_.stopping());
        if (tls()) txn_->setClientCertificate(&clientCertificate());
        txn_->startUs = nowUs();
        if (frontend_.accessLog) {
          txn_->startWallUs = worker_.time().wallUs();
          bool first = requests_ == 0;
          txn_->handshakeMs = first ? elapsedMs(acceptedAtUs_, readyAtUs_) : 0;
          txn_->idleMs = elapsedMs(first ? readyAtUs_ : lastResponseEndUs_, txn_->startUs);
        }
        timeline_ = ServerTimeline{};
        armTimer(frontend_.config->timeouts.httpRequest);
      }
      size_t n = 0;
      ParseEvent ev = request_->execute(in_->bytes, in_->bytes + parsed_, in_->tail - parsed_, &n);
      parsed_ += static_cast<uint32_t>(n);
      if (ev == ParseEvent::Error) {
        frontendCounters().requestErrors.add();
        fail('P', 'R');
        return sendLocal(400);
      }
      if (ev == ParseEvent::NeedMore) {
        if (in_->space() == 0) {
          frontendCounters().requestErrors.add();
          fail('P', 'R');
          return sendLocal(431);  // head larger than a buffer
        }
        break;
      }
      onRequestHead();
      headJustParsed = true;
    } else if (phase_ == Phase::ReadBuiltinBody) {
      size_t have = in_ ? in_->tail - in_->head : 0;
      if (have < builtin_->bodyLength) break;
      return answerBuiltin(std::string_view(in_->bytes + in_->head, builtin_->bodyLength));
    } else if ((phase_ == Phase::Connect || phase_ == Phase::Exchange) && !txn_->requestDone) {
      if (!in_ || (parsed_ == in_->tail && !headJustParsed)) break;
      headJustParsed = false;
      size_t n = 0;
      ParseEvent ev = request_->execute(in_->bytes, in_->bytes + parsed_, in_->tail - parsed_, &n);
      parsed_ += static_cast<uint32_t>(n);
      fwdEnd_ = parsed_;
      if (ev == ParseEvent::Error) {
        // Bad chunk framing mid-body: the connection cannot be trusted any more.
        frontendCounters().requestErrors.add();
        fail('P', 'D');
        if (!txn_->responseHeadDone && txn_->clientHeadSent == 0) return sendLocal(400);
        return abort();
      }
      if (ev == ParseEvent::MessageComplete) txn_->requestDone = true;
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
  ++requests_;
  // The worker's monotonic clock (read once per loop pass) times the head for the log and
  // counts rate-limit windows: no clock read of its own per request.
  txn_->headAtUs = nowUs();
  if (frontend_.accessLog) {
    const MessageHead& h = request_->head();
    txn_->requestLine.append(h.method.in(in_->bytes))
        .append(" ")
        .append(h.url.in(in_->bytes))
        .append(h2Stream_             ? " HTTP/2.0"
                : h.versionMinor == 0 ? " HTTP/1.0"
                                      : " HTTP/1.1");
    // The headers the log format shows (%[req.hdr(NAME)]): the first of each name.
    const std::vector<std::string>& wanted = frontend_.accessLogFormat.headers();
    txn_->logHeaders.assign(wanted.size(), std::string());
    for (size_t i = 0; i < wanted.size(); ++i)
      for (const auto& f : h.headers)
        if (iequals(f.name.in(in_->bytes), wanted[i])) {
          txn_->logHeaders[i] = f.value.in(in_->bytes);
          break;
        }
  }
  HttpTransaction::Decision decision = txn_->onRequestHead(*request_, in_->bytes, txn_->headAtUs);
  frontendCounters().httpRequests.add();
  switch (decision.kind) {
    case HttpTransaction::Decision::Kind::Answer:
      countRefusal(decision.refusal);
      fail(decision.local ? 'L' : 'P', 'R');
      return sendLocalRaw(std::move(decision.response));
    case HttpTransaction::Decision::Kind::Builtin:
      txn_->builtin = true;
      fail('L', 'R');
      return startBuiltin(request_->head(), in_->bytes);
    case HttpTransaction::Decision::Kind::Forward:
      break;
  }
  backend_ = txn_->backend();
  {
    TrafficCounters& be = countersOf(*backend_);
    be.sessions.add();
    be.httpRequests.add();
  }
  // The original head is done with: skip it; what follows is body (or the next request).
  in_->head = parsed_;
  fwdEnd_ = parsed_;
  if (in_->empty()) in_->head = in_->tail = parsed_ = fwdEnd_ = 0;
  attempts_ = 0;
  lastFailed_ = nullptr;
  tlsFailed_ = false;
  phase_ = Phase::Connect;
  startConnect();
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
    txn_->endClientKeepAlive();
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

// ---- server side ---------------------------------------------------------------------------

void HttpStream::onServerConnected() {
  phase_ = Phase::Exchange;
  ServerConnection& sc = *serverConn_;
  if (!sc.markConnected()) return serverFailed(true);
  markServerConnected();
  connectTimedOut_ = false;
  tlsFailed_ = false;
  sc.response().reset();
  sc.response().expectNoBody(txn_->headRequest());
  respParsed_ = respFwdEnd_ = 0;
  if (sc.input() && !sc.input()->empty()) {  // never reuse a connection with stray bytes
    releaseServer(false);
    return serverFailed(true);
  }
  sc.wantRead(true);
  armTimer(backend_->config->timeouts.server);
  flushToServer();
  if (!dead()) processClientInput();  // the body may already be waiting
}

void HttpStream::serverFailed(bool connectFailure) {
  txn_->serverHeadSent = 0;
  // A pooled connection the server had closed, or an HTTP/2 stream the server refused
  // unprocessed: resend on a fresh one when that is safe.
  if (serverConn_ && (serverConn_->reused() || serverConn_->transport().refusedUnprocessed()) &&
      txn_->replayable() && attempts_ <= 8) {
    releaseServer(false);
    --attempts_;
    lastFailed_ = nullptr;
    return startConnect();
  }
  bool bodyStarted = !txn_->replayable() && !connectFailure;
  txn_->giveUpStatus = connectFailure && !tlsFailed_ ? 503 : 502;
  if (bodyStarted) {
    releaseServer(false);
    return onGiveUp();
  }
  retryOrGiveUp(!connectFailure);
}

void HttpStream::onServerWritable() {
  ServerConnection& sc = *serverConn_;
  if (!sc.connected()) {
    sc.wantWrite(false);
    if (int error = sc.transport().connectError()) {
      // A server whose TLS fails (an untrusted certificate, say) answered, wrongly: 502.
      if (noteConnectFailure(error)) tlsFailed_ = true;
      return serverFailed(true);
    }
    return onServerConnected();
  }
  flushToServer();
  if (!dead()) updateInterest();
}

void HttpStream::onServerReadable() {
  ServerConnection& sc = *serverConn_;
  if (!sc.input()) sc.input() = worker_.buffers().acquire();
  if (sc.input()->space() == 0) {
    if (sc.input()->head == 0) return sc.wantRead(false);
    uint32_t shift = sc.input()->head;
    sc.input()->compact();
    respParsed_ -= shift;
    respFwdEnd_ -= shift;
  }
  ssize_t n = sc.transport().read(*sc.input());
  if (n == Transport::kAgain) return;
  if (txn_->responseDone) {
    // After a complete response: a close is fine; anything else makes the connection unusable.
    sc.markEof();
    sc.wantRead(false);
    return;
  }
  if (n <= 0) {
    sc.markEof();
    sc.wantRead(false);
    if (phase_ == Phase::Tunnel) {
      if (flushToClient() && !clientShut_) {
        shutdownClient();
        clientShut_ = true;
      }
      if (clientEof_ && clientShut_) close();
      return;
    }
    if (n < 0 && !sc.reused()) noteServerTlsError();  // a TLS 1.3 server refusing us late
    if (!txn_->responseHeadDone && respParsed_ == 0 && sc.input()->empty() &&
        txn_->clientHead.empty())
      return serverFailed(false);  // closed before answering (idle pool race) or reset
    if (!txn_->responseHeadDone) {
      fail('S', 'H');
      return sendLocal(502);
    }
    if (n == 0 && sc.response().bodyDelimitedByEof() &&
        sc.response().finish() == ParseEvent::MessageComplete) {
      txn_->responseDone = true;
      if (flushToClient()) finishTransaction();
      return;
    }
    fail('S', 'D');
    return abort();  // truncated body: the client must see the connection end
  }
  if (phase_ == Phase::Tunnel) {
    respFwdEnd_ = respParsed_ = sc.input()->tail;
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
  while (!dead() && sc.input() && (respParsed_ < sc.input()->tail || zeroLengthPass) &&
         !txn_->responseDone) {
    zeroLengthPass = false;
    size_t n = 0;
    ParseEvent ev = sc.response().execute(sc.input()->bytes, sc.input()->bytes + respParsed_,
                                          sc.input()->tail - respParsed_, &n);
    respParsed_ += static_cast<uint32_t>(n);
    if (ev == ParseEvent::Error) {
      fail('S', txn_->responseHeadDone ? 'D' : 'H');
      if (!txn_->responseHeadDone && txn_->clientHeadSent == 0) return sendLocal(502);
      return abort();
    }
    if (!txn_->responseHeadDone) {
      if (ev == ParseEvent::NeedMore) {
        if (sc.input()->space() == 0 && sc.input()->head == 0) {
          fail('S', 'H');
          return sendLocal(502);  // head too large
        }
        break;
      }
      if (txn_->interim && ev == ParseEvent::MessageComplete) {
        txn_->interim = false;  // end of a 1xx; the final response follows
        continue;
      }
      int status = sc.response().head().status;
      if (ev == ParseEvent::HeadComplete && status >= 100 && status < 200 && status != 101) {
        // Interim response (100 Continue, 103 Early Hints): forward it as received.
        txn_->clientHead.append(sc.input()->bytes + sc.input()->head,
                                respParsed_ - sc.input()->head);
        sc.input()->head = respParsed_;
        respFwdEnd_ = respParsed_;
        txn_->interim = true;
        zeroLengthPass = true;
        continue;
      }
      onResponseHead(respParsed_);
      if (ev == ParseEvent::MessageComplete) txn_->responseDone = true;
      if (txn_->switching(status)) {
        phase_ = Phase::Tunnel;
        respFwdEnd_ = respParsed_ = sc.input()->tail;
        fwdEnd_ = parsed_ = in_ ? in_->tail : 0;
        armTimer(backend_->config->timeouts.tunnel);
        break;
      }
      zeroLengthPass = true;  // a bodiless response (204/304) completes without more input
    } else {
      respFwdEnd_ = respParsed_;
      if (ev == ParseEvent::MessageComplete) txn_->responseDone = true;
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
  if (txn_->responseDone && flushed) return finishTransaction();
  updateInterest();
}

void HttpStream::onResponseHead(size_t headEnd) {
  ServerConnection& sc = *serverConn_;
  txn_->responseHeadAtUs = nowUs();
  txn_->status = sc.response().head().status;
  txn_->onResponseHead(sc.response(), sc.input()->bytes);
  sc.input()->head = static_cast<uint32_t>(headEnd);
  respFwdEnd_ = static_cast<uint32_t>(headEnd);
}

// ---- moving bytes --------------------------------------------------------------------------

bool HttpStream::flushToServer() {
  if (!serverConn_ || !serverConn_->connected()) return false;
  ServerConnection& sc = *serverConn_;
  iovec iov[2];
  int cnt = 0;
  size_t headLeft = txn_->serverHead.size() - txn_->serverHeadSent;
  if (headLeft) iov[cnt++] = {txn_->serverHead.data() + txn_->serverHeadSent, headLeft};
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
    if (sc.transport().requestRejected()) {  // never sent: the server is not to blame
      fail('P', 'H');
      releaseServer(false);
      sendLocal(502);
      return false;
    }
    if (!txn_->responseHeadDone && txn_->clientHead.empty() && phase_ != Phase::Tunnel) {
      serverFailed(false);
    } else {
      fail('S', 'D');
      abort();
    }
    return false;
  }
  txn_->bytesToServer += static_cast<uint64_t>(n);
  size_t left = static_cast<size_t>(n);
  size_t h = std::min(left, headLeft);
  txn_->serverHeadSent += h;
  left -= h;
  if (left) consumeClient(left);
  // `timeout server` is an inactivity timeout, as HAProxy's: a request body still flowing to the
  // server is activity, so a long upload is not cut off while the server is reading it.
  if (n > 0 && phase_ == Phase::Exchange && !txn_->responseHeadDone)
    armTimer(backend_->config->timeouts.server);
  bool done = txn_->serverHeadSent == txn_->serverHead.size() && (!in_ || fwdEnd_ <= in_->head);
  sc.wantWrite(!done);
  if (in_ && in_->empty() && phase_ != Phase::Tunnel && txn_->requestDone)
    worker_.buffers().release(in_);
  return done;
}

namespace {
constexpr size_t kJoinBodyMax = 2048;
}  // namespace

bool HttpStream::flushToClient() {
  if (!txn_) {  // between requests: nothing to send
    wantClientWrite(false);
    return true;
  }
  iovec iov[2];
  int cnt = 0;
  size_t headLeft = txn_->clientHead.size() - txn_->clientHeadSent;
  IoBuffer* sin = serverConn_ ? serverConn_->input().get() : nullptr;
  size_t bodyLeft = sin && respFwdEnd_ > sin->head ? respFwdEnd_ - sin->head : 0;
  // A small body behind a head not sent yet joins the head: one contiguous send() instead of
  // sendmsg with two pieces (the kernel's msghdr/iovec import costs more than the copy).
  if (bodyLeft && headLeft && bodyLeft <= kJoinBodyMax) {
    txn_->clientHead.append(sin->begin(), bodyLeft);
    headLeft += bodyLeft;
    sin->consume(bodyLeft);
    if (sin->empty()) respParsed_ = respFwdEnd_ = 0;
    bodyLeft = 0;
  }
  if (headLeft) iov[cnt++] = {txn_->clientHead.data() + txn_->clientHeadSent, headLeft};
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
    fail('C', phaseLetter());
    abort();
    return false;
  }
  txn_->bytesToClient += static_cast<uint64_t>(n);
  size_t left = static_cast<size_t>(n);
  size_t h = std::min(left, headLeft);
  txn_->clientHeadSent += h;
  left -= h;
  if (left) {
    sin->consume(left);
    if (sin->empty()) respParsed_ = respFwdEnd_ = 0;
  }
  bool done = txn_->clientHeadSent == txn_->clientHead.size() && (!sin || respFwdEnd_ <= sin->head);
  if (done) {
    txn_->clientHead.clear();
    txn_->clientHeadSent = 0;
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
    if (done && serverConn_ && serverConn_->eof() && !clientShut_) {
      shutdownClient();
      clientShut_ = true;
      if (clientEof_) return close();
    }
    return updateInterest();
  }
  if (done && txn_->responseDone) return finishTransaction();
  if (done && backend_) armTimer(backend_->config->timeouts.server);
  updateInterest();
}

void HttpStream::finishTransaction() {
  txn_->completed = true;
  lastResponseEndUs_ = nowUs();
  countTransaction();
  logTransaction();  // while this stream still holds its server and backend places
  ServerConnection* sc = serverConn_.get();
  bool reusable = sc && txn_->requestDone && txn_->serverHeadSent == txn_->serverHead.size() &&
                  (!in_ || fwdEnd_ <= in_->head) && sc->response().keepAlive() && !sc->eof() &&
                  (!sc->input() || respParsed_ == sc->input()->tail) && !txn_->upgrade();
  releaseServer(reusable);
  bool stopping = stopRequested_ || worker_.stopping();
  if (stopping && txn_->keepAlivePromised() && !closeIdleOnStop_) {
    // The stop came while this response was on its way with a keep-alive promise: the client
    // may already be sending its next request here. Serve that one (with Connection: close)
    // rather than race it with a close.
    txn_->forgetKeepAlivePromise();
    return beginNextRequest();
  }
  if (!txn_->clientKeepAlive() || stopping) {
    // Nothing is in flight; unread input (a pipelined request we will not serve) is dropped.
    return close();
  }
  beginNextRequest();
}

void HttpStream::beginNextRequest() {
  // Give back what only a request in flight needs: an idle connection stays small, and the
  // next request starts from nothing.
  worker_.releaseRequestParser(request_);
  txn_.reset();
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
  if (!txn_) return close();  // no request: nobody to answer
  sendLocalRaw(txn_->errorResponse(status));
}

void HttpStream::sendLocalRaw(std::string response) {
  // Part of a response already went (or TLS committed it): too late for another one.
  if (clientOutputCommitted() ||
      (txn_->responseHeadDone && (txn_->clientHeadSent > 0 || txn_->clientHead.empty())))
    return abort();
  releaseServer(false);
  phase_ = Phase::LocalResponse;
  // "HTTP/1.1 403 Forbidden": the status the log reports.
  if (response.size() > 12) txn_->status = std::atoi(response.c_str() + 9);
  txn_->clientHead = std::move(response);
  txn_->clientHeadSent = 0;
  respParsed_ = respFwdEnd_ = 0;
  wantClientRead(false);
  armTimer(frontend_.config->timeouts.client);
  if (flushToClient() && !dead()) {
    txn_->completed = true;
    close();
  }
}

void HttpStream::abort() {
  closeAbruptly();
}

void HttpStream::onTimeout() {
  switch (phase_) {
    case Phase::WaitRequest:
      idleTimedOut_ = true;
      return close();  // keep-alive or first-request idle time is over
    case Phase::ReadHead:
    case Phase::ReadBuiltinBody:
      fail('c', 'R');
      return sendLocal(408);
    case Phase::Connect:
      if (queued()) {
        leaveQueue();
        fail('s', 'Q');
        return sendLocal(503);  // timeout queue
      }
      connectTimedOut_ = true;
      return serverFailed(true);  // timeout connect
    case Phase::Exchange:
      if (!txn_->responseHeadDone) {
        fail('s', 'H');
        return sendLocal(504);
      }
      // Stuck sending to a client that does not read, or waiting for a server that does not
      // send.
      fail(txn_->clientHeadSent < txn_->clientHead.size() || respFwdEnd_ > 0 ? 'c' : 's', 'D');
      return abort();
    case Phase::Tunnel:
      fail('c', 'D');
      return close();
    case Phase::LocalResponse:
      fail('c', 'L');
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
  if (serverConn_ && serverConn_->connected()) {
    ServerConnection& sc = *serverConn_;
    bool sroom = !sc.input() || sc.input()->space() > 0 || sc.input()->head > 0;
    bool wantServer = (phase_ == Phase::Exchange || phase_ == Phase::Tunnel) && !sc.eof() && sroom;
    sc.wantRead(wantServer);
  }
}

// ---- access log ----------------------------------------------------------------------------

char HttpStream::phaseLetter() const {
  switch (phase_) {
    case Phase::WaitRequest:
    case Phase::ReadHead:
    case Phase::ReadBuiltinBody:
      return 'R';
    case Phase::Connect:
      return queued() ? 'Q' : 'C';
    case Phase::Exchange:
      return txn_ && txn_->responseHeadDone ? 'D' : 'H';
    case Phase::Tunnel:
      return 'D';
    case Phase::LocalResponse:
      return 'L';
  }
  return '-';
}

void HttpStream::onClosing() {
  if (txn_) countTransaction();
  if (!frontend_.accessLog) return;
  if (txn_)
    logTransaction();
  else if (requests_ == 0 && !h2Stream_)  // a stream cancelled before it was read: not a line
    logEmptyConnection();
}

void HttpStream::countRefusal(HttpTransaction::Refusal refusal) {
  TrafficCounters& fe = frontendCounters();
  BackendRuntime* be = txn_->backend();  // set: a backend rule refused it
  switch (refusal) {
    case HttpTransaction::Refusal::None:
      break;
    case HttpTransaction::Refusal::Denied:
      (be ? countersOf(*be) : fe).denied.add();
      break;
    case HttpTransaction::Refusal::RateLimited:
      fe.rateLimited.add();
      break;
    case HttpTransaction::Refusal::Invalid:
      fe.requestErrors.add();
      break;
  }
}

void HttpStream::countTransaction() {
  if (txn_->counted) return;
  txn_->counted = true;
  BackendRuntime* be = txn_->backend();
  ServerRuntime* s = timeline_.server;
  TrafficCounters* sections[] = {&frontendCounters(), be ? &countersOf(*be) : nullptr,
                                 s ? &countersOf(*s) : nullptr};
  const Termination& term = txn_->termination;
  // The server failed it after it was sent: closed, reset or timed out (HAProxy's eresp).
  bool responseError =
      (term.cause == 'S' || term.cause == 's') && (term.phase == 'H' || term.phase == 'D');
  for (size_t i = 0; i < 3; ++i) {
    TrafficCounters* c = sections[i];
    if (!c) continue;
    if (txn_->status >= 0) c->responses[statusClass(txn_->status)].add();
    if (i == 0) continue;  // the frontend counts its bytes as they move
    c->bytesOut.add(txn_->bytesToClient);
    c->bytesIn.add(txn_->bytesToServer);
    if (responseError) c->responseErrors.add();
  }
  if (s) countTimes(txn_->startUs, txn_->responseHeadAtUs);
}

void HttpStream::logTransaction() {
  AccessLogWriter* out = frontend_.accessLog;
  if (!out || !txn_ || txn_->logged) return;
  txn_->logged = true;
  const AccessLog& cfg = frontend_.config->log;
  Termination term = txn_->termination;
  if (!txn_->completed && term.normal()) term.set('C', phaseLetter());  // the client went away
  if (cfg.dontlogNormal && term.normal() && txn_->status < 500) return;
  if (!frontend_.sampleLogLine()) return;
  AccessLogRecord r;
  describe(r);
  if (BackendRuntime* be = txn_->backend()) {
    r.backend = be->config->name;
    r.beconn = be->streams.load(std::memory_order_relaxed);
  }
  if (txn_->builtin) r.server = "<STATS>";
  r.startWallUs = txn_->startWallUs;
  r.handshakeMs = txn_->handshakeMs;
  r.idleMs = txn_->idleMs;
  r.requestMs = elapsedMs(txn_->startUs, txn_->headAtUs);
  r.responseMs = elapsedMs(timeline_.connectedAtUs, txn_->responseHeadAtUs);
  r.totalMs = elapsedMs(txn_->startUs, nowUs());
  r.status = txn_->status;
  r.bytesToClient = txn_->bytesToClient;
  r.termination = term;
  r.requestLine = std::move(txn_->requestLine);
  r.headers = std::move(txn_->logHeaders);
  frontend_.writeLog(r);
}

void HttpStream::logEmptyConnection() {
  // A connection that closed without a request (a health probe, a scanner, a client that gave
  // up): HAProxy logs <BADREQ> unless dontlognull.
  const AccessLog& cfg = frontend_.config->log;
  if (cfg.dontlognull || !frontend_.sampleLogLine()) return;
  AccessLogRecord r;
  describe(r);
  r.startWallUs = acceptedAtWallUs_;
  r.totalMs = elapsedMs(acceptedAtUs_, nowUs());
  r.termination.set(idleTimedOut_ ? 'c' : 'C', 'R');
  frontend_.writeLog(r);
}

}  // namespace tandem::proxy
