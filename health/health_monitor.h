// Runs the health checks of a set of servers on one event loop, drives their ServerTracker state
// machines, ramps weights after recovery (slowstart), and logs every transition once, the way
// HAProxy does:
//   Server web/web1 is DOWN, reason: Layer4 connection refused, check duration: 0ms.
//   1 active and 1 backup servers left.
// It is also the one place administrative changes (MAINT/DRAIN/READY, weight) are made.
#pragma once

#include <event2/event.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "health/check.h"
#include "health/saved_state.h"
#include "health/server_tracker.h"

namespace tandem::health {

// Every server of a backend (checked or not), to count who is left after a transition.
struct BackendMembers {
  std::string name;
  struct Member {
    std::string name;
    bool backup;
    const ServerHealth* health;
  };
  std::vector<Member> members;
};

class HealthMonitor {
 public:
  // Told of every state change (after it is applied), e.g. to re-run queued requests.
  using TransitionHook = std::function<void(const std::string& backend, const Transition&)>;
  // Told of a server's new state after every change that a successor worker must inherit.
  using StateHook = std::function<void(const SavedServerState&)>;

  // `targets` are the servers this monitor checks; `backends` describe every backend.
  HealthMonitor(event_base* base, std::vector<CheckTarget> targets,
                std::vector<BackendMembers> backends, TransitionHook hook = nullptr);
  ~HealthMonitor();

  // Schedules each first check spread over its interval, so checks do not fire together.
  void start();

  // Administrative state and weight; false when no such server is monitored here.
  bool setAdminState(const std::string& backend, const std::string& server, AdminState state,
                     const std::string& why);
  bool setWeight(const std::string& backend, const std::string& server, int weight);

  // Reload hand-over: the state of every monitored server, and applying a predecessor's.
  // A runtime weight is kept only while the configured weight is unchanged (otherwise the
  // operator's new configuration wins), as HAProxy's server-state-file does.
  std::vector<SavedServerState> save() const;
  bool restore(const SavedServerState& saved);
  void setStateHook(StateHook hook) { stateHook_ = std::move(hook); }
  // Every change of a server's state, with its reason (the supervisor's transition history).
  using ServerTransitionHook =
      std::function<void(const std::string& backend, const std::string& server, const Transition&)>;
  void setTransitionHook(ServerTransitionHook hook) { transitionHook_ = std::move(hook); }

  // Transitions seen so far (most recent last), for status output and tests.
  const std::vector<std::string>& log() const { return log_; }

 private:
  struct Monitored {
    CheckTarget target;
    std::unique_ptr<ServerTracker> tracker;
    std::unique_ptr<Check> check;
    Timer rampTimer;
    int64_t rampStartUs = 0;
  };
  void onResult(Monitored& m, const CheckResult& r);
  void report(Monitored& m, const Transition& t, const CheckResult* r);
  void beginSlowstart(Monitored& m);
  void ramp(Monitored& m);
  std::string leftCount(const std::string& backend) const;
  Monitored* find(const std::string& backend, const std::string& server);
  SavedServerState saved(const Monitored& m) const;

  event_base* base_;
  TransitionHook hook_;
  StateHook stateHook_;
  ServerTransitionHook transitionHook_;
  std::vector<std::unique_ptr<Monitored>> servers_;
  std::map<std::string, BackendMembers> backends_;
  std::vector<std::string> log_;
};

}  // namespace tandem::health
