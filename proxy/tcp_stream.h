// mode tcp: bytes both ways between the client and one server, with half-close carried across
// (a client's FIN becomes our FIN toward the server once its data is delivered, and back).
#pragma once

#include <chrono>

#include "proxy/session.h"

namespace tandem::proxy {

class TcpStream final : public Session {
 public:
  TcpStream(Worker& worker, FrontendRuntime& frontend, TransportPtr client,
            const IpAddress& clientAddress);
  void start() override;
  void stopWhenIdle(bool closeIdle) override;

 private:
  void onClientReadable() override;
  void onClientWritable() override;
  void onTimeout() override;
  void onServerReadable() override;
  void onServerWritable() override;

  void onServerConnected() override;
  void onNoServer() override { close(); }  // nothing to say in TCP: close, as HAProxy does
  void onGiveUp() override { close(); }
  bool flushToServer();
  bool flushToClient();
  void updateInterest();
  void checkDone();
  Duration idleTimeout() const;

  bool connected_ = false;
  bool clientShut_ = false;  // we sent FIN to the client
};

}  // namespace tandem::proxy
