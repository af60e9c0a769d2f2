// A long-running child of the supervisor (the proxy worker or the VRRP agent): started with
// fork/exec, watched through a pidfd on the event loop (no polling, no SIGCHLD races), told to
// die with its parent (PR_SET_PDEATHSIG) so a killed supervisor leaves nothing behind.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/event.h"
#include "common/fd.h"

namespace tandem::appliance {

class Child {
 public:
  // `status` as waitid reports it; describe() turns it into words.
  using Exited = std::function<void(Child& child, const siginfo_t& status)>;

  Child(event_base* base, std::string role, Exited onExit);
  ~Child();  // a child still running is killed (SIGKILL) and reaped
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Runs argv; inherit[i] becomes fd 3 + i in the child. false + *error when fork or
  // pidfd_open fail (exec failure shows as exit status 127).
  bool start(const std::vector<std::string>& argv, const std::vector<int>& inherit,
             std::string* error);
  bool signal(int sig);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& role() const { return role_; }
  std::chrono::steady_clock::time_point startedAt() const { return started_; }

  // "exited with status 1", "killed by signal 9 (Killed)".
  static std::string describe(const siginfo_t& status);
  // This program's path, for starting its subcommands. After a package upgrade replaced the
  // file, the kernel reports "PATH (deleted)": the new file at PATH is what to start.
  static std::string selfExecutable();

 private:
  void onPidfd();

  event_base* base_;
  std::string role_;
  Exited onExit_;
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  Event ev_;  // after pidfd_: leaves the loop before the fd closes
  std::chrono::steady_clock::time_point started_;
};

}  // namespace tandem::appliance
