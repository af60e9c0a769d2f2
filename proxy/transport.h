// The bytes of one socket, plain or TLS, behind one interface. The client side (Session) and the
// server side (ServerConnection) both read and write through it, so TLS to servers (and other
// layers later) plug in under either without a second copy: HAProxy's xprt_ops (raw_sock,
// ssl_sock), Envoy's TransportSocket.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <memory>

#include "common/fd.h"
#include "proxy/io_buffer.h"
#include "proxy/tls_context.h"

namespace tandem::proxy {

class Transport {
 public:
  // read() and write() results besides a byte count: nothing more until the socket is ready
  // again, or a failure that ends the connection.
  static constexpr ssize_t kAgain = -1;
  static constexpr ssize_t kError = -2;

  explicit Transport(UniqueFd fd) : fd_(std::move(fd)) {}
  virtual ~Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  int fd() const { return fd_.get(); }

  // Reads into buf's free space: bytes read, 0 at the end of the stream, kAgain or kError.
  virtual ssize_t read(IoBuffer& buf) = 0;
  // Sends the pieces in order: bytes taken (possibly fewer than offered), kAgain or kError.
  // After a short write or kAgain, the next call offers the bytes not taken first.
  virtual ssize_t write(const iovec* iov, int count) = 0;
  // No more data from this side: FIN (after close_notify on TLS).
  virtual void shutdownWrite() = 0;
  // The connection ends and the socket closes now (its owner may be deleted later).
  // `clean`: everything meant was delivered (TLS says close_notify then; never after a failure,
  // so a cut message cannot pass for a complete one).
  void close(bool clean) {
    sayGoodbye(clean);
    fd_.reset();
  }

  virtual bool secure() const { return false; }
  virtual bool handshakeDone() const { return true; }
  // Reading waits for the socket to turn writable (a TLS handshake flight that did not fit
  // the socket): the owner keeps write interest while this holds and calls read() when the
  // socket is writable, whatever it has to send itself.
  virtual bool readNeedsWritable() const { return false; }
  // Input already taken off the socket (decrypted TLS records): no socket event announces it.
  virtual bool hasBufferedInput() const { return false; }
  // Output committed but not on the wire yet (a TLS record after WANT_WRITE): the next write
  // must offer the same bytes again, so the output can no longer be replaced, only aborted.
  virtual bool outputCommitted() const { return false; }

 protected:
  // The protocol's last words before the socket closes (TLS: close_notify).
  virtual void sayGoodbye(bool clean) {}
  UniqueFd fd_;
};

using TransportPtr = std::unique_ptr<Transport>;

// Plain TCP (HAProxy's raw_sock).
class RawTransport final : public Transport {
 public:
  using Transport::Transport;
  ssize_t read(IoBuffer& buf) override;
  ssize_t write(const iovec* iov, int count) override;
  void shutdownWrite() override;
};

// TLS over TCP with OpenSSL (HAProxy's ssl_sock); the handshake runs inside the first reads.
class TlsTransport final : public Transport {
 public:
  // Server side of a TLS bind: the certificate is chosen by SNI during the handshake. Null when
  // OpenSSL cannot allocate the connection state.
  static std::unique_ptr<TlsTransport> accept(UniqueFd fd, const TlsContext& context);

  ssize_t read(IoBuffer& buf) override;
  ssize_t write(const iovec* iov, int count) override;
  void shutdownWrite() override;

  bool secure() const override { return true; }
  bool handshakeDone() const override;
  bool readNeedsWritable() const override { return readWantsWrite_; }
  bool hasBufferedInput() const override;
  bool outputCommitted() const override { return committed_ > 0; }

 private:
  TlsTransport(UniqueFd fd, SslPtr ssl) : Transport(std::move(fd)), ssl_(std::move(ssl)) {}
  void sayGoodbye(bool clean) override;

  SslPtr ssl_;
  bool readWantsWrite_ = false;
  bool fatal_ = false;    // after a TLS failure: no close_notify
  size_t committed_ = 0;  // bytes of the last SSL_write that stopped on WANT_WRITE
};

}  // namespace tandem::proxy
