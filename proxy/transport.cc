#include "proxy/transport.h"

#include "common/socket.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

namespace tandem::proxy {

namespace {

ssize_t errnoResult() {
  return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? Transport::kAgain
                                                                     : Transport::kError;
}

}  // namespace

// --- socket readiness ---------------------------------------------------------------------

SocketTransport::SocketTransport(event_base* loop, UniqueFd fd) : fd_(std::move(fd)) {
  auto onSocket = [this](short what) { onEvent(what); };
  readEv_.assign(loop, fd_.get(), EV_READ | EV_PERSIST, onSocket);
  writeEv_.assign(loop, fd_.get(), EV_WRITE | EV_PERSIST, onSocket);
}

void SocketTransport::wantRead(bool on) {
  if (on == handlerReads_ || !fd_) return;
  handlerReads_ = on;
  bool own = false, ownWrite = false;
  if (ownInterest(&own, &ownWrite)) return updateInterest();
  reading_ = on;
  if (on) {
    readEv_.add();
    // Decrypted bytes OpenSSL holds raise no socket event: read them now.
    if (hasBufferedInput()) readEv_.activate(EV_READ);
  } else {
    readEv_.remove();
  }
}

void SocketTransport::wantWrite(bool on) {
  handlerWrites_ = on;
  updateWriteEvent();
}

void SocketTransport::updateInterest() {
  bool read = handlerReads_, write = false;
  bool own = ownInterest(&read, &write);
  read = read && fd_;
  if (read != reading_) {
    reading_ = read;
    if (read) {
      readEv_.add();
      if (!own && hasBufferedInput()) readEv_.activate(EV_READ);
    } else {
      readEv_.remove();
    }
  }
  if (own) {
    write = write && fd_;
    if (write != writing_) {
      writing_ = write;
      write ? writeEv_.add() : writeEv_.remove();
    }
    return;
  }
  updateWriteEvent();
}

void SocketTransport::updateWriteEvent() {
  bool ownRead = false, ownWrite = false;
  if (ownInterest(&ownRead, &ownWrite)) return updateInterest();
  // A TLS handshake flight larger than the socket takes goes on when the socket drains, even
  // though the handler itself has nothing to send (it would otherwise stall until a timeout).
  bool on = fd_ && (handlerWrites_ || readNeedsWritable());
  if (on == writing_) return;
  writing_ = on;
  if (on)
    writeEv_.add();
  else
    writeEv_.remove();
}

void SocketTransport::afterRead(ssize_t n) {
  // The rest of a record OpenSSL already decrypted raises no socket event.
  if (n > 0 && reading_ && hasBufferedInput()) readEv_.activate(EV_READ);
  updateWriteEvent();  // a TLS read may now wait for the socket to take its records
}

void SocketTransport::onEvent(short what) {
  if (handlesEvent(what)) return;
  if (!handler_) return;
  // The handler may close, release or delete this transport inside its callback: one call,
  // and nothing touched after it. A writable socket that a waiting read needs goes to the read
  // first; the handler's own write follows on the next loop pass (the event persists and the
  // socket is still writable).
  if ((what & EV_WRITE) && !readNeedsWritable()) {
    if (handlerWrites_) handler_->onWritable();
    return;
  }
  handler_->onReadable();
}

void SocketTransport::close(bool clean) {
  readEv_.remove();
  writeEv_.remove();
  reading_ = writing_ = handlerReads_ = handlerWrites_ = false;
  if (!fd_) return;
  sayGoodbye(clean);
  fd_.reset();
}

int SocketTransport::connectError() const {
  return socketError(fd_.get());
}

bool SocketTransport::localAddress(sockaddr_storage* out) const {
  socklen_t len = sizeof(*out);
  return fd_ && ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(out), &len) == 0;
}

// --- raw -----------------------------------------------------------------------------------

ssize_t RawTransport::read(IoBuffer& buf) {
  // recv/send rather than read/writev: the socket calls skip the VFS file-position layer.
  ssize_t n = ::recv(fd_.get(), buf.end(), buf.space(), 0);
  if (n > 0) {
    buf.produced(static_cast<size_t>(n));
    return n;
  }
  return n == 0 ? 0 : errnoResult();  // no afterRead(): nothing is ever buffered here
}

ssize_t RawTransport::write(const iovec* iov, int count) {
  ssize_t n;
  if (count == 1) {
    // One piece (a body-less request, a body chunk): send() skips sendmsg's msghdr and iovec
    // copies in the kernel.
    n = ::send(fd_.get(), iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
  } else {
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(iov);
    msg.msg_iovlen = static_cast<size_t>(count);
    n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
  }
  return n >= 0 ? n : errnoResult();
}

void RawTransport::shutdownWrite() {
  ::shutdown(fd_.get(), SHUT_WR);
}

// --- TLS -----------------------------------------------------------------------------------

std::unique_ptr<TlsTransport> TlsTransport::accept(event_base* loop, UniqueFd fd,
                                                   const TlsContext& context) {
  SslPtr ssl = context.accept(fd.get());
  if (!ssl) return nullptr;
  return std::unique_ptr<TlsTransport>(new TlsTransport(loop, std::move(fd), std::move(ssl)));
}

std::unique_ptr<TlsTransport> TlsTransport::connect(event_base* loop, UniqueFd fd, SslPtr ssl,
                                                    std::string preface) {
  auto t = std::unique_ptr<TlsTransport>(new TlsTransport(loop, std::move(fd), std::move(ssl)));
  t->client_ = Client::TcpConnecting;
  t->preface_ = std::move(preface);
  return t;
}

int TlsTransport::connectError() const {
  if (client_ == Client::Failed) return connectError_;
  return client_ == Client::No ? SocketTransport::connectError() : 0;
}

bool TlsTransport::ownInterest(bool* read, bool* write) const {
  switch (client_) {
    case Client::TcpConnecting:  // writable: connected (or refused)
      *read = false;
      *write = true;
      return true;
    case Client::Handshaking:
      *read = !handshakeWantsWrite_;
      *write = handshakeWantsWrite_;
      return true;
    default:
      return false;
  }
}

bool TlsTransport::handlesEvent(short) {
  if (client_ != Client::TcpConnecting && client_ != Client::Handshaking) return false;
  if (client_ == Client::TcpConnecting) {
    if (int err = SocketTransport::connectError()) {
      failure_ = std::string("connect: ") + std::strerror(err);
      failHandshake(err);
      return true;
    }
    // The PROXY header goes first and in the clear: the server reads it before any TLS.
    if (!preface_.empty()) {
      ssize_t n = ::send(fd_.get(), preface_.data(), preface_.size(), MSG_NOSIGNAL);
      if (n != static_cast<ssize_t>(preface_.size())) {
        failure_ = "the PROXY header did not fit a fresh connection";
        failHandshake(EPROTO);
        return true;
      }
      preface_.clear();
    }
    client_ = Client::Handshaking;
  }
  driveHandshake();
  return true;
}

void TlsTransport::driveHandshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    client_ = Client::Ready;
    updateInterest();  // the handler's interest from now on
    announceWritable();
    return;
  }
  switch (SSL_get_error(ssl_.get(), r)) {
    case SSL_ERROR_WANT_READ:
      handshakeWantsWrite_ = false;
      return updateInterest();
    case SSL_ERROR_WANT_WRITE:
      handshakeWantsWrite_ = true;
      return updateInterest();
    default: {
      long verdict = SSL_get_verify_result(ssl_.get());
      if (verdict != X509_V_OK)
        failure_ =
            std::string("certificate verify failed: ") + X509_verify_cert_error_string(verdict);
      else
        failure_ = "handshake failed: " + opensslError();
      ERR_clear_error();
      failHandshake(EPROTO);
    }
  }
}

void TlsTransport::failHandshake(int error) {
  client_ = Client::Failed;
  connectError_ = error;
  fatal_ = true;
  updateInterest();
  announceWritable();  // the handler reads connectError()
}

bool TlsTransport::handshakeDone() const {
  return SSL_is_init_finished(ssl_.get());
}

std::string_view TlsTransport::alpnProtocol() const {
  const unsigned char* p = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_.get(), &p, &length);
  return p ? std::string_view(reinterpret_cast<const char*>(p), length) : std::string_view();
}

std::string_view TlsTransport::serverName() const {
  const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
  return name ? std::string_view(name) : std::string_view();
}

PeerCertificate TlsTransport::peerCertificate() const {
  PeerCertificate c;
  X509* cert = SSL_get0_peer_certificate(ssl_.get());
  if (!cert) return c;
  c.presented = true;
  c.verifyResult = SSL_get_verify_result(ssl_.get());
  char subject[1024];
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
  c.subject = subject;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) == 1) {
    static const char kHex[] = "0123456789ABCDEF";
    for (unsigned int i = 0; i < length; ++i) {
      c.sha256 += kHex[digest[i] >> 4];
      c.sha256 += kHex[digest[i] & 0xF];
    }
  }
  return c;
}

bool TlsTransport::hasBufferedInput() const {
  return SSL_has_pending(ssl_.get());
}

ssize_t TlsTransport::read(IoBuffer& buf) {
  ssize_t n = readRecords(buf);
  afterRead(n);
  return n;
}

ssize_t TlsTransport::readRecords(IoBuffer& buf) {
  readWantsWrite_ = false;
  ERR_clear_error();
  size_t want = std::min<size_t>(buf.space(), INT_MAX);
  int n = SSL_read(ssl_.get(), buf.end(), static_cast<int>(want));
  if (n > 0) {
    buf.produced(static_cast<size_t>(n));
    return n;
  }
  switch (SSL_get_error(ssl_.get(), n)) {
    case SSL_ERROR_WANT_READ:
      return kAgain;
    case SSL_ERROR_WANT_WRITE:  // its own records (a handshake flight) wait for the socket
      readWantsWrite_ = true;
      return kAgain;
    case SSL_ERROR_ZERO_RETURN:  // close_notify, or an EOF (SSL_OP_IGNORE_UNEXPECTED_EOF)
      return 0;
    default:  // a failed handshake, a bad record, a reset
      fatal_ = true;
      // To a server, why it ended (its alert: "tlsv13 alert certificate required").
      if (client_ != Client::No && ERR_peek_error() != 0) failure_ = opensslError();
      ERR_clear_error();
      return kError;
  }
}

ssize_t TlsTransport::write(const iovec* iov, int count) {
  // Nothing can be said before the handshake is done (a 408 to a client that never finished
  // its hello, say): SSL_write would only ask to read while the socket stays writable.
  if (fatal_ || !handshakeDone()) return kError;
  // Head and body in the same records: gather them.
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
  // After WANT_WRITE OpenSSL holds an encrypted record of the first `committed_` bytes offered:
  // fewer bytes now would send data the caller no longer means (SSL_MODE_ACCEPT_MOVING_WRITE_
  // BUFFER lets them move, not change).
  if (len < committed_) {
    fatal_ = true;
    return kError;
  }
  // One record per SSL_write (partial writes are on): go on until the socket is full.
  size_t sent = 0;
  while (sent < len) {
    size_t chunk = std::min<size_t>(len - sent, INT_MAX);
    ERR_clear_error();
    int n = SSL_write(ssl_.get(), data + sent, static_cast<int>(chunk));
    if (n > 0) {
      committed_ = 0;
      sent += static_cast<size_t>(n);
      continue;
    }
    if (SSL_get_error(ssl_.get(), n) == SSL_ERROR_WANT_WRITE) {
      committed_ = std::min<size_t>(chunk, SSL3_RT_MAX_PLAIN_LENGTH);
      break;
    }
    // WANT_READ cannot happen without renegotiation: a failure like the others.
    fatal_ = true;
    ERR_clear_error();
    return kError;
  }
  return sent > 0 ? static_cast<ssize_t>(sent) : kAgain;
}

void TlsTransport::sayGoodbye(bool clean) {
  // close_notify, best effort and never waited for, once a handshake finished cleanly.
  if (!clean) fatal_ = true;
  if (fatal_ || !handshakeDone()) return;
  ERR_clear_error();
  SSL_shutdown(ssl_.get());
  ERR_clear_error();
}

void TlsTransport::shutdownWrite() {
  sayGoodbye(true);  // the TLS way to say "no more data"
  ::shutdown(fd_.get(), SHUT_WR);
}

}  // namespace tandem::proxy
