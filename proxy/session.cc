#include "proxy/session.h"

#include <openssl/err.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "proxy/socket_util.h"
#include "proxy/worker.h"

namespace tandem::proxy {

Session::Session(Worker& worker, FrontendRuntime& frontend, UniqueFd fd,
                 const sockaddr_storage& peer, const TlsContext* tls)
    : worker_(worker), frontend_(frontend), fd_(std::move(fd)), client_(peerAddress(peer)) {
  if (tls) {
    ssl_ = tls->accept(fd_.get());
    if (!ssl_) {
      tlsFatal_ = true;
      dead_ = true;  // out of memory in OpenSSL: drop the connection
    }
  }
  event_assign(&readEv_, worker_.base(), fd_.get(), EV_READ | EV_PERSIST, onClientEvent, this);
  event_assign(&writeEv_, worker_.base(), fd_.get(), EV_WRITE | EV_PERSIST, onClientEvent, this);
  event_assign(&timerEv_, worker_.base(), -1, 0, onTimerEvent, this);
  frontend_.connections.fetch_add(1, std::memory_order_relaxed);
  worker_.runtime().connections().fetch_add(1, std::memory_order_relaxed);
}

Session::~Session() {
  leaveQueue();
  event_del(&readEv_);
  event_del(&writeEv_);
  event_del(&timerEv_);
  if (serverConn_ || server_) releaseServer(false);
  worker_.buffers().release(in_);
  frontend_.connections.fetch_sub(1, std::memory_order_relaxed);
  worker_.runtime().connections().fetch_sub(1, std::memory_order_relaxed);
}

void Session::wantClientRead(bool on) {
  if (on == reading_ || dead_) return;
  reading_ = on;
  if (on) {
    event_add(&readEv_, nullptr);
    // Decrypted bytes OpenSSL holds raise no socket event: read them now.
    if (ssl_ && SSL_has_pending(ssl_.get())) event_active(&readEv_, EV_READ, 1);
  } else {
    event_del(&readEv_);
  }
}

void Session::wantClientWrite(bool on) {
  if (on == writing_ || dead_) return;
  writing_ = on;
  if (on)
    event_add(&writeEv_, nullptr);
  else
    event_del(&writeEv_);
}

int64_t Session::nowUs() const {
  timeval tv;
  event_base_gettimeofday_cached(worker_.base(), &tv);  // one clock read per loop iteration
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

void Session::addTimer(int64_t inUs) {
  timerFiresUs_ = nowUs() + inUs;
  timerPending_ = true;
  event_add(&timerEv_, worker_.timeout(Duration(inUs)));
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
  // close_notify (best effort, never waited for) once a handshake finished cleanly.
  if (ssl_ && !tlsFatal_ && SSL_is_init_finished(ssl_.get())) {
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
  event_del(&readEv_);
  event_del(&writeEv_);
  event_del(&timerEv_);
  reading_ = writing_ = false;
  dead_ = true;
}

void Session::onClientEvent(evutil_socket_t, short what, void* arg) {
  auto* self = static_cast<Session*>(arg);
  if (what & EV_WRITE) {
    if (self->tlsReadWantsWrite_) {
      // A TLS read stalled on writing its own records (handshake): retry it first.
      self->tlsReadWantsWrite_ = false;
      self->onClientReadable();
      if (self->dead_) return self->worker_.destroy(self);
    }
    self->onClientWritable();
  } else {
    self->onClientReadable();
  }
  if (self->dead_) self->worker_.destroy(self);
}

void Session::afterServerEvent() {
  if (dead_) worker_.destroy(this);
}

void Session::onTimerEvent(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Session*>(arg);
  self->timerPending_ = false;
  if (self->deadlineUs_ == INT64_MAX) return;
  int64_t left = self->deadlineUs_ - self->nowUs();
  if (left > 0) return self->addTimer(left);  // the deadline moved on since it was armed
  self->deadlineUs_ = INT64_MAX;
  self->onTimeout();
  if (self->dead_) self->worker_.destroy(self);
}

ssize_t Session::readInto(int fd, IoBuffer& buf) {
  // recv/sendmsg rather than read/writev: the socket calls skip the VFS file-position layer.
  ssize_t n = ::recv(fd, buf.end(), buf.space(), 0);
  if (n > 0) {
    buf.produced(static_cast<size_t>(n));
    return n;
  }
  if (n == 0) return 0;
  return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -1 : -2;
}

ssize_t Session::sendv(int fd, iovec* iov, int count) {
  // One piece (a body-less request, a body chunk): send() skips sendmsg's msghdr and iovec
  // copies in the kernel.
  if (count == 1) return ::send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = static_cast<size_t>(count);
  return ::sendmsg(fd, &msg, MSG_NOSIGNAL);
}

ssize_t Session::readClient(IoBuffer& buf) {
  if (!ssl_) return readInto(fd_.get(), buf);
  ERR_clear_error();
  size_t want = std::min<size_t>(buf.space(), INT_MAX);
  int n = SSL_read(ssl_.get(), buf.end(), static_cast<int>(want));
  if (n > 0) {
    buf.produced(static_cast<size_t>(n));
    // The rest of a record OpenSSL already decrypted raises no socket event.
    if (reading_ && SSL_has_pending(ssl_.get())) event_active(&readEv_, EV_READ, 1);
    return n;
  }
  switch (SSL_get_error(ssl_.get(), n)) {
    case SSL_ERROR_WANT_READ:
      return -1;
    case SSL_ERROR_WANT_WRITE:
      tlsReadWantsWrite_ = true;
      wantClientWrite(true);
      return -1;
    case SSL_ERROR_ZERO_RETURN:  // close_notify, or an EOF (SSL_OP_IGNORE_UNEXPECTED_EOF)
      return 0;
    default:  // a failed handshake, a bad record, a reset
      tlsFatal_ = true;
      ERR_clear_error();
      return -2;
  }
}

ssize_t Session::sendClient(iovec* iov, int count) {
  if (!ssl_)
    return count == 1 ? ::send(fd_.get(), iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL)
                      : sendv(fd_.get(), iov, count);
  if (!SSL_is_init_finished(ssl_.get())) {
    // Nothing can be said before the handshake is done (a 408 to a client that never finished
    // its hello, say): SSL_write would only ask to read, and the socket stays writable.
    errno = EPIPE;
    return -1;
  }
  // One TLS record for a head and its body: gather them. A write retried after WANT_WRITE
  // offers the same bytes again (nothing was consumed), possibly more.
  const char* data = static_cast<const char*>(iov[0].iov_base);
  size_t len = iov[0].iov_len;
  thread_local std::string gathered;
  if (count > 1) {
    gathered.clear();
    for (int i = 0; i < count; ++i)
      gathered.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    data = gathered.data();
    len = gathered.size();
  }
  ERR_clear_error();
  int n = SSL_write(ssl_.get(), data, static_cast<int>(std::min<size_t>(len, INT_MAX)));
  if (n > 0) return n;
  switch (SSL_get_error(ssl_.get(), n)) {
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    default:  // WANT_READ cannot happen without renegotiation: a failure like the others
      tlsFatal_ = true;
      ERR_clear_error();
      errno = EPIPE;
      return -1;
  }
}

bool Session::tlsHandshakeDone() const {
  return !ssl_ || SSL_is_init_finished(ssl_.get());
}

void Session::shutdownClient() {
  if (ssl_ && !tlsFatal_ && SSL_is_init_finished(ssl_.get())) {
    ERR_clear_error();
    SSL_shutdown(ssl_.get());  // close_notify: the TLS way to say "no more data"
    ERR_clear_error();
  }
  ::shutdown(fd_.get(), SHUT_WR);
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
  if (queuedOn) worker_.dequeue(this);
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
      if (!queuedOn) {
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
  return !queuedOn;
}

}  // namespace tandem::proxy
