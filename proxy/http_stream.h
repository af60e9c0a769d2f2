// HTTP/1 on a client connection: the codec and the bytes. One request at a time (pipelined
// requests wait in the input buffer, so responses keep their order), each an HttpTransaction
// that decides where it goes and what the heads say; the stream parses, forwards over a pooled
// server connection and keeps the connection alive between requests. Bodies stream through
// unchanged (chunked stays chunked), with back-pressure both ways.
//
//   WaitRequest --first byte--> ReadHead --head--> rules/route --> Connect --> Exchange
//        ^                                                                    |   |
//        +-------------------- keep-alive ----------------------------------+   +--101--> Tunnel
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "proxy/http_parser.h"
#include "proxy/http_transaction.h"
#include "proxy/session.h"

namespace tandem::proxy {

class HttpStream final : public Session {
 public:
  HttpStream(Worker& worker, FrontendRuntime& frontend, TransportPtr client,
             const IpAddress& clientAddress, uint16_t clientPort = 0,
             Accounting accounting = Accounting::NewConnection);
  ~HttpStream() override;
  void start() override;
  void stopWhenIdle(bool closeIdle) override;
  void clientGone() override {
    fail('C', phaseLetter());
    abort();
  }

 private:
  // ReadBuiltinBody: a POST to a built-in frontend (the stats page's admin form) waits for its
  // small body before it is answered locally.
  enum class Phase {
    WaitRequest,
    ReadHead,
    ReadBuiltinBody,
    Connect,
    Exchange,
    Tunnel,
    LocalResponse
  };

  struct PendingBuiltin;

  void onClientReadable() override;
  void onClientWritable() override;
  void onTimeout() override;
  void onServerReadable() override;
  void onServerWritable() override;

  void processClientInput();
  void onRequestHead();
  void startBuiltin(const MessageHead& h, const char* base);
  void answerBuiltin(std::string_view body);
  PickContext pickContext() const override {
    return PickContext{&client_, txn_->hashKey(), txn_->hashKey()};
  }
  std::string_view requestHost() const override { return txn_->serverName(); }
  void onServerConnected() override;
  void onNoServer() override {
    fail('S', 'C');
    sendLocal(503);
  }
  // The last attempt failed: a server that closed or reset before answering (502, SH), or a
  // connect refused or timed out (503, SC / sC). A retry that succeeds leaves no trace but %rc.
  void onGiveUp() override {
    if (txn_->giveUpStatus == 502)
      fail('S', 'H');
    else
      fail(connectTimedOut_ ? 's' : 'S', 'C');
    sendLocal(txn_->giveUpStatus);
  }
  void serverFailed(bool connectFailure);
  void processServerInput();
  void onResponseHead(size_t headEnd);
  bool flushToServer();
  bool flushToClient();
  void finishTransaction();
  void beginNextRequest();
  void sendLocal(int status);
  void sendLocalRaw(std::string response);
  void updateInterest();
  void consumeClient(size_t n);
  void abort();
  // The access log: the line of the transaction in flight (once), or of a connection that
  // closed without sending a request.
  void onClosing() override;
  // The transaction's traffic counters, once: status class, bytes, errors, times.
  void countTransaction();
  void countRefusal(HttpTransaction::Refusal refusal);
  void logTransaction();
  void logEmptyConnection();
  char phaseLetter() const;  // HAProxy's termination phase for where the stream is now
  void fail(char cause, char phase) {
    if (txn_) txn_->fail(cause, phase);
  }

  Phase phase_ = Phase::WaitRequest;
  // The request in flight, from its first byte to the end of its response.
  std::unique_ptr<HttpTransaction> txn_;
  // Taken from the worker's pool for one request and given back when the connection goes idle:
  // an idle keep-alive connection holds no parser (and no buffers).
  std::unique_ptr<HttpParser> request_;
  uint32_t parsed_ = 0;      // in_ offset up to which the parser has seen bytes
  uint32_t fwdEnd_ = 0;      // in_ bytes [head, fwdEnd_) are ready to go to the server
  uint32_t respParsed_ = 0;  // server in-buffer offset the response parser has seen
  uint32_t respFwdEnd_ = 0;
  bool clientShut_ = false;  // tunnel: we shut down our writing side toward the client
  bool stopRequested_ = false;
  bool closeIdleOnStop_ = true;
  std::unique_ptr<PendingBuiltin> builtin_;  // phase ReadBuiltinBody
  uint64_t requests_ = 0;
  bool connectTimedOut_ = false;    // the last connect attempt ended on `timeout connect`
  bool tlsFailed_ = false;          // the last connect attempt failed in its TLS handshake
  bool idleTimedOut_ = false;       // closed waiting for a first request
  int64_t lastResponseEndUs_ = -1;  // the previous response's end (%Ti of the next request)
  const bool h2Stream_;             // a stream of an HTTP/2 connection (H2Connection)
};

}  // namespace tandem::proxy
