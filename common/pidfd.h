// A pidfd for a child just started: how the supervisor and the VRRP agent watch their children
// on an event loop (readable when the child exits) and signal them without PID reuse races.
#pragma once

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fd.h"

namespace tandem {

// The pidfd of child `pid`; when the kernel refuses one, the child is killed and reaped (an
// unwatchable child must not run on) and an invalid fd is returned.
inline UniqueFd pidfdForChild(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  return UniqueFd(fd);
}

}  // namespace tandem
