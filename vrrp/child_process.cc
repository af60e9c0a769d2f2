#include "vrrp/child_process.h"

#include "common/pidfd.h"

#include <grp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace tandem::vrrp {

ChildProcess::ChildProcess(event_base* base) : base_(base) {
  ev_.assign(base_, -1, 0, [this](short what) { reap((what & EV_TIMEOUT) != 0); });
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool ChildProcess::start(const std::string& command, const std::vector<std::string>& args,
                         const ScriptUser& user, Duration timeout, Done done) {
  if (pid_ > 0) return false;
  // A simple command ("/usr/local/bin/notify.sh" or "logger vrrp") gets the arguments appended,
  // as keepalived passes them to a script; a shell snippet (with ; | & > < $ ` or parentheses)
  // gets them only as its positional parameters $1.., so appending cannot break it.
  bool shellSnippet = command.find_first_of(";|&<>$`()") != std::string::npos;
  std::string script = shellSnippet || args.empty() ? command : command + " \"$@\"";
  std::vector<std::string> argvStore = {"/bin/sh", "-c", script, "tandem"};
  argvStore.insert(argvStore.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argvStore) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Everything the child needs is ready before fork(): between fork and exec it makes only
  // async-signal-safe system calls.
  bool switchUser = ::geteuid() == 0 && (user.uid != 0 || user.gid != 0);
  const gid_t* groups = user.groups.empty() ? &user.gid : user.groups.data();
  size_t groupCount = user.groups.empty() ? 1 : user.groups.size();
  sigset_t none;
  sigemptyset(&none);
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    // Default signal handling and an empty mask (the agent blocks or catches some).
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (switchUser && (::setgroups(groupCount, groups) != 0 || ::setgid(user.gid) != 0 ||
                       ::setuid(user.uid) != 0))
      ::_exit(126);
    if (::chdir("/") != 0) ::_exit(126);
    ::execve("/bin/sh", argv.data(), environ);
    ::_exit(127);
  }
  UniqueFd fd = pidfdForChild(pid);
  if (!fd) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return false;
  }
  pid_ = pid;
  pidfd_ = std::move(fd);
  done_ = std::move(done);
  // Retargeted, not reassigned: a done callback may start the next command from inside this
  // event's own callback.
  ev_.retarget(pidfd_.get(), EV_READ);
  ev_.add(timeout);
  return true;
}

void ChildProcess::reap(bool timedOut) {
  int status = 0;
  if (timedOut) ::kill(pid_, SIGKILL);  // keepalived's script timeout counts as a failure
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  pidfd_.reset();
  int code = timedOut ? -1 : (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  Done done = std::move(done_);
  if (done) done(code);
}

}  // namespace tandem::vrrp
