// Network namespace helpers for the lab and the drills: running iproute2, entering a named
// namespace in the calling thread (setns is per thread), starting detached processes in one.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/fd.h"

namespace tandem::appliance {

// Runs argv (searched in PATH), waits, returns its exit status (-1 when it could not run).
// Output goes to *output when given, else nowhere.
int runCommand(const std::vector<std::string>& argv, std::string* output = nullptr);

bool netnsExists(const std::string& name);

// Moves the calling thread into a named namespace (/run/netns/NAME); back on destruction.
class NetnsEnter {
 public:
  explicit NetnsEnter(const std::string& name);
  ~NetnsEnter();
  NetnsEnter(const NetnsEnter&) = delete;
  NetnsEnter& operator=(const NetnsEnter&) = delete;
  bool ok() const { return ok_; }

 private:
  UniqueFd original_;
  bool ok_ = false;
};

// Starts argv inside namespace `netns` ("" = this one) as a daemon: its own session, stdin
// from /dev/null, stdout and stderr appended to `logPath`. Returns its PID, or -1.
pid_t spawnDetached(const std::string& netns, const std::vector<std::string>& argv,
                    const std::string& logPath);

// Stops a process by PID: `sig`, then SIGKILL after `graceMs`. True when it is gone.
bool stopProcess(pid_t pid, int sig, int graceMs);
bool processAlive(pid_t pid);

}  // namespace tandem::appliance
