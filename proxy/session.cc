#include "proxy/session.h"

#include <algorithm>
#include <cerrno>
#include <climits>

#include "proxy/socket_util.h"
#include "proxy/worker.h"

namespace tandem::proxy {

Session::Session(Worker& worker, FrontendRuntime& frontend, UniqueFd fd,
                 const sockaddr_storage& peer, const TlsContext* tls)
    : worker_(worker), frontend_(frontend), client_(peerAddress(peer)) {
  if (!tls) {
    clientTransport_ = std::make_unique<RawTransport>(std::move(fd));
  } else {
    clientTransport_ = TlsTransport::accept(std::move(fd), *tls);
    if (!clientTransport_) {
      // Out of memory in OpenSSL: the connection is dropped (its socket already closed).
      clientTransport_ = std::make_unique<RawTransport>(UniqueFd());
      setupFailed_ = true;
    }
  }
  int sock = clientTransport_->fd();
  auto onClient = [this](short what) { onClientEvent(what); };
  readEv_.assign(worker_.base(), sock, EV_READ | EV_PERSIST, onClient);
  writeEv_.assign(worker_.base(), sock, EV_WRITE | EV_PERSIST, onClient);
  timerEv_.assign(worker_.base(), -1, 0, [this](short) { onTimerEvent(); });
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
  if (on == reading_ || dead_) return;
  reading_ = on;
  if (on) {
    readEv_.add();
    // Decrypted bytes OpenSSL holds raise no socket event: read them now.
    if (clientTransport_->hasBufferedInput()) readEv_.activate(EV_READ);
  } else {
    readEv_.remove();
  }
}

void Session::wantClientWrite(bool on) {
  streamWantsWrite_ = on;
  updateClientWriteEvent();
}

void Session::updateClientWriteEvent() {
  // A TLS handshake flight larger than the socket takes goes on when the socket drains, even
  // though the stream itself has nothing to send (it would otherwise stall until a timeout).
  bool on = !dead_ && (streamWantsWrite_ || clientTransport_->readNeedsWritable());
  if (on == writing_) return;
  writing_ = on;
  if (on)
    writeEv_.add();
  else
    writeEv_.remove();
}

int64_t Session::nowUs() const {
  timeval tv;
  event_base_gettimeofday_cached(worker_.base(), &tv);  // one clock read per loop iteration
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

void Session::addTimer(int64_t inUs) {
  timerFiresUs_ = nowUs() + inUs;
  timerPending_ = true;
  timerEv_.add(worker_.timeout(Duration(inUs)));
}

void Session::armTimer(Duration d) {
  if (dead_) return;
  deadlineUs_ = nowUs() + d.count();
  if (!timerPending_ || deadlineUs_ < timerFiresUs_) addTimer(d.count());
}

void Session::disarmTimer() {
  deadlineUs_ = INT64_MAX;
}

void Session::close() {
  if (dead_) return;
  readEv_.remove();
  writeEv_.remove();
  timerEv_.remove();
  reading_ = writing_ = false;
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

void Session::onClientEvent(short what) {
  if (what & EV_WRITE) {
    if (clientTransport_->readNeedsWritable()) {
      // A TLS read stalled on writing its own records (handshake): retry it first.
      onClientReadable();
      if (dead_) return;
    }
    if (streamWantsWrite_) onClientWritable();
  } else {
    onClientReadable();
  }
}

void Session::onTimerEvent() {
  timerPending_ = false;
  if (deadlineUs_ == INT64_MAX) return;
  int64_t left = deadlineUs_ - nowUs();
  if (left > 0) return addTimer(left);  // the deadline moved on since it was armed
  deadlineUs_ = INT64_MAX;
  onTimeout();
}

ssize_t Session::readClient(IoBuffer& buf) {
  ssize_t n = clientTransport_->read(buf);
  // The rest of a record OpenSSL already decrypted raises no socket event.
  if (n > 0 && reading_ && clientTransport_->hasBufferedInput()) readEv_.activate(EV_READ);
  updateClientWriteEvent();  // a TLS read may now wait for the socket to take its records
  return n;
}

Session::ConnectResult Session::connectServer(BackendRuntime& backend, const PickContext& ctx,
                                              const ServerRuntime* avoid) {
  backend_ = &backend;
  PickFailure why;
  ServerRuntime* s = worker_.balancer(backend).pick(ctx, avoid, &why);
  if (!s) return why == PickFailure::AllFull ? ConnectResult::Full : ConnectResult::NoServer;
  server_ = s;
  serverConn_ = worker_.connectionPool().take(*s);
  if (serverConn_) {
    serverConn_->setOwner(this);
    return ConnectResult::Connecting;
  }
  int err = 0;
  UniqueFd fd = connectNonBlocking(s->address, s->addressLength, &err);
  if (!fd) {
    releaseServer(false);
    return ConnectResult::Failed;
  }
  serverConn_ = std::make_unique<ServerConnection>(worker_, *s, std::move(fd));
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
      if (serverConn_->connected) return onServerConnected();  // a pooled connection
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
  if (attempts_ <= backend_->config->retries) {
    if (!backend_->config->redispatch) lastFailed_ = nullptr;
    return startConnect();
  }
  onGiveUp();
}

bool Session::retryFromQueue() {
  startConnect();
  return !queuedOn_;
}

}  // namespace tandem::proxy
