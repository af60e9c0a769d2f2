#include "proxy/tcp_stream.h"

#include <sys/socket.h>

#include "proxy/socket_util.h"
#include "proxy/worker.h"

namespace tandem::proxy {

TcpStream::TcpStream(Worker& worker, FrontendRuntime& frontend, TransportPtr client,
                     const IpAddress& clientAddress, uint16_t clientPort)
    : Session(worker, frontend, std::move(client), clientAddress, clientPort) {}

Duration TcpStream::idleTimeout() const {
  // Like HAProxy in TCP mode: the longer of the client and server inactivity timeouts.
  return std::max(frontend_.config->timeouts.client, backend_->config->timeouts.server);
}

void TcpStream::start() {
  backend_ = frontend_.defaultBackend;
  if (!backend_) return close();
  countersOf(*backend_).sessions.add();
  if (backend_->sniFromClient && tls() && !tlsHandshakeDone()) {
    // A server is sent the client's SNI: connect once the client's handshake has named it
    // (HAProxy finishes the handshake before the stream exists, so ssl_fc_sni is known).
    awaitingHandshake_ = true;
    armTimer(frontend_.config->timeouts.client);
    wantClientRead(true);
    return;
  }
  startConnect();
}

void TcpStream::stopWhenIdle(bool) {
  // A TCP session has no request boundary: it runs until it ends or the grace period does.
}

void TcpStream::onServerConnected() {
  if (!serverConn_->markConnected()) return retryOrGiveUp();
  connected_ = true;
  markServerConnected();
  connectTimedOut_ = false;
  armTimer(idleTimeout());
  flushToServer();
  if (!dead()) updateInterest();
}

void TcpStream::onServerWritable() {
  if (!serverConn_->connected()) {
    serverConn_->wantWrite(false);
    if (int error = serverConn_->transport().connectError()) {
      noteConnectFailure(error);
      return retryOrGiveUp();
    }
    return onServerConnected();
  }
  flushToServer();
  if (!dead()) {
    checkDone();
    updateInterest();
  }
}

void TcpStream::onClientReadable() {
  if (!in_) in_ = worker_.buffers().acquire();
  if (in_->space() == 0) {
    if (in_->head == 0) return wantClientRead(false);
    in_->compact();
  }
  ssize_t n = readClient(*in_);
  if (n == Transport::kAgain) {
    if (awaitingHandshake_ && tlsHandshakeDone()) {
      awaitingHandshake_ = false;
      startConnect();
      if (dead()) return;
    }
    if (tls()) updateInterest();  // the handshake may just have completed: see below
    return;
  }
  if (n == Transport::kError) {
    fail('C', connected_ ? 'D' : 'C');
    return close();
  }
  if (n > 0) bytesFromClient_ += static_cast<uint64_t>(n);
  if (awaitingHandshake_ && tlsHandshakeDone() && n != 0) {
    awaitingHandshake_ = false;
    startConnect();  // what was read waits in in_ until the server connection is up
    if (dead()) return;
  }
  // A TLS client gone before its handshake finished can never be answered, and the server's
  // side is not read until then: end the session now (it would wait for `timeout client`,
  // holding a server connection, and hold up a stop).
  if (n == 0 && !tlsHandshakeDone()) return close();
  if (n == 0) {
    clientEof_ = true;
    wantClientRead(false);
  }
  if (connected_) {
    armTimer(idleTimeout());
    flushToServer();
    if (dead()) return;
    checkDone();
  }
  if (!dead()) updateInterest();
}

void TcpStream::onServerReadable() {
  ServerConnection& sc = *serverConn_;
  if (!sc.input()) sc.input() = worker_.buffers().acquire();
  if (sc.input()->space() == 0) {
    if (sc.input()->head == 0) return sc.wantRead(false);
    sc.input()->compact();
  }
  ssize_t n = sc.transport().read(*sc.input());
  if (n == Transport::kAgain) return;
  if (n == Transport::kError) {
    fail('S', 'D');
    return closeAbruptly();  // a server reset: the client must not see a clean end
  }
  if (n == 0) {
    sc.markEof();
    sc.wantRead(false);
  }
  armTimer(idleTimeout());
  flushToClient();
  if (dead()) return;
  checkDone();
  if (!dead()) updateInterest();
}

bool TcpStream::flushToServer() {
  if (!serverConn_ || !serverConn_->connected()) return false;
  ServerConnection& sc = *serverConn_;
  if (in_ && !in_->empty()) {
    iovec piece{in_->begin(), in_->size()};
    ssize_t n = sc.transport().write(&piece, 1);
    if (n < 0) {
      if (n == Transport::kAgain) {
        sc.wantWrite(true);
        return false;
      }
      fail('S', 'D');
      close();
      return false;
    }
    in_->consume(static_cast<size_t>(n));
  }
  bool done = !in_ || in_->empty();
  sc.wantWrite(!done);
  if (done && clientEof_ && !sc.writeShut()) {
    sc.shutdownWrite();  // carry the client's FIN to the server
  }
  if (done) worker_.buffers().release(in_);
  return done;
}

bool TcpStream::flushToClient() {
  ServerConnection& sc = *serverConn_;
  if (sc.input() && !sc.input()->empty()) {
    iovec piece{sc.input()->begin(), sc.input()->size()};
    ssize_t n = sendClient(&piece, 1);
    if (n < 0) {
      if (n == Transport::kAgain) {
        wantClientWrite(true);
        return false;
      }
      fail('C', 'D');
      close();
      return false;
    }
    bytesToClient_ += static_cast<uint64_t>(n);
    sc.input()->consume(static_cast<size_t>(n));
  }
  bool done = !sc.input() || sc.input()->empty();
  wantClientWrite(!done);
  if (done && sc.eof() && !clientShut_) {
    shutdownClient();  // carry the server's FIN to the client
    clientShut_ = true;
  }
  if (done) worker_.buffers().release(sc.input());
  return done;
}

void TcpStream::onClientWritable() {
  flushToClient();
  if (dead()) return;
  checkDone();
  if (!dead()) updateInterest();
}

void TcpStream::checkDone() {
  // Both directions ended and everything delivered.
  if (serverConn_ && clientEof_ && serverConn_->eof() && serverConn_->writeShut() && clientShut_)
    close();
}

void TcpStream::updateInterest() {
  if (dead()) return;
  bool room = !in_ || in_->space() > 0 || in_->head > 0;
  wantClientRead((connected_ || awaitingHandshake_) && !clientEof_ && room);
  if (serverConn_ && serverConn_->connected()) {
    ServerConnection& sc = *serverConn_;
    bool sroom = !sc.input() || sc.input()->space() > 0 || sc.input()->head > 0;
    // On TLS, nothing can go to the client before its handshake completes: a server that
    // speaks first (SMTP, IMAP, FTP banners) waits in the kernel until then.
    sc.wantRead(!sc.eof() && sroom && tlsHandshakeDone());
  }
}

void TcpStream::onTimeout() {
  if (queued()) {
    leaveQueue();
    fail('s', 'Q');
    return close();  // timeout queue
  }
  if (awaitingHandshake_) {
    fail('c', 'R');
    return close();  // the client never finished its handshake
  }
  if (!connected_) {
    connectTimedOut_ = true;
    return retryOrGiveUp();  // timeout connect
  }
  fail('c', 'D');
  closeAbruptly();  // inactivity: not a clean end of the stream
}

void TcpStream::onClosing() {
  // Both directions ended: a normal end. Anything else without a named cause: the client left.
  bool ended = clientEof_ && serverConn_ && serverConn_->eof();
  if (!ended) fail('C', connected_ ? 'D' : 'C');
  countSession();
  AccessLogWriter* out = frontend_.accessLog;
  if (!out) return;
  const AccessLog& cfg = frontend_.config->log;
  if (cfg.dontlognull && bytesFromClient_ == 0 && bytesToClient_ == 0) return;
  if (cfg.dontlogNormal && termination_.normal()) return;
  if (!frontend_.sampleLogLine()) return;
  AccessLogRecord r;
  describe(r);
  r.startWallUs = acceptedAtWallUs_;
  r.totalMs = elapsedMs(acceptedAtUs_, nowUs());
  r.bytesToClient = bytesToClient_;
  r.termination = termination_;
  frontend_.writeLog(r);
}

void TcpStream::countSession() {
  if (!backend_) return;
  bool serverFailed = termination_.cause == 'S' && termination_.phase == 'D';
  auto count = [&](TrafficCounters& c) {
    c.bytesIn.add(bytesFromClient_);
    c.bytesOut.add(bytesToClient_);
    if (serverFailed) c.responseErrors.add();
  };
  count(countersOf(*backend_));
  if (timeline_.server) count(countersOf(*timeline_.server));
  countTimes(acceptedAtUs_, -1);
}

}  // namespace tandem::proxy
