// HTTP/1 on a client connection: one request at a time (pipelined requests wait in the input
// buffer, so responses keep their order), each routed by the frontend's rules to a backend and
// forwarded over a pooled server connection. Heads are rewritten; bodies stream through
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
#include "proxy/session.h"

namespace tandem::proxy {

class HttpStream final : public Session {
 public:
  // `tls`: the bind's TLS termination, or null for plain HTTP.
  HttpStream(Worker& worker, FrontendRuntime& frontend, UniqueFd fd, const sockaddr_storage& peer,
             const TlsContext* tls);
  ~HttpStream() override;
  void start() override;
  void stopWhenIdle(bool closeIdle) override;

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

  class View;
  struct PendingBuiltin;

  void onClientReadable() override;
  void onClientWritable() override;
  void onTimeout() override;
  void onServerReadable() override;
  void onServerWritable() override;

  void processClientInput();
  void onRequestHead();
  // One section's http_request rules, in order: false when one of them answered the request
  // (deny, redirect, return, a rate limit); header edits are collected into reqEdits_.
  bool runRequestRules(const HttpRules& rules, const RequestView& view,
                       const std::map<std::string, std::unique_ptr<RateLimiter>>* limiters,
                       const MessageHead& h, const char* base);
  void startBuiltin(const MessageHead& h, const char* base);
  void answerBuiltin(std::string_view body);
  void buildServerHead(const MessageHead& h, const char* base);
  PickContext pickContext() const override { return PickContext{&client_, hashKey_, hashKey_}; }
  void onServerConnected() override;
  void onNoServer() override { sendLocal(503); }
  void onGiveUp() override { sendLocal(giveUpStatus_); }
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

  Phase phase_ = Phase::WaitRequest;
  // Taken from the worker's pool for one request and given back when the connection goes idle:
  // an idle keep-alive connection holds no parser (and no buffers).
  std::unique_ptr<HttpParser> request_;
  uint32_t parsed_ = 0;  // in_ offset up to which the parser has seen bytes
  uint32_t fwdEnd_ = 0;  // in_ bytes [head, fwdEnd_) are ready to go to the server
  std::string reqHead_;  // the rewritten request head
  size_t reqHeadSent_ = 0;
  bool requestDone_ = false;
  bool replayable_ = false;  // no body and idempotent: safe to resend on a fresh connection
  bool upgrade_ = false;     // the request asks to switch protocols
  bool clientKeepAlive_ = true;
  bool clientHttp10_ = false;
  int giveUpStatus_ = 503;  // 503 after connect failures, 502 after a failed exchange
  std::string hashKey_;     // balance uri key kept for retries

  uint32_t respParsed_ = 0;  // server in-buffer offset the response parser has seen
  uint32_t respFwdEnd_ = 0;
  std::string respHead_;  // rewritten response head (and interim 1xx heads)
  size_t respHeadSent_ = 0;
  bool respHeadDone_ = false;
  bool respDone_ = false;
  bool respInterim_ = false;
  bool clientShut_ = false;  // tunnel: we shut down our writing side toward the client
  bool closeAfterFlush_ = false;
  bool stopRequested_ = false;
  bool closeIdleOnStop_ = true;
  bool keepAlivePromised_ = false;  // the last response head did not say Connection: close
  bool noBodyResponse_ = false;     // the request was HEAD
  // Header edits of this request, in the order they apply: the frontend's http_request rules
  // then the backend's; the backend's http_response rules then the frontend's.
  std::vector<const HttpRequestRule*> reqEdits_;
  std::vector<const HttpResponseRule*> respEdits_;
  std::unique_ptr<PendingBuiltin> builtin_;  // phase ReadBuiltinBody
  uint64_t requests_ = 0;
};

}  // namespace tandem::proxy
