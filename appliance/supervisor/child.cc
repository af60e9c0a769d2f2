#include "appliance/supervisor/child.h"

#include "common/pidfd.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tandem::appliance {

Child::Child(event_base* base, std::string role, Exited onExit)
    : base_(base), role_(std::move(role)), onExit_(std::move(onExit)) {}

Child::~Child() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    siginfo_t info{};
    ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED);
  }
}

bool Child::start(const std::vector<std::string>& argv, const std::vector<int>& inherit,
                  std::string* error) {
  if (pid_ > 0) {
    *error = role_ + " is already running";
    return false;
  }
  // The child receives them as fds 3.. (a fixed array: no allocation after fork).
  constexpr size_t kMaxInherit = 8;
  if (inherit.size() > kMaxInherit) {
    *error = role_ + ": " + std::to_string(inherit.size()) + " descriptors to pass, at most " +
             std::to_string(kMaxInherit);
    return false;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(126);  // the supervisor died before the prctl
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // First out of the way (one inherited fd may sit where another must go), then into place;
    // dup2 clears FD_CLOEXEC on the copy.
    int moved[kMaxInherit];
    size_t count = inherit.size();
    for (size_t i = 0; i < count; ++i) {
      moved[i] = ::fcntl(inherit[i], F_DUPFD_CLOEXEC, 64);
      if (moved[i] < 0) ::_exit(126);
    }
    for (size_t i = 0; i < count; ++i)
      if (::dup2(moved[i], 3 + static_cast<int>(i)) < 0) ::_exit(126);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  UniqueFd fd = pidfdForChild(pid);
  if (!fd) {
    *error = std::string("pidfd_open: ") + std::strerror(errno);
    return false;
  }
  pid_ = pid;
  pidfd_ = std::move(fd);
  started_ = std::chrono::steady_clock::now();
  ev_.assign(base_, pidfd_.get(), EV_READ, [this](short) { onPidfd(); });
  ev_.add();
  return true;
}

bool Child::signal(int sig) {
  if (pid_ <= 0) return false;
  // Through the pidfd: never a recycled PID.
  return ::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0) == 0;
}

void Child::onPidfd() {
  siginfo_t info{};
  if (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG) != 0 ||
      info.si_pid == 0)
    return;
  ev_.remove();
  pidfd_.reset();
  pid_ = -1;
  onExit_(*this, info);  // may destroy *this (and ev_, whose callback this is): nothing after it
}

std::string Child::selfExecutable() {
  std::error_code ec;
  std::string p = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec || p.empty()) return "/proc/self/exe";
  const std::string deleted = " (deleted)";
  if (p.size() > deleted.size() &&
      p.compare(p.size() - deleted.size(), deleted.size(), deleted) == 0)
    p.resize(p.size() - deleted.size());
  return p;
}

std::string Child::describe(const siginfo_t& status) {
  switch (status.si_code) {
    case CLD_EXITED:
      return "exited with status " + std::to_string(status.si_status);
    case CLD_KILLED:
    case CLD_DUMPED:
      return "killed by signal " + std::to_string(status.si_status) + " (" +
             strsignal(status.si_status) + ")" +
             (status.si_code == CLD_DUMPED ? ", core dumped" : "");
    default:
      return "ended (code " + std::to_string(status.si_code) + ")";
  }
}

}  // namespace tandem::appliance
