// One HTTP request and its response (HAProxy's http_txn, one stream object per request as in
// Envoy): created when a request starts on a connection and discarded once its response is
// done, so nothing of one request can leak into the next. It decides — the rule phases over
// the request head, the heads sent on both sides — while the stream that owns it (HttpStream)
// moves the bytes. The phases, in HAProxy's and Pingora's order:
//
//   frontend http_request rules → routing (use_backend / default_backend) → the backend's
//   http_request rules → [connect, exchange] → the backend's http_response rules → the
//   frontend's http_response rules
//
// Nothing here does I/O or reads a clock: unit tests run the phases over parsed heads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/address.h"
#include "proxy/access_log.h"
#include "proxy/http_parser.h"
#include "proxy/runtime.h"

namespace tandem::proxy {

class HttpTransaction {
 public:
  // Why a request was answered here instead of forwarded, for the counters.
  enum class Refusal {
    None,         // not refused (a redirect, a return, or forwarded)
    Denied,       // a deny rule
    RateLimited,  // a rate limit
    Invalid,      // not a valid request (400)
  };
  // What the request phases decided.
  struct Decision {
    enum class Kind {
      Forward,  // to `backend`, with `serverHead`
      Answer,   // answered here: `response` (deny, redirect, return, a rate limit, a 4xx)
      Builtin,  // for a built-in frontend (the stats page)
    };
    Kind kind = Kind::Forward;
    std::string response;
    // An Answer the configuration means as a reply (redirect, return), not a refusal (deny,
    // a rate limit, a bad request): the access log says 'L' rather than 'P'.
    bool local = false;
    Refusal refusal = Refusal::None;
  };

  // `keepAliveAllowed`: false once the proxy is stopping (the response then closes).
  HttpTransaction(const FrontendRuntime& frontend, const ErrorPages& errors,
                  const IpAddress& client, bool tls, bool keepAliveAllowed);

  // The connection's client certificate (mutual TLS), for ACLs and %[ssl_c_*] in header
  // values; it outlives the transaction (the session holds it).
  void setClientCertificate(const PeerCertificate* cert) { clientCert_ = cert; }

  // The request phases over a parsed head (`base`: the buffer its spans point into), up to
  // the choice of a backend. On Forward, the response rules that will apply are chosen too
  // (while the request is at hand, as HAProxy evaluates them on the request's ACLs) and the
  // head for the server is built. `nowUs` (the worker's monotonic clock) is for rate limits.
  Decision onRequestHead(const HttpParser& request, const char* base, int64_t nowUs);
  // The head for the client from the server's response head: the response rules, hop-by-hop
  // fields dropped, this side's connection management.
  void onResponseHead(const HttpParser& response, const char* base);
  // A complete response of this proxy's own for `status` (error pages, with connection close).
  const std::string& errorResponse(int status) const { return errors_.response(status); }

  BackendRuntime* backend() const { return backend_; }
  const std::string& hashKey() const { return hashKey_; }  // for balance uri
  // The request's host (no port), kept when a server of the backend sends it as its SNI.
  const std::string& serverName() const { return serverName_; }
  bool http10() const { return http10_; }
  bool upgrade() const { return upgrade_; }
  // No body and idempotent: safe to send again on a fresh connection.
  bool replayable() const { return replayable_; }
  bool headRequest() const { return headRequest_; }
  // The client may send another request after this one.
  bool clientKeepAlive() const { return clientKeepAlive_; }
  void endClientKeepAlive() { clientKeepAlive_ = false; }
  // The response head said nothing of closing: the client may already be sending the next
  // request.
  bool keepAlivePromised() const { return keepAlivePromised_; }
  void forgetKeepAlivePromise() { keepAlivePromised_ = false; }
  // Switching protocols (101 to an Upgrade request): the connection becomes a tunnel.
  bool switching(int status) const { return status == 101 && upgrade_; }

  // What the stream sends, and how far it got.
  std::string serverHead;  // the request head for the server
  size_t serverHeadSent = 0;
  bool requestDone = false;  // the whole request (body included) was read
  std::string clientHead;    // the response head for the client (and interim 1xx heads)
  size_t clientHeadSent = 0;
  bool responseHeadDone = false;
  bool responseDone = false;
  bool interim = false;    // in a 1xx response
  int giveUpStatus = 503;  // 503 after connect failures, 502 after a failed exchange

  // What the access log says of it (the stream records these as they happen; worker clock,
  // microseconds, -1 for not yet).
  int64_t startUs = -1;      // the first byte
  int64_t startWallUs = 0;   // the same, on the wall clock
  int64_t headAtUs = -1;     // the complete request head
  int64_t handshakeMs = -1;  // %Th for this request (0 after the connection's first)
  int64_t idleMs = -1;       // %Ti: the wait for its first byte
  int64_t responseHeadAtUs = -1;
  int status = -1;  // the status the client gets
  uint64_t bytesToClient = 0;
  uint64_t bytesToServer = 0;           // the request, head and body, as sent
  Termination termination;              // set by the first failure (a normal end leaves "--")
  std::string requestLine;              // when the frontend logs
  std::vector<std::string> logHeaders;  // the values the log format shows
  bool builtin = false;                 // answered by a built-in page (<STATS>)
  bool completed = false;               // the response went out whole
  bool logged = false;
  bool counted = false;  // in the traffic counters
  // The first failure names the termination state; later ones are its consequences.
  void fail(char cause, char phase) {
    if (termination.normal()) termination.set(cause, phase);
  }

 private:
  class View;
  bool runRequestRules(const HttpRules& rules, const RequestView& view, bool withLimits,
                       const MessageHead& h, const char* base, int64_t nowUs, Decision* answer);
  void buildServerHead(const MessageHead& h, const char* base);

  const FrontendRuntime& frontend_;
  const ErrorPages& errors_;
  const IpAddress& client_;
  bool tls_;
  const PeerCertificate* clientCert_ = nullptr;
  BackendRuntime* backend_ = nullptr;
  std::string hashKey_;
  std::string serverName_;
  bool http10_ = false;
  bool upgrade_ = false;
  bool replayable_ = false;
  bool headRequest_ = false;
  bool clientKeepAlive_;
  bool keepAlivePromised_ = false;
  // Header edits, in the order they apply: the frontend's http_request rules then the
  // backend's; the backend's http_response rules then the frontend's.
  std::vector<const HttpRequestRule*> requestEdits_;
  std::vector<const HttpResponseRule*> responseEdits_;
};

}  // namespace tandem::proxy
