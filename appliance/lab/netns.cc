#include "appliance/lab/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

extern char** environ;

namespace tandem::appliance {

int runCommand(const std::vector<std::string>& argv, std::string* output) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int pipefd[2] = {-1, -1};
  if (output && ::pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (output) {
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (output) {
    ::close(pipefd[1]);
    if (rc == 0) {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(pipefd[0], buf, sizeof(buf))) > 0) output->append(buf, size_t(n));
    }
    ::close(pipefd[0]);
  }
  if (rc != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool netnsExists(const std::string& name) {
  struct stat st;
  return ::stat(("/run/netns/" + name).c_str(), &st) == 0;
}

NetnsEnter::NetnsEnter(const std::string& name) {
  original_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  UniqueFd target(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
  ok_ = original_ && target && ::setns(target.get(), CLONE_NEWNET) == 0;
}

NetnsEnter::~NetnsEnter() {
  if (ok_) ::setns(original_.get(), CLONE_NEWNET);
}

pid_t spawnDetached(const std::string& netns, const std::vector<std::string>& argv,
                    const std::string& logPath) {
  std::vector<std::string> full;
  if (!netns.empty()) full = {"ip", "netns", "exec", netns};
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (const auto& a : full) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -1;
}

bool processAlive(pid_t pid) {
  if (pid <= 0) return false;
  // Reap it if it is our child and has exited (a zombie still answers kill(0)).
  int status;
  if (::waitpid(pid, &status, WNOHANG) == pid) return false;
  if (::kill(pid, 0) != 0) return false;
  // A zombie of another parent (e.g. a daemon reparented to init) is dead too.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  size_t paren = line.rfind(')');
  return !(paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z');
}

bool stopProcess(pid_t pid, int sig, int graceMs) {
  if (!processAlive(pid)) return true;
  ::kill(pid, sig);
  for (int waited = 0; waited < graceMs; waited += 10) {
    if (!processAlive(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  for (int i = 0; i < 100 && processAlive(pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return !processAlive(pid);
}

}  // namespace tandem::appliance
