// The state machine of one checked server, HAProxy's rules: `fall` consecutive failures take an
// UP server DOWN, `rise` consecutive successes bring a DOWN one UP; administrative MAINT and
// DRAIN override what checks say until READY. Pure logic: no sockets, no clock.
#pragma once

#include <optional>
#include <string>

#include "common/duration.h"
#include "health/config.h"
#include "health/server_health.h"

namespace tandem::health {

struct CheckResult {
  enum class Layer { L4, L6, L7 };
  bool ok = false;
  Layer layer = Layer::L4;
  std::string reason;  // "Layer4 connection refused", "Layer7 wrong status 500", ...
  Duration duration{0};
  int code = 0;           // the layer-7 code, when there is one (an HTTP check's status)
  bool timedOut = false;  // ended by the check's timeout
};

// HAProxy's name for how a check ended (L4OK, L4CON, L7STS, ...).
CheckStatus checkStatus(const CheckResult& r);

enum class AdminState { Ready, Drain, Maint };

struct Transition {
  ServerState from;
  ServerState to;
  std::string reason;
  Duration checkDuration{0};
};

class ServerTracker {
 public:
  ServerTracker(ServerHealth& health, int rise, int fall);

  // Feeds one check result; returns the transition it caused, if any.
  std::optional<Transition> onResult(const CheckResult& r);
  // Administrative change (admin socket / stats page); returns the transition, if any.
  std::optional<Transition> setAdmin(AdminState s, const std::string& why);
  // State handed over from a previous worker (reload): no check has run here yet, so the
  // counters start at the boundary (a DOWN server needs `rise` successes).
  std::optional<Transition> restore(bool checksUp, AdminState admin);

  ServerState state() const { return health_.state(); }
  // What checks alone say (ignoring MAINT/DRAIN): UP/GoingDown count as up.
  bool checksSayUp() const { return up_; }
  int consecutive() const { return consecutive_; }
  AdminState admin() const { return admin_; }

 private:
  ServerState derived() const;
  std::optional<Transition> apply(ServerState to, std::string reason, Duration d);

  ServerHealth& health_;
  int rise_;
  int fall_;
  bool up_ = true;       // servers start UP (HAProxy's default), checks may take them down
  int consecutive_ = 0;  // failures while up, successes while down
  AdminState admin_ = AdminState::Ready;
};

}  // namespace tandem::health
