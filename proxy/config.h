// Typed configuration of the proxy worker. Only appliance/ reads YAML; it fills these structs.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/address.h"
#include "common/duration.h"
#include "health/config.h"
#include "proxy/tls_ticket_keys.h"

namespace tandem::proxy {

using namespace std::chrono_literals;

enum class Mode { Http, Tcp };

struct Timeouts {
  Duration connect = 5s;
  Duration client = 50s;
  Duration server = 50s;
  Duration httpRequest = 10s;
  Duration keepAlive = 2s;
  Duration queue = 5s;
  Duration tunnel = 1h;
  Duration check = 2s;
  Duration clientFin = 1s;
  Duration serverFin = 1s;
};

// `ssl-default-bind-*` in HAProxy's global section.
struct TlsDefaults {
  std::string ciphers =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  std::string ciphersuites =
      "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
      "TLS_CHACHA20_POLY1305_SHA256";
  std::string minVersion = "TLSv1.2";
  bool tickets = true;
  // Ticket keys read from global.tls.ticket_keys (empty: OpenSSL's own, new in each worker).
  std::string ticketKeysFile;
  std::vector<TicketKey> ticketKeys;
};

struct Bind {
  Endpoint endpoint;
  bool ssl = false;
  std::vector<std::string> certificates;  // combined PEM files (cert chain + key)
  std::vector<std::string> alpn;
  // The HTTP version clients speak: chosen by ALPN on TLS (h2 when offered and picked), or
  // HTTP/2 only (`proto: h2`: prior knowledge on a plain bind, h2 whatever ALPN says on TLS).
  enum class Proto { Auto, H2 };
  Proto proto = Proto::Auto;
  // HTTP/2: streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).
  uint32_t maxConcurrentStreams = 100;
  bool offersH2() const {
    if (proto == Proto::H2) return true;
    for (const auto& p : alpn)
      if (p == "h2") return true;
    return false;
  }
  int backlog = 1024;
  bool v6only = true;
  // PROXY protocol (v1 or v2, told apart by their first bytes) before each connection's first
  // byte: from every client when acceptProxyFrom is empty, else only from those networks (the
  // balancers in front); other clients are taken as they are, their bytes never read as one.
  bool acceptProxy = false;
  std::vector<Cidr> acceptProxyFrom;
  // Client certificates (mutual TLS): the CAs that sign them, whether one is asked for
  // (optional: the handshake passes whatever is sent, ACLs see ssl_c_verify) or required, and
  // revocation lists.
  enum class Verify { None, Optional, Required };
  Verify verify = Verify::None;
  std::string caFile;
  std::string crlFile;
};

// An ACL: a named test over the request (HAProxy's `acl NAME criterion value...`).
struct Acl {
  enum class Kind {
    Host,              // hdr(host) -i value ; port part ignored
    Path,              // path value (exact)
    PathBeg,           // path_beg
    PathEnd,           // path_end
    PathReg,           // path_reg (PCRE2)
    Method,            // method
    HeaderEq,          // hdr(NAME) value
    HeaderSub,         // hdr_sub(NAME) value
    HeaderReg,         // hdr_reg(NAME) regex
    HeaderExists,      // req.hdr(NAME) -m found
    Src,               // src CIDR... / -f file
    Ssl,               // ssl_fc
    SslClientUsed,     // ssl_c_used: the client sent a certificate
    SslClientVerify,   // ssl_c_verify: its verification result is one of `values` (0: passed)
    SslClientSubject,  // ssl_c_s_dn: its subject is one of `values`
    SslClientSha256,   // ssl_c_sha256: its fingerprint is one of `values` (hex)
  };
  Kind kind = Kind::Host;
  std::string header;               // for Header*
  std::vector<std::string> values;  // any matches (HAProxy ORs the values of one ACL)
  bool caseInsensitive = true;
  std::vector<Cidr> networks;      // for Src (inline and loaded from files)
  std::vector<std::string> files;  // for Src: the files the networks were read from
};

// A condition `if`/`unless` over ACL names: and / or / not, with parentheses.
struct Condition {
  enum class Op { Acl, Not, And, Or };
  Op op = Op::Acl;
  std::string acl;                  // for Op::Acl
  std::vector<Condition> operands;  // for Not (1), And/Or (2+)
};

// `if cond` or `unless cond`; absent means always.
struct Guard {
  std::optional<Condition> condition;
  bool negate = false;  // true for `unless`
};

struct HttpRequestRule {
  enum class Action { Deny, Redirect, SetHeader, AddHeader, DelHeader, Track, Return };
  Action action = Action::Deny;
  int status = 403;              // deny status; redirect code
  std::string name;              // header name
  std::string value;             // header value
  std::string redirectScheme;    // redirect scheme https
  std::string redirectLocation;  // redirect location URL
  std::string contentType;       // return: the answer's content type
  std::string body;              // return: the answer's body (a string or a file's content)
  std::string redirectPrefix;    // redirect prefix URL
  std::string table;             // for Track: rate-limit table name
  Guard guard;
};

struct HttpResponseRule {
  enum class Action { SetHeader, AddHeader, DelHeader };
  Action action = Action::SetHeader;
  std::string name;
  std::string value;
  Guard guard;
};

// A stick-table restricted to what rate limiting needs: per-source request rate.
struct RateLimitTable {
  enum class Key { Src };
  Key key = Key::Src;
  Duration window = 10s;
  uint64_t limit = 100;  // requests per window
  int status = 429;
  uint64_t size = 100 * 1024;  // entries
  Duration expire = 30s;
};

// Per-request access logs of a frontend (HAProxy's option httplog / tcplog, dontlognull,
// dontlog-normal).
struct AccessLog {
  enum class Format { Off, Http, Tcp };
  Format format = Format::Off;
  bool dontlognull = false;    // no line for a connection that never sent a request
  bool dontlogNormal = false;  // lines only for errors: a 5xx or an abnormal termination
  // HAProxy's log-format text instead of the style's line (validated by the loader), and one
  // JSON object per line instead of text.
  std::string customFormat;
  bool json = false;
  // HAProxy's `sample RANGES:SIZE`: of each SIZE lines in a row, those whose position (1..SIZE)
  // is in a range are written; SIZE 0 writes every line.
  uint32_t sampleSize = 0;
  std::vector<std::pair<uint32_t, uint32_t>> sampleRanges;
  // "stderr", an absolute file path, or syslog datagrams: "udp:HOST:PORT", "unix:/PATH".
  std::string target = "stderr";
  // Syslog targets only: the facility (its code, LOG_LOCAL0 by default), the header format and
  // the tag (APP-NAME) of each datagram.
  enum class SyslogFormat { Rfc3164, Rfc5424 };
  int facility = 16 << 3;  // LOG_LOCAL0
  SyslogFormat syslogFormat = SyslogFormat::Rfc3164;
  std::string tag = "tandem";
  // One writer serves every frontend with the same destination and header.
  std::string writerKey() const {
    return target + '|' + std::to_string(facility) + '|' +
           (syslogFormat == SyslogFormat::Rfc5424 ? "5424" : "3164") + '|' + tag;
  }
};

struct UseBackendRule {
  std::string backend;
  Guard guard;
};

struct Frontend {
  // The stats page and the Prometheus exporter run as frontends of their own (stats_page.h).
  enum class Builtin { None, Stats, Prometheus };

  std::string name;
  Mode mode = Mode::Http;
  Builtin builtin = Builtin::None;
  std::vector<Bind> binds;
  std::map<std::string, Acl> acls;
  std::vector<HttpRequestRule> httpRequest;
  std::vector<HttpResponseRule> httpResponse;
  std::map<std::string, RateLimitTable> rateLimits;
  std::vector<UseBackendRule> useBackends;
  std::string defaultBackend;
  uint32_t maxconn = 0;  // 0: only the global limit
  Timeouts timeouts;
  AccessLog log;
};

struct Server {
  std::string name;
  Endpoint address;
  int weight = 1;        // 0-256, HAProxy's range
  uint32_t maxconn = 0;  // 0: unlimited
  // With minconn, the limit grows from minconn to maxconn with the backend's load (fullconn).
  uint32_t minconn = 0;  // 0: the limit is maxconn
  bool backup = false;
  bool drain = false;     // starts in DRAIN
  bool disabled = false;  // starts in MAINT
  Duration slowstart = 0s;
  // A PROXY protocol header before each new connection's first byte, naming the client.
  enum class SendProxy { None, V1, V2 };
  SendProxy sendProxy = SendProxy::None;
  // The protocol requests go to the server in: HTTP/1.1, or HTTP/2 (`proto: h2`; h2c with
  // prior knowledge, or over TLS with ALPN h2), on connections shared by many requests.
  enum class Proto { Http1, H2 };
  Proto proto = Proto::Http1;
  // TLS to the server (HAProxy's `server ... ssl verify required ca-file ... sni ...`).
  struct Tls {
    bool enabled = false;
    bool verify = true;  // the chain (and verifyHost, when known) must check out
    std::string caFile;  // empty: the system's CAs
    // The SNI sent: none, a fixed name, the request's Host (HAProxy's `sni req.hdr(host)`) or
    // the name the client sent in its own TLS handshake (`sni ssl_fc_sni`).
    enum class Sni { None, Fixed, FromHost, FromClientSni };
    Sni sniSource = Sni::None;
    std::string sni;
    std::string verifyHost;   // the name the certificate must carry (default: the SNI)
    std::string certificate;  // a client certificate (PEM chain + key), for servers that ask
    std::vector<std::string> alpn;
  };
  Tls tls;
  health::ServerCheckParams check;
};

struct Balance {
  enum class Algorithm { RoundRobin, LeastConn, Source, Uri, First };
  Algorithm algorithm = Algorithm::RoundRobin;
  bool uriWhole = false;  // `balance uri whole`: hash the query string too
};

// HAProxy's keyword for an algorithm ("roundrobin", ...).
inline const char* toString(Balance::Algorithm a) {
  switch (a) {
    case Balance::Algorithm::RoundRobin:
      return "roundrobin";
    case Balance::Algorithm::LeastConn:
      return "leastconn";
    case Balance::Algorithm::Source:
      return "source";
    case Balance::Algorithm::Uri:
      return "uri";
    case Balance::Algorithm::First:
      return "first";
  }
  return "?";
}

inline const char* toString(Mode m) {
  return m == Mode::Http ? "http" : "tcp";
}

struct Backend {
  std::string name;
  Mode mode = Mode::Http;
  Balance balance;
  bool forwardfor = false;
  int retries = 3;
  bool redispatch = true;
  bool allbackups = false;
  std::optional<health::CheckConfig> check;  // how servers with `check` are checked
  std::vector<Server> servers;
  std::vector<HttpRequestRule> httpRequest;  // backend-side set-header etc.
  std::vector<HttpResponseRule> httpResponse;
  std::map<std::string, Acl> acls;
  Timeouts timeouts;
  // The backend load at which servers with minconn reach their maxconn. 0: a tenth of the
  // maxconn of the frontends that route to it (HAProxy's default).
  uint32_t fullconn = 0;
};

struct StatsUser {
  std::string user;
  std::string password;
};

struct Stats {
  Endpoint bind;
  std::string uri = "/stats";
  Duration refresh = 10s;
  std::vector<StatsUser> auth;
  std::vector<Cidr> adminAllowedFrom;  // who may change server states from the page
  Timeouts timeouts;                   // defaults.timeout, like any frontend
};

struct Prometheus {
  Endpoint bind;
  std::string path = "/metrics";
  Timeouts timeouts;  // defaults.timeout, like any frontend
};

// The runtime API socket (HAProxy's `stats socket ... level admin`): line commands such as
// `set server web/web1 state drain` and `show servers state`.
struct AdminSocketConfig {
  std::string path;
  unsigned mode = 0660;
};

struct Config {
  int threads = 0;           // 0: one per core
  uint32_t maxconn = 20000;  // global
  bool maxconnSet = false;   // written in the file (else lowered to fit the open-file limit)
  TlsDefaults tls;
  std::map<int, std::string> errorFiles;  // status -> file with a full HTTP response
  std::vector<Frontend> frontends;
  std::vector<Backend> backends;
  std::optional<Stats> stats;
  std::optional<Prometheus> prometheus;
  Duration gracePeriod = 30s;  // `hard-stop-after`-like bound for draining on stop/reload
  std::optional<AdminSocketConfig> adminSocket;  // only when global.admin_socket is set
};

}  // namespace tandem::proxy
