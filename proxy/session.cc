#include "proxy/session.h"

#include <algorithm>
#include <cerrno>
#include <climits>

#include "proxy/socket_util.h"
#include "proxy/worker.h"

namespace tandem::proxy {

Session::Session(Worker& worker, FrontendRuntime& frontend, TransportPtr client,
                 const IpAddress& clientAddress)
    : worker_(worker),
      frontend_(frontend),
      clientTransport_(std::move(client)),
      client_(clientAddress),
      timer_(worker.time().makeTimer([this] { onTimerEvent(); })) {
  clientTransport_->setHandler(this);
  frontend_.connections.fetch_add(1, std::memory_order_relaxed);
  worker_.runtime().connections().fetch_add(1, std::memory_order_relaxed);
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
  timerFiresUs_ = worker_.time().nowUs() + inUs;
  timerPending_ = true;
  timer_->arm(Duration(inUs));
}

void Session::armTimer(Duration d) {
  if (dead_) return;
  deadlineUs_ = worker_.time().nowUs() + d.count();
  if (!timerPending_ || deadlineUs_ < timerFiresUs_) addTimer(d.count());
}

void Session::disarmTimer() {
  deadlineUs_ = INT64_MAX;
}

void Session::close() {
  if (dead_) return;
  timer_->cancel();
  dead_ = true;
  // The client sees the end now, not when the worker gets to deleting this session.
  clientTransport_->close(!abrupt_);  // TLS: close_notify after a clean end
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
  int64_t left = deadlineUs_ - worker_.time().nowUs();
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
  server_ = s;
  serverConn_ = worker_.connectionPool().take(*s);
  if (serverConn_) {
    serverConn_->setOwner(this);
    return ConnectResult::Connecting;
  }
  int err = 0;
  TransportPtr transport = worker_.connectTo(*s, &err);
  if (!transport) {
    lastFailed_ = s;
    releaseServer(false);
    return ConnectResult::Failed;
  }
  serverConn_ = std::make_unique<ServerConnection>(worker_, *s, std::move(transport));
  serverConn_->setOwner(this);
  serverConn_->wantWrite(true);  // writable = connected (or failed: SO_ERROR tells)
  return ConnectResult::Connecting;
}

void Session::releaseServer(bool reusable) {
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
  worker_.enqueue(backend, this);
}

void Session::leaveQueue() {
  if (queuedOn_) worker_.dequeue(this);
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

void Session::retryOrGiveUp() {
  if (server_) lastFailed_ = server_;
  releaseServer(false);
  if (attempts_ <= backend_->config->retries) return startConnect();
  onGiveUp();
}

bool Session::retryFromQueue() {
  startConnect();
  return !queuedOn_;
}

}  // namespace tandem::proxy
