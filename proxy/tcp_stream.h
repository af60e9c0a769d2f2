// mode tcp: bytes both ways between the client and one server, with half-close carried across
// (a client's FIN becomes our FIN toward the server once its data is delivered, and back).
#pragma once

#include <chrono>

#include "proxy/access_log.h"
#include "proxy/session.h"

namespace tandem::proxy {

class TcpStream final : public Session {
 public:
  TcpStream(Worker& worker, FrontendRuntime& frontend, TransportPtr client,
            const IpAddress& clientAddress, uint16_t clientPort = 0);
  void start() override;
  void stopWhenIdle(bool closeIdle) override;

 private:
  void onClientReadable() override;
  void onClientWritable() override;
  void onTimeout() override;
  void onServerReadable() override;
  void onServerWritable() override;

  void onServerConnected() override;
  // Nothing to say in TCP: close, as HAProxy does.
  void onNoServer() override {
    fail('S', 'C');
    close();
  }
  void onGiveUp() override {
    fail(connectTimedOut_ ? 's' : 'S', 'C');
    close();
  }
  // The access log's `option tcplog` line, as the session ends.
  void onClosing() override;
  void fail(char cause, char phase) {
    if (termination_.normal()) termination_.set(cause, phase);
  }
  bool flushToServer();
  bool flushToClient();
  void updateInterest();
  void checkDone();
  Duration idleTimeout() const;

  bool connected_ = false;
  bool clientShut_ = false;  // we sent FIN to the client
  bool connectTimedOut_ = false;
  bool awaitingHandshake_ = false;  // connecting waits for the client's TLS handshake (its SNI)
  Termination termination_;
  void countSession();  // the traffic counters of its backend and server, at the end
  uint64_t bytesFromClient_ = 0;
  uint64_t bytesToClient_ = 0;
};

}  // namespace tandem::proxy
