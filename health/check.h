// One server's periodic health check, run on a libevent loop (a proxy worker's): every check
// type is a small program of steps (connect, send, expect) executed without blocking, so a
// thousand checks cost a thousand timers and a few sockets at a time, never a thread.
#pragma once

#include <event2/event.h>
#include <sys/socket.h>

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/event.h"
#include "common/fd.h"
#include "common/regex.h"
#include "health/config.h"
#include "health/server_health.h"
#include "health/server_tracker.h"

namespace tandem::health {

// What a check needs to know about its server.
struct CheckTarget {
  std::string backend;
  std::string server;
  bool backup = false;
  sockaddr_storage address{};  // the server's address (port replaced by params.port/step port)
  socklen_t addressLength = 0;
  const CheckConfig* config = nullptr;  // null: plain TCP connect
  // How long one check may take: the check mapping's timeout, else the backend's `timeout
  // check` (a server with `check: true` in a backend without a check mapping).
  Duration timeout = std::chrono::seconds(2);
  ServerCheckParams params;
  ServerHealth* health = nullptr;
  int weight = 1;                              // current weight (the admin socket may change it)
  int configWeight = 1;                        // as configured
  AdminState configAdmin = AdminState::Ready;  // as configured (disabled, drain)
  Duration slowstart{0};
};

// Pure evaluation of an HTTP check response against the configured expectations.
CheckResult evaluateHttpResponse(const std::string& raw, const CheckConfig& config);
// The MySQL client handshake response for `user` (protocol 4.1, no password), sequence 1.
std::string mysqlHandshakeResponse(const std::string& user);

class Check {
 public:
  using Done = std::function<void(const CheckResult&)>;

  Check(event_base* base, const CheckTarget& target, Done done);
  ~Check();
  Check(const Check&) = delete;
  Check& operator=(const Check&) = delete;

  // Runs the first check after `delay`, then every interval the state calls for.
  void start(Duration delay);
  // The interval before the next check: inter, fastinter while changing state, downinter DOWN.
  Duration nextInterval(ServerState state) const;

 private:
  enum class Kind { Connect, Send, Expect, HttpExpect, MysqlHandshake, MysqlResult };
  struct Step {
    Kind kind = Kind::Connect;
    std::string data;  // bytes to send / pattern
    TcpCheckStep::Match match = TcpCheckStep::Match::String;
    bool negate = false;
    std::optional<uint16_t> port;
    std::optional<Regex> regex;
    bool lineMode = false;            // a complete line that does not match fails at once (redis)
    std::optional<Duration> timeout;  // tcp-check per-step timeout; else the check timeout
  };

  void onIo(short what);
  void run();
  void advance();
  bool sendPreface();  // false: the check failed (finished)
  // The connection's way to the first step after Connect: the preface, then TLS when asked.
  // False: the check waits (for the handshake) or failed.
  bool connected();
  bool continueHandshake();
  // send()/recv() through TLS when the check speaks it: the socket calls' results and errno.
  ssize_t sendBytes(const char* data, size_t length);
  ssize_t recvBytes(char* buf, size_t length);
  void waitFor(short what);
  void finish(CheckResult r);
  bool fillInput();  // false on EOF or error (sets eof_/ioError_)
  void scheduleNext();

  event_base* base_;
  CheckTarget target_;
  Done done_;
  std::vector<Step> program_;
  Timer timer_;
  Event io_;
  bool running_ = false;
  bool connecting_ = false;
  UniqueFd fd_;
  struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
  };
  std::unique_ptr<SSL, SslFree> ssl_;  // the check's TLS, freed before fd_ closes
  bool handshaking_ = false;
  size_t step_ = 0;
  std::string out_;
  size_t outSent_ = 0;
  std::string in_;
  size_t inPos_ = 0;  // where the next expect starts looking
  bool eof_ = false;
  int ioError_ = 0;
  int64_t startedUs_ = 0;
  size_t stepStarted_ = SIZE_MAX;  // which step stepStartUs_ belongs to
  int64_t stepStartUs_ = 0;
  std::mt19937 rng_;
};

}  // namespace tandem::health
