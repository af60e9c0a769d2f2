// Typed configuration of health checks (what `option httpchk`, `http-check`, `tcp-check`,
// `option mysql-check` and the per-server `check inter fall rise` keywords express in HAProxy).
#pragma once

#include <openssl/ssl.h>
#include <chrono>
#include <cstdint>
#include <optional>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/duration.h"

namespace tandem::health {

using namespace std::chrono_literals;

enum class CheckType {
  Tcp,        // layer-4 connect
  Http,       // `option httpchk` + `http-check send/expect`
  TcpScript,  // `option tcp-check` + ordered `tcp-check` steps
  Mysql,      // `option mysql-check user NAME`
  Redis,      // `option redis-check`: PING -> +PONG
};

// One `http-check expect` rule.
struct HttpExpect {
  enum class Kind { Status, String, Rstring };
  Kind kind = Kind::Status;
  std::vector<std::pair<int, int>> statusRanges;  // inclusive; "200" is {200,200}
  std::string pattern;                            // body substring or PCRE2 regex
  bool negate = false;                            // HAProxy's `!`
};

// One `tcp-check` step.
struct TcpCheckStep {
  enum class Kind { Connect, Send, SendBinary, Expect };
  enum class Match { String, Rstring, Binary };
  Kind kind = Kind::Send;
  Match match = Match::String;      // for Expect
  std::string data;                 // bytes to send, or the pattern to expect
  bool negate = false;              // for Expect
  std::optional<uint16_t> port;     // for Connect: another port than the server's
  std::optional<Duration> timeout;  // per-step; else the check timeout
};

struct CheckConfig {
  CheckType type = CheckType::Tcp;
  // HTTP
  std::string method = "OPTIONS";  // HAProxy's default for `option httpchk`
  std::string uri = "/";
  std::string version = "HTTP/1.0";
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<HttpExpect> expects;  // empty: any 2xx/3xx passes, as in HAProxy
  // TCP script
  std::vector<TcpCheckStep> steps;
  // MySQL
  std::string mysqlUser;
  Duration timeout = 2s;  // `timeout check`; HAProxy falls back to `timeout connect`
};

// Per-server scheduling: HAProxy's `check inter fastinter downinter fall rise port addr`.
struct ServerCheckParams {
  bool enabled = false;
  Duration inter = 2s;
  std::optional<Duration> fastinter;  // while going up/down; default inter
  std::optional<Duration> downinter;  // while DOWN; default inter
  int fall = 3;
  int rise = 2;
  std::optional<uint16_t> port;
  std::optional<std::string> addr;
  // Bytes each check connection starts with, before the check's own (the proxy sets a PROXY
  // protocol header here for a server that expects one on every connection).
  std::string preface;
  // TLS on the check connection (`check: { ssl: true }`, on by default for a server with
  // ssl: true): after the connect and the preface, a handshake with the client state this
  // makes for the socket (the server's TLS settings; null: a check failure).
  bool ssl = false;
  std::function<SSL*(int fd)> tlsConnect;
};

}  // namespace tandem::health
