// Notify hooks and the event FIFO, delivered strictly in order: one hook runs at a time and the
// next starts when it exits (keepalived forks them all at once, and they race — its users moved
// to notify_fifo for that reason). Each transition also rewrites a state file and is logged.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "common/event.h"
#include "common/fd.h"
#include "vrrp/child_process.h"
#include "vrrp/config.h"
#include "vrrp/state_machine.h"

namespace tandem::vrrp {

class Notifier {
 public:
  Notifier(event_base* base, const Config& config, ScriptUser user);
  // A reload that changed vrrp.script_user: hooks queued from now on run as `user`.
  void setUser(ScriptUser user) { user_ = std::move(user); }

  // Queues the hooks of `instance` for its new state; writes the FIFO line, the state file and
  // a line of its history (transition_log.h) saying why.
  void transition(const Instance& instance, State from, State state, uint8_t priority,
                  const std::string& why);
  bool idle() const { return queue_.empty() && !child_.running(); }

 private:
  struct Job {
    std::string command;
    std::vector<std::string> args;
  };
  void runNext();

  ChildProcess child_;
  ScriptUser user_;
  std::deque<Job> queue_;
  std::string stateDir_;
  UniqueFd fifo_;
};

}  // namespace tandem::vrrp
