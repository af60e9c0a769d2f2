#include "vrrp/notifier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/logging.h"
#include "vrrp/transition_log.h"

namespace tandem::vrrp {

using namespace std::chrono_literals;

Notifier::Notifier(event_base* base, const Config& config, ScriptUser user)
    : child_(base), user_(std::move(user)), stateDir_(config.stateDir) {
  auto& log = logging::get(logging::Component::Vrrp);
  std::error_code ec;
  std::filesystem::create_directories(stateDir_, ec);
  if (!config.notifyFifo.empty()) {
    if (::mkfifo(config.notifyFifo.c_str(), 0600) != 0 && errno != EEXIST)
      log.error("cannot create notify FIFO {}: {}", config.notifyFifo, std::strerror(errno));
    // O_RDWR keeps the FIFO open without a reader, so writes never block or fail with EPIPE.
    fifo_.reset(::open(config.notifyFifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  }
}

void Notifier::transition(const Instance& instance, State from, State state, uint8_t priority,
                          const std::string& why) {
  const char* name = toString(state);
  std::string prio = std::to_string(priority);
  // A structured line per transition (what a log shipper keys on), then the state file.
  logging::get(logging::Component::Vrrp)
      .info("vrrp_transition instance={} state={} priority={} interface={} vrid={}", instance.name,
            name, prio, instance.interface, int(instance.virtualRouterId));
  std::string path = stateDir_ + "/vrrp-" + instance.name + ".state";
  {
    std::ofstream out(path + ".tmp", std::ios::trunc);
    out << name << "\n";
  }
  std::error_code ec;
  std::filesystem::rename(path + ".tmp", path, ec);
  TransitionRecord record{std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count(),
                          toString(from), name, priority, why};
  if (!appendTransition(historyPath(stateDir_, instance.name), record))
    logging::get(logging::Component::Vrrp)
        .warn("cannot write {}", historyPath(stateDir_, instance.name));
  if (fifo_) {
    std::string line = "INSTANCE \"" + instance.name + "\" " + name + " " + prio + "\n";
    if (::write(fifo_.get(), line.data(), line.size()) < 0)
      logging::get(logging::Component::Vrrp).warn("notify FIFO full: dropped '{}'", line);
  }
  std::vector<std::string> args = {"INSTANCE", instance.name, name, prio};
  const Notify& n = instance.notify;
  const std::string* specific = state == State::Master   ? &n.master
                                : state == State::Backup ? &n.backup
                                : state == State::Fault  ? &n.fault
                                                         : &n.stop;
  if (!specific->empty()) queue_.push_back({*specific, args});
  if (!n.any.empty()) queue_.push_back({n.any, args});
  if (!child_.running()) runNext();
}

void Notifier::runNext() {
  while (!queue_.empty()) {
    Job job = std::move(queue_.front());
    queue_.pop_front();
    if (child_.start(job.command, job.args, user_, 30s, [this, cmd = job.command](int code) {
          if (code != 0)
            logging::get(logging::Component::Vrrp).warn("notify '{}' exited with {}", cmd, code);
          runNext();
        }))
      return;
    logging::get(logging::Component::Vrrp).error("cannot run notify '{}'", job.command);
  }
}

}  // namespace tandem::vrrp
