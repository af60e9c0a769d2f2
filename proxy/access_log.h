// Per-request access logs as HAProxy writes them: what a stream records as a request goes
// (AccessLogRecord), the two-letter termination states that tell who ended a session and when,
// and log formats — HAProxy's `log-format` %-variables, compiled once, of which `option httplog`
// and `option tcplog` are two fixed instances:
//
//   198.18.0.9:41234 [01/Dec/2026:10:00:00.000] fe web/s1 0/0/1/2/3 200 130 - - ---- 1/1/0/1/0 0/0
//   "GET / HTTP/1.1"
//
// (one line). Rendering takes a record and nothing else, so it is unit-tested on records; the
// streams fill records on the worker's clock (tests: a manual one).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.h"

namespace tandem::proxy {

// HAProxy's session termination state (its "log" doc, section 8.5): the first letter says what
// ended the session, the second in which phase. '-' '-' is a normal end.
struct Termination {
  // What: 'C' the client aborted, 'S' the server aborted or refused, 'P' the proxy blocked
  // the request (deny, rate limit, an invalid request), 'L' answered locally (redirect, return,
  // stats page), 'R' a proxy resource ran out, 'c' / 's' the client / server timeout struck.
  char cause = '-';
  // When: 'R' waiting for the request head, 'Q' queued, 'C' connecting, 'H' waiting for the
  // response head, 'D' data phase, 'L' sending the last data to the client.
  char phase = '-';
  bool normal() const { return cause == '-' && phase == '-'; }
  void set(char what, char when) {
    cause = what;
    phase = when;
  }
};

// Everything a line can say. Durations in milliseconds, -1 for a phase never reached.
struct AccessLogRecord {
  IpAddress client;
  uint16_t clientPort = 0;
  int64_t startWallUs = 0;   // the request's first byte (TCP: the accept), wall clock
  int64_t acceptWallUs = 0;  // the connection's accept (%t), wall clock
  std::string frontend;
  std::string backend;       // "" before routing: logged as the frontend's name, as HAProxy
  std::string server;        // "" when none was reached: <NOSRV>
  int64_t handshakeMs = -1;  // Th: accept to the end of the TLS handshake (0 on plain TCP, and
                             // for a keep-alive connection's later requests)
  int64_t idleMs = -1;       // Ti: waiting for the request's first byte (keep-alive idle time)
  int64_t requestMs = -1;    // TR: first byte to complete head
  int64_t queueMs = -1;      // Tw: time spent in a backend queue
  int64_t connectMs = -1;    // Tc: to establish the server connection
  int64_t responseMs = -1;   // Tr: request sent to response head received
  int64_t totalMs = -1;      // Ta (HTTP) / Tt (TCP): first byte to the last byte sent
  int status = -1;
  uint64_t bytesToClient = 0;  // %B: response bytes sent to the client, head included
  Termination termination;
  uint32_t actconn = 0, feconn = 0, beconn = 0, srvconn = 0;
  int retries = 0;
  bool redispatched = false;  // the final server is not the first one tried ("+" before %rc)
  uint32_t serverQueue = 0, backendQueue = 0;  // positions when this request was queued
  std::string requestLine;                     // "GET / HTTP/1.1"; empty: <BADREQ>
  std::vector<std::string> headers;            // values of the format's %[req.hdr(...)]
};

// The variables of HAProxy's log-format this build knows (the common subset).
enum class LogVar {
  ClientIp,        // %ci
  ClientPort,      // %cp
  AcceptDate,      // %t  dd/Mmm/yyyy:hh:mm:ss.mmm (of the accept / first byte)
  RequestDate,     // %tr the same, of the request
  Frontend,        // %ft
  Backend,         // %b
  Server,          // %s
  HandshakeTime,   // %Th
  IdleTime,        // %Ti
  HeadTime,        // %Tq = Th + Ti + TR
  RequestTime,     // %TR
  QueueTime,       // %Tw
  ConnectTime,     // %Tc
  ResponseTime,    // %Tr
  ActiveTime,      // %Ta
  TotalTime,       // %Tt
  Status,          // %ST
  Bytes,           // %B
  Termination2,    // %ts  two letters
  Termination4,    // %tsc with the (absent) cookie states
  ActConn,         // %ac
  FeConn,          // %fc
  BeConn,          // %bc
  SrvConn,         // %sc
  Retries,         // %rc
  ServerQueue,     // %sq
  BackendQueue,    // %bq
  RequestLine,     // %r
  Method,          // %HM
  Uri,             // %HU
  Version,         // %HV
  RequestCookie,   // %CC (no capture: -)
  ResponseCookie,  // %CS (no capture: -)
  RequestHeader,   // %[req.hdr(NAME)]
};

class LogFormat {
 public:
  // HAProxy's log-format syntax: text, %var, %{+Q}var (quoted) and %[req.hdr(NAME)]; %% is a
  // literal %. `http`: the frontend is in mode http (else HTTP-only variables are refused).
  // Null with *error (naming the offending piece) when the text is not a format.
  static std::optional<LogFormat> compile(std::string_view text, bool http, std::string* error);
  // `option httplog` and `option tcplog`.
  static const LogFormat& httplog();
  static const LogFormat& tcplog();

  // One line, without its newline. `json`: one object instead, keyed by the variables' names
  // (HAProxy's long names: client_ip, status_code, ...), numbers as numbers, text left out.
  std::string render(const AccessLogRecord& r, bool json = false) const;
  // The request headers %[req.hdr(...)] reads, in the order of AccessLogRecord::headers.
  const std::vector<std::string>& headers() const { return headers_; }

 private:
  struct Item {
    bool literal = true;
    std::string text;  // a literal's text
    LogVar var = LogVar::ClientIp;
    bool quoted = false;
    size_t header = 0;  // RequestHeader: its index in headers_
  };
  std::vector<Item> items_;
  std::vector<std::string> headers_;
};

// A record's structured fields for the journal target, KEY=value each, separated by '\x1e'
// (AccessLogWriter::kFieldSeparator): TANDEM_CLIENT_IP, TANDEM_CLIENT_PORT, TANDEM_FRONTEND,
// TANDEM_BACKEND, TANDEM_SERVER, TANDEM_STATUS, TANDEM_BYTES_OUT, TANDEM_TERMINATION,
// TANDEM_RETRIES, the times TANDEM_{QUEUE,CONNECT,RESPONSE,TOTAL}_MS (when reached) and
// TANDEM_REQUEST (the request line, HTTP). `journalctl TANDEM_STATUS=503` finds the 503s.
std::string journalFields(const AccessLogRecord& r);

// HAProxy's date, local time with milliseconds: 01/Dec/2026:10:00:00.000.
std::string formatLogDate(int64_t wallUs);

// Milliseconds between two microsecond stamps; -1 when either was never reached.
inline int64_t elapsedMs(int64_t fromUs, int64_t toUs) {
  return fromUs < 0 || toUs < 0 ? -1 : (toUs - fromUs) / 1000;
}

}  // namespace tandem::proxy
