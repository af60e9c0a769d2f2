// The bytes of one socket, plain or TLS, behind one interface. The client side (Session) and the
// server side (ServerConnection) both read and write through it, so TLS to servers (and other
// layers later) plug in under either without a second copy: HAProxy's xprt_ops (raw_sock,
// ssl_sock), Envoy's TransportSocket.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/event.h"
#include "common/fd.h"
#include "proxy/io_buffer.h"
#include "proxy/sample_fetch.h"
#include "proxy/tls_context.h"

namespace tandem::proxy {

class Transport {
 public:
  // Hears the connection's readiness: the client side's session, a server connection.
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void onReadable() = 0;
    virtual void onWritable() = 0;
  };

  // read() and write() results besides a byte count: nothing more until the connection is ready
  // again, or a failure that ends the connection.
  static constexpr ssize_t kAgain = -1;
  static constexpr ssize_t kError = -2;

  Transport() = default;
  virtual ~Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Readiness goes to `handler` from now on (null: to nobody).
  void setHandler(Handler* handler) { handler_ = handler; }
  // Interest in reading / in writing: the handler hears onReadable() / onWritable() while it is
  // on and the connection is ready. Reading input the transport already holds (decrypted TLS
  // records) needs no socket event: it is announced all the same.
  virtual void wantRead(bool on) = 0;
  virtual void wantWrite(bool on) = 0;

  // Reads into buf's free space: bytes read, 0 at the end of the stream, kAgain or kError.
  virtual ssize_t read(IoBuffer& buf) = 0;
  // Sends the pieces in order: bytes taken (possibly fewer than offered), kAgain or kError.
  // After a short write or kAgain, the next call offers the bytes not taken first.
  virtual ssize_t write(const iovec* iov, int count) = 0;
  // No more data from this side: FIN (after close_notify on TLS).
  virtual void shutdownWrite() = 0;
  // The connection ends now: no more readiness, the socket closes (the transport object may be
  // deleted later). `clean`: everything meant was delivered (TLS says close_notify then; never
  // after a failure, so a cut message cannot pass for a complete one).
  virtual void close(bool clean) = 0;
  // For a connection being opened (a server connection), once it turned writable: 0 when the
  // connect succeeded, else its errno (EPROTO: a TLS handshake with the server failed).
  virtual int connectError() const { return 0; }
  // Why a TLS handshake with a server failed, in words (empty otherwise).
  virtual std::string_view failureReason() const { return {}; }
  // A stream to an HTTP/2 server: the server refused it unprocessed (REFUSED_STREAM, or above
  // its GOAWAY's last stream), so the request may go again even where a retry would not.
  virtual bool refusedUnprocessed() const { return false; }
  // A stream to an HTTP/2 server: the request is one HTTP/2 cannot carry (an Upgrade), never
  // sent. No other server of the kind would take it either: not a server failure.
  virtual bool requestRejected() const { return false; }
  // The local end's address (the one a client connected to); false when unknown.
  virtual bool localAddress(sockaddr_storage* out) const { return false; }

  virtual bool secure() const { return false; }
  // The client certificate of a TLS connection after its handshake (mutual TLS).
  virtual PeerCertificate peerCertificate() const { return {}; }
  virtual bool handshakeDone() const { return true; }
  // The protocol the TLS handshake agreed on by ALPN ("h2", "http/1.1"), empty for none.
  virtual std::string_view alpnProtocol() const { return {}; }
  // The name the client sent in its TLS SNI, empty for none.
  virtual std::string_view serverName() const { return {}; }
  // Output committed but not on the wire yet (a TLS record after WANT_WRITE): the next write
  // must offer the same bytes again, so the output can no longer be replaced, only aborted.
  virtual bool outputCommitted() const { return false; }

 protected:
  Handler* handler_ = nullptr;
};

using TransportPtr = std::unique_ptr<Transport>;

// A transport over a non-blocking socket whose readiness libevent watches on the owner's loop.
class SocketTransport : public Transport {
 public:
  SocketTransport(event_base* loop, UniqueFd fd);
  int fd() const { return fd_.get(); }

  void wantRead(bool on) override;
  void wantWrite(bool on) override;
  void close(bool clean) override;
  int connectError() const override;
  bool localAddress(sockaddr_storage* out) const override;

  // Reading waits for the socket to turn writable (a TLS handshake flight that did not fit
  // the socket): write interest stays on while this holds, and the writable socket is announced
  // as readable, whatever the handler has to send itself.
  virtual bool readNeedsWritable() const { return false; }
  // Input already taken off the socket (decrypted TLS records): no socket event announces it.
  virtual bool hasBufferedInput() const { return false; }

 protected:
  // A transport that has work of its own before the handler hears anything (a TLS client's
  // handshake): it takes the socket's readiness while this returns true, with the interest
  // below instead of the handler's.
  virtual bool handlesEvent(short what) { return false; }
  virtual bool ownInterest(bool* read, bool* write) const { return false; }
  // Applies the interest: the handler's, or the transport's own while it has one.
  void updateInterest();
  // The handler hears it was waiting to write (a TLS client: the connection is ready).
  void announceWritable() {
    if (handler_) handler_->onWritable();
  }
  // After every read: input left in the transport is announced without a socket event, and a
  // read that now waits to write keeps write interest.
  void afterRead(ssize_t n);
  // The protocol's last words before the socket closes (TLS: close_notify).
  virtual void sayGoodbye(bool clean) {}
  UniqueFd fd_;

 private:
  void onEvent(short what);
  void updateWriteEvent();
  Event readEv_;
  Event writeEv_;
  bool reading_ = false;        // readEv_ is registered
  bool writing_ = false;        // writeEv_ is registered
  bool handlerReads_ = false;   // the handler wants input
  bool handlerWrites_ = false;  // the handler has output waiting
};

// Plain TCP (HAProxy's raw_sock).
class RawTransport final : public SocketTransport {
 public:
  using SocketTransport::SocketTransport;
  ssize_t read(IoBuffer& buf) override;
  ssize_t write(const iovec* iov, int count) override;
  void shutdownWrite() override;
};

// TLS over TCP with OpenSSL (HAProxy's ssl_sock); the handshake runs inside the first reads.
class TlsTransport final : public SocketTransport {
 public:
  // Server side of a TLS bind: the certificate is chosen by SNI during the handshake. Null when
  // OpenSSL cannot allocate the connection state.
  static std::unique_ptr<TlsTransport> accept(event_base* loop, UniqueFd fd,
                                              const TlsContext& context);
  // Client side, to a server, on a connect in progress: once TCP is up, `preface` (a PROXY
  // header) goes out as it is, then the handshake runs; the handler, waiting to write, hears
  // onWritable() when it is done, or failed (connectError() says so, failureReason() why).
  static std::unique_ptr<TlsTransport> connect(event_base* loop, UniqueFd fd, SslPtr ssl,
                                               std::string preface);
  int connectError() const override;
  // Why the handshake with a server failed (the certificate check's verdict, or OpenSSL's).
  std::string_view failureReason() const override { return failure_; }

  ssize_t read(IoBuffer& buf) override;
  ssize_t write(const iovec* iov, int count) override;
  void shutdownWrite() override;

  bool secure() const override { return true; }
  PeerCertificate peerCertificate() const override;
  bool handshakeDone() const override;
  std::string_view alpnProtocol() const override;
  std::string_view serverName() const override;
  bool readNeedsWritable() const override { return readWantsWrite_; }
  bool hasBufferedInput() const override;
  bool outputCommitted() const override { return committed_ > 0; }

 private:
  TlsTransport(event_base* loop, UniqueFd fd, SslPtr ssl)
      : SocketTransport(loop, std::move(fd)), ssl_(std::move(ssl)) {}
  void sayGoodbye(bool clean) override;
  ssize_t readRecords(IoBuffer& buf);
  bool handlesEvent(short what) override;
  bool ownInterest(bool* read, bool* write) const override;
  void driveHandshake();
  void failHandshake(int error);

  // A client's way to a usable connection.
  enum class Client { No, TcpConnecting, Handshaking, Ready, Failed };
  Client client_ = Client::No;
  bool handshakeWantsWrite_ = false;
  int connectError_ = 0;
  std::string preface_;
  std::string failure_;
  SslPtr ssl_;
  bool readWantsWrite_ = false;
  bool fatal_ = false;    // after a TLS failure: no close_notify
  size_t committed_ = 0;  // bytes of the last SSL_write that stopped on WANT_WRITE
};

}  // namespace tandem::proxy
