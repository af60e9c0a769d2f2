// Running short commands (track scripts, notify hooks) without blocking the agent: started as
// the script user (vrrp.script_user), their exit seen through a pidfd on the event loop, killed
// on timeout.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "common/duration.h"
#include "common/event.h"
#include "common/fd.h"
#include "vrrp/script_user.h"

namespace tandem::vrrp {

class ChildProcess {
 public:
  // exitCode: the command's status (0 = success), -1 when it was killed on timeout or could
  // not start.
  using Done = std::function<void(int exitCode)>;

  explicit ChildProcess(event_base* base);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Runs `/bin/sh -c command` with `args` as $1.. as `user`; false when a child is still
  // running or the fork failed (then done is not called). A child that cannot become `user`
  // exits 126 without running anything.
  bool start(const std::string& command, const std::vector<std::string>& args,
             const ScriptUser& user, Duration timeout, Done done);
  bool running() const { return pid_ > 0; }

 private:
  void reap(bool timedOut);

  event_base* base_;
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  Event ev_;  // the pidfd becoming readable (the exit) or the timeout
  Done done_;
};

}  // namespace tandem::vrrp
