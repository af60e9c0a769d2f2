#include "proxy/session.h"

#include <algorithm>
#include <cerrno>
#include <climits>

#include "common/logging.h"
#include "proxy/proxy_protocol.h"
#include "proxy/socket_util.h"
#include "proxy/worker.h"

namespace tandem::proxy {

Session::Session(Worker& worker, FrontendRuntime& frontend, TransportPtr client,
                 const IpAddress& clientAddress, uint16_t clientPort, Accounting accounting)
    : worker_(worker),
      frontend_(frontend),
      frontendCounters_(worker.counters().frontend(frontend.index)),
      clientTransport_(std::move(client)),
      client_(clientAddress),
      clientPort_(clientPort),
      acceptedAtUs_(worker.time().nowUs()),
      acceptedAtWallUs_(worker.time().wallUs()),
      timer_(worker.time().makeTimer([this] { onTimerEvent(); })) {
  clientTransport_->setHandler(this);
  if (!clientTransport_->secure() || clientTransport_->handshakeDone()) readyAtUs_ = acceptedAtUs_;
  if (accounting == Accounting::Stream) {
    counted_ = false;
    return;
  }
  raiseMax(frontend_.maxConnections,
           frontend_.connections.fetch_add(1, std::memory_order_relaxed) + 1);
  worker_.runtime().connections().fetch_add(1, std::memory_order_relaxed);
  if (accounting == Accounting::NewConnection) frontendCounters_.sessions.add();
}

TrafficCounters& Session::countersOf(const BackendRuntime& be) {
  return worker_.counters().backend(be.index);
}

TrafficCounters& Session::countersOf(const ServerRuntime& s) {
  return worker_.counters().server(s.id);
}

void Session::countTimes(int64_t startUs, int64_t responseHeadAtUs) {
  ServerRuntime* s = timeline_.server;
  if (!s || !backend_ || timeline_.connectedAtUs < 0) return;
  int64_t now = nowUs();
  uint64_t queueMs = timeline_.queueUs > 0 ? static_cast<uint64_t>(timeline_.queueUs / 1000) : 0;
  uint64_t connectMs = static_cast<uint64_t>(
      std::max<int64_t>(0, elapsedMs(timeline_.connectAtUs, timeline_.connectedAtUs)));
  int64_t responseMs = elapsedMs(timeline_.connectedAtUs, responseHeadAtUs);
  int64_t totalUs = std::max<int64_t>(0, now - startUs);
  for (TrafficCounters* c : {&countersOf(*backend_), &countersOf(*s)}) {
    c->queueMs.add(queueMs);
    c->connectMs.add(connectMs);
    if (responseMs >= 0) c->responseMs.add(static_cast<uint64_t>(responseMs));
    c->totalMs.add(static_cast<uint64_t>(totalUs / 1000));
    c->addTotalTime(totalUs);
  }
}

Session::~Session() {
  leaveQueue();
  if (serverConn_ || server_) releaseServer(false);
  worker_.buffers().release(in_);
  releaseConnectionCount();
}

void Session::releaseConnectionCount() {
  if (!counted_) return;
  counted_ = false;
  frontend_.connections.fetch_sub(1, std::memory_order_relaxed);
  worker_.runtime().connections().fetch_sub(1, std::memory_order_relaxed);
}

void Session::wantClientRead(bool on) {
  if (!dead_) clientTransport_->wantRead(on);
}

void Session::wantClientWrite(bool on) {
  if (!dead_) clientTransport_->wantWrite(on);
}

void Session::addTimer(int64_t inUs) {
  timerFiresUs_ = nowUs() + inUs;
  timerPending_ = true;
  timer_->arm(Duration(inUs));
}

void Session::armTimer(Duration d) {
  if (dead_) return;
  deadlineUs_ = nowUs() + d.count();
  if (!timerPending_ || deadlineUs_ < timerFiresUs_) addTimer(d.count());
}

void Session::disarmTimer() {
  deadlineUs_ = INT64_MAX;
}

int64_t Session::nowUs() const {
  return worker_.time().nowUs();
}

void Session::markServerConnected() {
  timeline_.connectedAtUs = nowUs();
}

void Session::describe(AccessLogRecord& r) const {
  r.client = client_;
  r.clientPort = clientPort_;
  r.acceptWallUs = acceptedAtWallUs_;
  r.handshakeMs = elapsedMs(acceptedAtUs_, readyAtUs_);
  r.frontend = frontend_.config->name;
  if (backend_) r.backend = backend_->config->name;
  if (timeline_.server) r.server = timeline_.server->config->name;
  r.queueMs = timeline_.queueUs >= 0       ? timeline_.queueUs / 1000
              : timeline_.connectAtUs >= 0 ? 0
                                           : -1;
  r.connectMs = elapsedMs(timeline_.connectAtUs, timeline_.connectedAtUs);
  r.actconn = worker_.runtime().connections().load(std::memory_order_relaxed);
  r.feconn = frontend_.connections.load(std::memory_order_relaxed);
  if (backend_) r.beconn = backend_->streams.load(std::memory_order_relaxed);
  if (timeline_.server) r.srvconn = timeline_.server->active.load(std::memory_order_relaxed);
  r.retries = std::max(0, attempts_ - 1);
  r.redispatched = timeline_.server && timeline_.server != timeline_.firstTried;
  r.backendQueue = timeline_.backendQueue;
}

void Session::close() {
  if (dead_) return;
  onClosing();
  timer_->cancel();
  dead_ = true;
  // The client sees the end now, not when the worker gets to deleting this session (unless
  // another session took the connection over).
  if (clientTransport_) clientTransport_->close(!abrupt_);  // TLS: close_notify after a clean end
  // Nothing may reach a closed session until the worker deletes it: it leaves its backend
  // queue and gives its server connection back (and with it the connection's events) now.
  leaveQueue();
  if (serverConn_ || server_) releaseServer(false);
  // Its place under maxconn is free now: a listener paused at the limit resumes in retire()
  // and must see it.
  releaseConnectionCount();
  worker_.retire(this);
}

void Session::onTimerEvent() {
  timerPending_ = false;
  if (deadlineUs_ == INT64_MAX) return;
  int64_t left = deadlineUs_ - nowUs();
  if (left > 0) return addTimer(left);  // the deadline moved on since it was armed
  deadlineUs_ = INT64_MAX;
  onTimeout();
}

Session::ConnectResult Session::connectServer(BackendRuntime& backend, const PickContext& ctx,
                                              ServerRuntime* failed) {
  backend_ = &backend;
  PickFailure why;
  LoadBalancer& balancer = worker_.balancer(backend);
  ServerRuntime* s = failed && !backend.config->redispatch ? balancer.pickAgain(*failed, ctx, &why)
                                                           : balancer.pick(ctx, failed, &why);
  if (!s) return why == PickFailure::AllFull ? ConnectResult::Full : ConnectResult::NoServer;
  if (failed && s != failed) {  // HAProxy's wredis: on the backend and the server left
    countersOf(backend).redispatches.add();
    countersOf(*failed).redispatches.add();
  }
  server_ = s;
  timeline_.server = s;
  if (!timeline_.firstTried) timeline_.firstTried = s;
  if (timeline_.connectAtUs < 0) timeline_.connectAtUs = nowUs();
  std::string_view sni;
  if (s->tls) {
    using Sni = Server::Tls::Sni;
    const Server::Tls& tls = s->config->tls;
    sni = tls.sniSource == Sni::Fixed           ? std::string_view(tls.sni)
          : tls.sniSource == Sni::FromHost      ? requestHost()
          : tls.sniSource == Sni::FromClientSni ? clientTransport_->serverName()
                                                : std::string_view();
  }
  if (s->config->proto == Server::Proto::H2) {
    // One stream on a shared HTTP/2 connection, as if it were a connection of its own.
    int err = 0;
    TransportPtr stream = worker_.h2Upstream().openStream(*s, sni, &err);
    if (!stream) {
      lastFailed_ = s;
      releaseServer(false);
      return ConnectResult::Failed;
    }
    serverConn_ = std::make_unique<ServerConnection>(worker_, *s, std::move(stream));
    serverConn_->setOwner(this);
    serverConn_->wantWrite(true);  // writable = the connection is up (or failed)
    return ConnectResult::Connecting;
  }
  serverConn_ = worker_.connectionPool().take(*s, sni);
  if (serverConn_) {
    serverConn_->setOwner(this);
    return ConnectResult::Connecting;
  }
  int err = 0;
  std::string preface = proxyPrefaceFor(*s);
  TransportPtr transport = worker_.connectTo(*s, {sni, &preface}, &err);
  if (!transport) {
    lastFailed_ = s;
    releaseServer(false);
    return ConnectResult::Failed;
  }
  serverConn_ = std::make_unique<ServerConnection>(worker_, *s, std::move(transport));
  serverConn_->setPreface(std::move(preface));  // what a TLS transport did not take
  serverConn_->setServerName(sni);
  serverConn_->setOwner(this);
  serverConn_->wantWrite(true);  // writable = connected (or failed: SO_ERROR tells)
  return ConnectResult::Connecting;
}

std::string Session::proxyPrefaceFor(const ServerRuntime& server) {
  using SP = Server::SendProxy;
  if (server.config->sendProxy == SP::None) return {};
  if (!destination_) {
    sockaddr_storage local{};
    if (clientTransport_->localAddress(&local)) {
      destination_ = peerAddress(local);
      destinationPort_ = peerPort(local);
    } else {
      destination_ = IpAddress{};
      destination_->family = client_.family;
    }
  }
  return server.config->sendProxy == SP::V1
             ? encodeProxyV1(client_, clientPort_, *destination_, destinationPort_)
             : encodeProxyV2(client_, clientPort_, *destination_, destinationPort_);
}

void Session::releaseServer(bool reusable) {
  // A connection opened with a PROXY header speaks for this client only.
  if (serverConn_ && serverConn_->server().config->sendProxy != Server::SendProxy::None)
    reusable = false;
  // An HTTP/2 stream serves one request; its connection stays with the worker's H2Upstream.
  if (serverConn_ && serverConn_->server().config->proto == Server::Proto::H2) reusable = false;
  if (serverConn_) {
    if (reusable) worker_.connectionPool().put(std::move(serverConn_));
    serverConn_.reset();
  }
  if (server_) {
    server_->releaseSlot();
    server_ = nullptr;
    if (backend_) worker_.slotFreed(*backend_);
  }
}

void Session::enterQueue(BackendRuntime& backend) {
  timeline_.backendQueue = backend.queued.load(std::memory_order_relaxed);
  timeline_.queuedAtUs = nowUs();
  worker_.enqueue(backend, this);
}

void Session::leaveQueue() {
  if (!queuedOn_) return;
  timeline_.queueUs = nowUs() - timeline_.queuedAtUs;
  worker_.dequeue(this);
}

void Session::startConnect() {
  ++attempts_;
  switch (connectServer(*backend_, pickContext(), lastFailed_)) {
    case ConnectResult::Connecting:
      leaveQueue();
      if (serverConn_->connected()) return onServerConnected();  // a pooled connection
      armTimer(backend_->config->timeouts.connect);
      return;
    case ConnectResult::NoServer:
      leaveQueue();
      return onNoServer();
    case ConnectResult::Full:
      --attempts_;  // waiting is not an attempt
      if (!queuedOn_) {
        enterQueue(*backend_);
        armTimer(backend_->config->timeouts.queue);
      }
      return;
    case ConnectResult::Failed:
      return retryOrGiveUp();
  }
}

void Session::retryOrGiveUp(bool responseFailure) {
  if (server_) lastFailed_ = server_;
  if (!responseFailure) {  // a connection attempt failed (refused, reset, timed out)
    countersOf(*backend_).connectErrors.add();
    if (lastFailed_) countersOf(*lastFailed_).connectErrors.add();
  }
  releaseServer(false);
  if (attempts_ <= backend_->config->retries) {
    // HAProxy's wretr: on the backend and on the server that failed.
    countersOf(*backend_).retries.add();
    if (lastFailed_) countersOf(*lastFailed_).retries.add();
    return startConnect();
  }
  onGiveUp();
}

void Session::noteServerTlsError() {
  if (serverConn_ && !serverConn_->transport().failureReason().empty()) noteConnectFailure(EPROTO);
}

bool Session::noteConnectFailure(int error) {
  if (error != EPROTO || !serverConn_) return false;
  ServerRuntime& s = serverConn_->server();
  int64_t now = nowUs();
  int64_t last = s.lastTlsFailureLogUs.load(std::memory_order_relaxed);
  if (now - last >= 1'000'000 &&
      s.lastTlsFailureLogUs.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    logging::get(logging::Component::Proxy)
        .warn("backend {} server {}: TLS to the server failed: {}", backend_->config->name,
              s.config->name, serverConn_->transport().failureReason());
  }
  return true;
}

bool Session::retryFromQueue() {
  startConnect();
  return !queuedOn_;
}

}  // namespace tandem::proxy
