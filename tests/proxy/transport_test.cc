// The transports on real sockets (a socketpair) and, for TLS, a real OpenSSL client on the other
// end: the contracts Session and ServerConnection rely on, and the TLS rules that keep a
// connection from stalling or sending bytes nobody meant.
#include "proxy/transport.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace tandem::proxy {
namespace {

struct SocketPair {
  UniqueFd ours, theirs;
  explicit SocketPair(int sendBuffer = 0) {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    ours.reset(fds[0]);
    theirs.reset(fds[1]);
    if (sendBuffer) setsockopt(ours.get(), SOL_SOCKET, SO_SNDBUF, &sendBuffer, sizeof sendBuffer);
  }
};

std::string drain(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST(RawTransport, ReadsWritesAndTellsAgainEofAndErrors) {
  SocketPair p;
  EventBasePtr loop(event_base_new());
  RawTransport t(loop.get(), std::move(p.ours));
  auto buf = std::make_unique<IoBuffer>();
  EXPECT_EQ(t.read(*buf), Transport::kAgain);
  ASSERT_EQ(::write(p.theirs.get(), "hello", 5), 5);
  EXPECT_EQ(t.read(*buf), 5);
  EXPECT_EQ(std::string(buf->begin(), buf->size()), "hello");

  std::string head = "HEAD ", body = "BODY";
  iovec iov[2] = {{head.data(), head.size()}, {body.data(), body.size()}};
  EXPECT_EQ(t.write(iov, 2), 9);
  EXPECT_EQ(drain(p.theirs.get()), "HEAD BODY");

  t.shutdownWrite();
  EXPECT_EQ(::read(p.theirs.get(), buf->end(), 1), 0);  // our FIN
  p.theirs.reset();
  EXPECT_EQ(t.read(*buf), 0);                     // their end
  EXPECT_EQ(t.write(iov, 1), Transport::kError);  // EPIPE, without SIGPIPE
  EXPECT_FALSE(t.secure());
  EXPECT_TRUE(t.handshakeDone());
  EXPECT_FALSE(t.outputCommitted());
}

// A self-signed P-256 certificate, a chain of 60 copies of it (a flight of about 24 KiB) and its
// key in one PEM file (the `crt` format).
class TlsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // OpenSSL's socket BIO writes with send(..., 0)
    char path[] = "/tmp/tandem-transport-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    pem_ = path;
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("a.test"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    FILE* f = fopen(path, "w");
    for (int i = 0; i < 61; ++i) PEM_write_X509(f, cert);
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    fclose(f);
    X509_free(cert);
    EVP_PKEY_free(key);

    Bind bind;
    bind.ssl = true;
    bind.certificates = {pem_};
    std::string error;
    context_ = TlsContext::build(bind, TlsDefaults{}, Mode::Tcp, &error);
    ASSERT_TRUE(context_) << error;
    clientCtx_.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_verify(clientCtx_.get(), SSL_VERIFY_NONE, nullptr);
  }
  void TearDown() override { unlink(pem_.c_str()); }

  // A TLS server transport on `ours` and an OpenSSL client on `theirs`, handshaken.
  std::unique_ptr<TlsTransport> connect(SocketPair& p) {
    auto server = TlsTransport::accept(loop_.get(), std::move(p.ours), *context_);
    client_.reset(SSL_new(clientCtx_.get()));
    SSL_set_fd(client_.get(), p.theirs.get());
    SSL_set_connect_state(client_.get());
    auto buf = std::make_unique<IoBuffer>();
    for (int i = 0; i < 100 && !(server->handshakeDone() && SSL_is_init_finished(client_.get()));
         ++i) {
      SSL_do_handshake(client_.get());
      EXPECT_NE(server->read(*buf), Transport::kError) << opensslError();
    }
    EXPECT_TRUE(server->handshakeDone());
    return server;
  }
  // What the client decrypts from everything the server sent so far.
  std::string clientReads() {
    std::string out;
    char buf[65536];
    int n;
    while ((n = SSL_read(client_.get(), buf, sizeof buf)) > 0) out.append(buf, n);
    return out;
  }

  EventBasePtr loop_{event_base_new()};
  std::string pem_;
  std::unique_ptr<TlsContext> context_;
  SslCtxPtr clientCtx_;
  SslPtr client_;
};

TEST_F(TlsTransportTest, OneWriteSendsEverythingTheSocketTakes) {
  SocketPair p(1 << 20);
  auto t = connect(p);
  std::string head(100, 'h'), body(60000, 'b');
  iovec iov[2] = {{head.data(), head.size()}, {body.data(), body.size()}};
  // Several records from one call (one SSL_write each would stop after 16 KiB).
  EXPECT_EQ(t->write(iov, 2), static_cast<ssize_t>(head.size() + body.size()));
  EXPECT_EQ(clientReads(), head + body);
  EXPECT_FALSE(t->outputCommitted());
}

TEST_F(TlsTransportTest, AHandshakeFlightLargerThanTheSocketWaitsForItToDrain) {
  SocketPair p(4096);
  int small = 4096;
  setsockopt(p.theirs.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  auto server = TlsTransport::accept(loop_.get(), std::move(p.ours), *context_);
  client_.reset(SSL_new(clientCtx_.get()));
  SSL_set_fd(client_.get(), p.theirs.get());
  SSL_set_connect_state(client_.get());
  SSL_do_handshake(client_.get());  // the ClientHello
  auto buf = std::make_unique<IoBuffer>();
  // The flight (about 24 KiB of certificates) does not fit the small socket: the read stops and
  // says it waits for the socket to drain, not for more input.
  ASSERT_EQ(server->read(*buf), Transport::kAgain) << opensslError();
  EXPECT_TRUE(server->readNeedsWritable());
  EXPECT_FALSE(server->handshakeDone());
  int rounds = 0;
  for (int i = 0; i < 1000 && !(server->handshakeDone() && SSL_is_init_finished(client_.get()));
       ++i) {
    SSL_do_handshake(client_.get());  // the client drains the socket
    if (server->readNeedsWritable()) ++rounds;
    EXPECT_NE(server->read(*buf), Transport::kError);
  }
  EXPECT_GE(rounds, 1);
  EXPECT_TRUE(server->handshakeDone());
  EXPECT_TRUE(SSL_is_init_finished(client_.get()));
  EXPECT_FALSE(server->readNeedsWritable());
}

TEST_F(TlsTransportTest, CommittedOutputMustBeOfferedAgainAndCannotShrink) {
  SocketPair p(4096);
  auto t = connect(p);
  std::string data(200000, 'd');
  size_t sent = 0;
  ssize_t n;
  // Until the socket is full: the last record is encrypted and held by OpenSSL.
  while ((n = t->write(std::array<iovec, 1>{{{data.data() + sent, data.size() - sent}}}.data(),
                       1)) > 0)
    sent += static_cast<size_t>(n);
  ASSERT_EQ(n, Transport::kAgain);
  EXPECT_TRUE(t->outputCommitted());
  // Offering less than the committed record would put bytes on the wire nobody means now.
  std::string shorter(10, 'z');
  iovec small{shorter.data(), shorter.size()};
  EXPECT_EQ(t->write(&small, 1), Transport::kError);
}

TEST_F(TlsTransportTest, CommittedOutputGoesOutWhenTheSocketDrains) {
  SocketPair p(4096);
  auto t = connect(p);
  std::string data(100000, 'd');
  size_t sent = 0;
  std::string received;
  for (int i = 0; i < 10000 && sent < data.size(); ++i) {
    iovec iov{data.data() + sent, data.size() - sent};
    ssize_t n = t->write(&iov, 1);
    ASSERT_NE(n, Transport::kError);
    if (n > 0) sent += static_cast<size_t>(n);
    if (t->outputCommitted()) received += clientReads();  // drain, then offer the same again
  }
  received += clientReads();
  EXPECT_EQ(sent, data.size());
  EXPECT_EQ(received, data);
  EXPECT_FALSE(t->outputCommitted());
}

TEST_F(TlsTransportTest, CloseNotifyOnlyAfterACleanEnd) {
  {
    SocketPair p;
    auto t = connect(p);
    t->close(true);
    EXPECT_EQ(t->fd(), -1);  // the socket is closed at once
    char c;
    EXPECT_EQ(SSL_read(client_.get(), &c, 1), 0);
    EXPECT_EQ(SSL_get_error(client_.get(), 0), SSL_ERROR_ZERO_RETURN);  // close_notify came
  }
  {
    SocketPair p;
    auto t = connect(p);
    t->close(false);
    char c;
    int n = SSL_read(client_.get(), &c, 1);
    EXPECT_LE(n, 0);
    // The socket ended without close_notify: the client can tell a cut stream from an end.
    EXPECT_NE(SSL_get_error(client_.get(), n), SSL_ERROR_ZERO_RETURN);
    EXPECT_NE(SSL_get_error(client_.get(), n), SSL_ERROR_WANT_READ);
  }
}

TEST_F(TlsTransportTest, NothingIsWrittenBeforeTheHandshake) {
  SocketPair p;
  auto t = TlsTransport::accept(loop_.get(), std::move(p.ours), *context_);
  std::string s = "HTTP/1.1 408";
  iovec iov{s.data(), s.size()};
  EXPECT_EQ(t->write(&iov, 1), Transport::kError);
  EXPECT_TRUE(t->secure());
  EXPECT_FALSE(t->handshakeDone());
}

}  // namespace
}  // namespace tandem::proxy
