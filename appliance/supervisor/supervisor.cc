#include "appliance/supervisor/supervisor.h"

#include "appliance/supervisor/restart_policy.h"
#include "proxy/fd_budget.h"

#include <net/if.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "appliance/config/config_loader.h"
#include "appliance/config/config_snapshot.h"
#include "appliance/pair/pair_channel.h"
#include "appliance/supervisor/child.h"
#include "appliance/supervisor/control_server.h"
#include "appliance/supervisor/proxy_probe.h"
#include "appliance/supervisor/service_notify.h"
#include "common/event.h"
#include "common/fd_passing.h"
#include "common/logging.h"
#include "common/node_status.h"
#include "proxy/master_channel.h"
#include "proxy/socket_util.h"
#include "proxy/stats_page.h"
#include "vrrp/address_manager.h"
#include "vrrp/control_socket.h"
#include "vrrp/transition_log.h"

namespace tandem::appliance {
namespace {

using json = nlohmann::json;

// Replies never throw: bytes that are not UTF-8 (a request line, a name) are replaced.
std::string dumpJson(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Every listening socket a configuration needs, by key (see proxy::listenKey).
std::map<std::string, proxy::Bind> socketKeys(const Config& c) {
  std::map<std::string, proxy::Bind> keys;
  int threads = proxy::workerThreads(c.proxy);
  auto add = [&](const std::vector<proxy::Frontend>& frontends) {
    for (const auto& fe : frontends)
      for (const auto& b : fe.binds)
        for (int t = 0; t < threads; ++t) keys[proxy::listenKey(b, t)] = b;
  };
  add(c.proxy.frontends);
  add(proxy::builtinFrontends(c.proxy));  // stats page, Prometheus exporter
  return keys;
}

// The probe's target: the configured address, else the first wildcard or loopback bind (a bind
// on a virtual IP cannot be probed on the backup node, where the address is not local). With
// `type: auto` an HTTP frontend is probed with a request: the supervisor holds the listening
// sockets, so a bare TCP connect succeeds from the accept queue even when the worker hangs.
std::optional<Endpoint> probeTarget(const Config& c, ProbeConfig* resolved = nullptr) {
  const ProbeConfig& p = c.supervisor.probe;
  if (resolved) *resolved = p;
  if (p.type == ProbeConfig::Type::None) return std::nullopt;
  if (p.address) {
    if (resolved && p.type == ProbeConfig::Type::Auto) resolved->type = ProbeConfig::Type::Tcp;
    return p.address;
  }
  for (const auto& fe : c.proxy.frontends)
    for (const auto& b : fe.binds) {
      if (resolved && p.type == ProbeConfig::Type::Auto)
        resolved->type =
            fe.mode == proxy::Mode::Http ? ProbeConfig::Type::Http : ProbeConfig::Type::Tcp;
      if (b.ssl || !b.endpoint.ip) continue;
      const IpAddress& ip = *b.endpoint.ip;
      std::string text = ip.toString();
      bool v6 = text.find(':') != std::string::npos;
      if (ip.isUnspecified()) {
        std::string err;
        return Endpoint::parse((v6 ? "[::1]:" : "127.0.0.1:") + std::to_string(b.endpoint.port),
                               true, &err);
      }
      if (text.rfind("127.", 0) == 0 || text == "::1") return b.endpoint;
    }
  return std::nullopt;
}

class Supervisor {
 public:
  Supervisor(std::string configPath, std::string node, Config config, std::string configText)
      : configPath_(std::move(configPath)),
        node_(std::move(node)),
        config_(std::move(config)),
        configText_(std::move(configText)),
        exe_(Child::selfExecutable()),
        base_(event_base_new()),
        notifier_(base_.get()),
        log_(logging::get(logging::Component::Supervisor)) {}

  int run();
  // A child's command line, told which node to load (a `nodes:` file).
  std::vector<std::string> withNode(std::vector<std::string> argv) const {
    if (!node_.empty()) argv.insert(argv.end(), {"--node", node_});
    return argv;
  }

 private:
  // One proxy worker process and its channel.
  struct Worker {
    std::unique_ptr<Child> child;
    UniqueFd channel;
    Event channelEv;  // after channel: leaves the loop before the socket closes
    Timer hardStop;
    int generation = 0;
    bool ready = false;
    Clock::time_point readyAt;
    bool draining = false;
    bool dead = false;
    bool unbound = false;  // a retired worker said it accepts no more
    Duration grace{0};
    std::map<std::string, health::SavedServerState> servers;  // "backend/server"
  };

  // ---- proxy workers ----
  // `text` is the configuration `cfg` was loaded from: the worker runs exactly that.
  std::unique_ptr<Worker> spawnWorker(const Config& cfg, const std::string& text, int generation,
                                      std::string* error);
  void onChannel(Worker* w);
  void onWorkerExit(Worker* w, const siginfo_t& status);
  void onWorkerReady(Worker* w);
  void retire(std::unique_ptr<Worker> w);
  void scheduleRestart(const char* what, Duration delay, Timer& timer);
  void scheduleProxyRestart(Duration delay);
  // A child crashed: its restart delay, and a loud line when its crashes have become a loop.
  Duration crashed(const char* what, RestartPolicy& policy, RestartPolicy::Limits limits,
                   Duration ran, const std::string& how);
  RestartPolicy::Limits proxyRestartLimits() const;
  RestartPolicy::Limits agentRestartLimits() const;
  void restartProxy();
  std::unique_ptr<Worker>* slotOf(Worker* w);
  void reapLater();

  // ---- listening sockets ----
  bool openSockets(const Config& cfg, std::vector<std::string>* added, std::string* error);
  void closeUnused();

  // ---- VRRP agent ----
  void startAgent();
  void onAgentExit(const siginfo_t& status);
  void removeVips(const char* why);
  void scheduleAgentRestart(Duration delay);
  void onAgentStatus();

  // ---- the node's status, for the worker's metrics and stats page ----
  NodeStatus nodeStatus() const;
  void pushNodeStatus();
  void sendNodeStatus(Worker& w);
  void noteReload(bool ok, const std::string& error);
  void countRestart(const char* child, const siginfo_t& status);

  // ---- liveness ----
  void startProbe(bool initiallyUp);
  bool proxyServing() const;
  bool backendsServing() const;
  void updateLiveness(const std::string& why);
  void sendLiveness();

  // ---- reload / stop / control ----
  // onlyIfChanged: a queued reload (asked during another) whose file is what the generation
  // just started from answers "unchanged" instead of swapping workers for nothing.
  void reload(ControlServer::Reply reply, bool onlyIfChanged = false);
  void failReload(const std::string& why);
  void finishReload();
  void replyReload(const json& j);
  void releaseHeldReply(const char* why);
  void beginStop(const char* why);
  void stopProxies();
  void maybeExit();
  void handleControl(const std::string& request, ControlServer::Reply reply);
  std::unique_ptr<ControlServer> makeControl(std::string* error) {
    return std::make_unique<ControlServer>(
        base_.get(), config_.supervisor.controlSocket, config_.supervisor.controlMode,
        [this](const std::string& req, ControlServer::Reply reply) {
          handleControl(req, std::move(reply));
        },
        error);
  }
  // What a reload changed of the supervisor itself: its log and its control socket.
  void applyOwnSettings(const Config& previous);
  void handleControlRequest(const std::string& request, ControlServer::Reply reply);
  json status() const;

  std::string configPath_;
  std::string node_;  // of a `nodes:` file: the children and every reload load it as this node
  Config config_;
  std::string configText_;  // what config_ was loaded from; children restart on it
  std::string exe_;
  EventBasePtr base_;  // before every event below (and in the members' objects): they go first
  ServiceNotifier notifier_;
  spdlog::logger& log_;
  Clock::time_point started_ = Clock::now();
  int64_t startedUnixMs_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  int generation_ = 1;
  bool announcedReady_ = false;

  // The channel to the other node (`pair:`), after base_: it goes first.
  std::unique_ptr<pair::PairChannel> pair_;
  bool configDrift_ = false;
  std::string peerVersionSeen_;  // the peer's version while it differs from ours, else ""
  bool startPair(std::string* error);
  // The peer changed (up, down, its configuration) or this node reloaded: compares the two
  // configurations, logs a drift as it starts and ends, and tells the worker (metrics).
  void onPairChange();
  pair::LocalState pairState() const;
  // An instance's role as the agent last wrote it to its state file (UNKNOWN without an agent).
  std::string instanceState(const std::string& instance) const;
  json vrrpRoles() const;

  std::map<std::string, UniqueFd> sockets_;

  std::unique_ptr<Worker> current_;
  std::unique_ptr<Worker> pending_;  // a reload's new worker until it serves
  std::list<std::unique_ptr<Worker>> draining_;
  std::vector<std::unique_ptr<Worker>> graveyard_;  // destroyed outside their own callbacks
  std::map<std::string, health::SavedServerState> lastServers_;
  // The node's last changes (servers, the proxy worker, reloads) for `tandem status`; VRRP
  // instances keep their own history files (vrrp/transition_log.h), merged in when read.
  std::deque<vrrp::TransitionRecord> events_;
  std::deque<std::string> eventNames_;  // what each event is about, in events_' order
  void recordEvent(const std::string& what, std::string from, std::string to, std::string why);
  int proxyRestarts_ = 0;
  std::string lastProxyExit_;
  RestartPolicy proxyRestart_{proxyRestartLimits()};
  Duration proxyRestartDelay_{0};
  Timer proxyRestartEv_;

  std::unique_ptr<Config> pendingConfig_;
  std::string pendingConfigText_;
  std::vector<std::string> pendingAddedSockets_;
  std::vector<ControlServer::Reply> reloadReplies_;
  // The agent's reload travels on its control socket with the validated text attached (not
  // SIGHUP, which would make it read the file); retried while the agent is not listening.
  bool sendAgentReload();
  std::string agentControlPath_;  // where the running agent listens
  // A reload moved vrrp.control_socket: the agent binds the new path as it applies the reload,
  // or stays on the old one when it cannot. Confirmed by the first message the new path takes.
  std::string agentControlPathMoving_;
  bool agentReloadDue_ = false;
  // A reload asked for while another runs: done after it, with a fresh read of the file.
  bool reloadAgain_ = false;
  std::vector<ControlServer::Reply> nextReloadReplies_;
  Timer reloadTimeoutEv_;
  // A finished reload's answer, held until the old worker accepts no more (or 2 s).
  std::optional<json> heldReply_;
  Worker* unbindWaitFor_ = nullptr;
  Timer unbindTimeoutEv_;

  std::unique_ptr<Child> agent_;
  int agentRestarts_ = 0;
  std::string lastAgentExit_;
  RestartPolicy agentRestart_{agentRestartLimits()};
  Timer agentRestartEv_;
  // The agent's status reports (common/node_status.h): the latest, passed on to the worker.
  UniqueFd agentStatus_;
  Event agentStatusEv_;  // after agentStatus_: leaves the loop before the socket closes
  std::vector<VrrpInstanceStatus> vrrpStatus_;
  std::map<std::string, std::map<std::string, uint64_t>> restartsByReason_;
  int64_t lastReloadUnixMs_ = 0;
  bool lastReloadOk_ = true;
  std::string lastReloadError_;
  std::unique_ptr<vrrp::AddressManager> addresses_;

  std::unique_ptr<ProxyProbe> probe_;
  bool liveSent_ = false;
  bool live_ = false;
  bool backendsUp_ = true;
  Event livenessEv_;

  std::unique_ptr<ControlServer> control_;
  // The control server a reload moved away from: it still answers the clients it has (the
  // `tandem reload` that moved it waits for its reply there), then goes.
  std::unique_ptr<ControlServer> retiredControl_;
  Timer retireControlEv_;
  bool stopping_ = false;
  Timer stopTimerEv_;
  Timer reapEv_;
  std::list<Event> signalEvents_;
};

// ------------------------------------------------------------------------------------------
// proxy workers

std::unique_ptr<Supervisor::Worker> Supervisor::spawnWorker(const Config& cfg,
                                                            const std::string& text, int generation,
                                                            std::string* error) {
  UniqueFd snapshot = writeConfigSnapshot(text, error);
  if (!snapshot) return nullptr;
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) {
    *error = std::string("socketpair: ") + std::strerror(errno);
    return nullptr;
  }
  UniqueFd ours(sp[0]), theirs(sp[1]);
  auto w = std::make_unique<Worker>();
  w->generation = generation;
  w->grace = cfg.proxy.gracePeriod;
  Worker* raw = w.get();
  w->child = std::make_unique<Child>(
      base_.get(), "proxy", [this, raw](Child&, const siginfo_t& s) { onWorkerExit(raw, s); });
  if (!w->child->start(
          withNode({exe_, "proxy", "-c", configPath_, "--master-fd", "3", "--config-fd", "4"}),
          {theirs.get(), snapshot.get()}, error))
    return nullptr;
  theirs.reset();
  // The handover: the worker reads it once its configuration is loaded, which may take a
  // while (names to resolve, certificates). The supervisor's loop must not wait for that: the
  // whole handover goes into the socket buffer at once (sized for ~100k server states), and
  // what does not fit fails this start instead of blocking.
  int room = 16 << 20;
  if (::setsockopt(ours.get(), SOL_SOCKET, SO_SNDBUFFORCE, &room, sizeof(room)) != 0)
    ::setsockopt(ours.get(), SOL_SOCKET, SO_SNDBUF, &room, sizeof(room));
  bool sent = true;
  size_t handed = 0;
  for (const auto& [key, bind] : socketKeys(cfg)) {
    auto it = sockets_.find(key);
    if (it == sockets_.end()) continue;
    sent = sent && proxy::sendListenSocket(ours.get(), key, it->second.get(), false);
    ++handed;
  }
  std::vector<health::SavedServerState> states;
  const auto& source = current_ ? current_->servers : lastServers_;
  for (const auto& [k, s] : source) states.push_back(s);
  sent =
      sent && proxy::sendSavedStates(ours.get(), states, false) && proxy::sendGo(ours.get(), false);
  if (!sent) {
    *error = std::string("handing the sockets and server states to the new worker: ") +
             std::strerror(errno);
    return nullptr;  // the child is killed and reaped with its Worker
  }
  w->channel = std::move(ours);
  w->channelEv.assign(base_.get(), w->channel.get(), EV_READ | EV_PERSIST,
                      [this, raw](short) { onChannel(raw); });
  w->channelEv.add();
  log_.info(
      "started proxy worker {} (generation {}, {} listening socket(s), {} server state(s) "
      "carried over)",
      w->child->pid(), generation, handed, states.size());
  return w;
}

void Supervisor::onChannel(Worker* w) {
  for (int i = 0; i < 64; ++i) {
    std::string msg;
    ssize_t n = receiveMessage(w->channel.get(), &msg, nullptr);
    if (n < 0) return;  // EAGAIN: the pair is blocking but poll said readable; done anyway
    if (n == 0) {
      w->channelEv.remove();  // the worker is gone; its pidfd tells how
      return;
    }
    if (msg == "ready") {
      onWorkerReady(w);
    } else if (msg == "unbound") {
      w->unbound = true;
      if (w == unbindWaitFor_) releaseHeldReply("the old worker accepts no more");
    } else if (auto t = proxy::parseServerTransition(msg)) {
      if (w == current_.get())
        recordEvent("server " + t->backend + "/" + t->server, t->from, t->to, t->reason);
    } else {
      std::vector<health::SavedServerState> states;
      if (proxy::parseStatesMessage(msg, &states)) {
        for (auto& s : states) w->servers[s.backend + "/" + s.server] = s;
        if (w == current_.get()) updateLiveness("server states");
      }
    }
    // One message per wake-up is enough for a blocking socket; stop before it would block.
    pollfd p{w->channel.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return;
  }
}

std::unique_ptr<Supervisor::Worker>* Supervisor::slotOf(Worker* w) {
  if (current_.get() == w) return &current_;
  if (pending_.get() == w) return &pending_;
  for (auto& d : draining_)
    if (d.get() == w) return &d;
  return nullptr;
}

void Supervisor::reapLater() {
  reapEv_.arm(Duration(0));
}

void Supervisor::onWorkerExit(Worker* w, const siginfo_t& status) {
  std::string how = Child::describe(status);
  std::unique_ptr<Worker>* slot = slotOf(w);
  if (!slot) return;
  std::unique_ptr<Worker> dead = std::move(*slot);
  draining_.remove_if([](const auto& p) { return !p; });
  dead->dead = true;
  if (dead.get() == unbindWaitFor_) releaseHeldReply("the old worker ended");
  if (dead->draining) {
    log_.info("old proxy worker (generation {}) finished: {}", dead->generation, how);
  } else if (dead.get() == pending_.get() || slot == &pending_) {
    log_.error("new proxy worker (generation {}) {} before it was ready", dead->generation, how);
    graveyard_.push_back(std::move(dead));
    reapLater();
    failReload("the new proxy worker " + how + " before it was ready (see the log)");
    return maybeExit();
  } else {
    lastServers_ = dead->servers;
    lastProxyExit_ = how;
    if (!stopping_) recordEvent("proxy worker", "running", "exited", how);
    if (!stopping_) countRestart("proxy", status);
    // The next worker must prove itself to the probe (rise) before the node counts as live.
    if (probe_ && !stopping_) probe_->start(false);
    if (stopping_) {
      log_.info("proxy worker {}", how);
    } else {
      log_.error("proxy worker (generation {}) {}; the VRRP agent is told at once",
                 dead->generation, how);
      Duration served = dead->ready
                            ? std::chrono::duration_cast<Duration>(Clock::now() - dead->readyAt)
                            : Duration(0);
      proxyRestartDelay_ =
          crashed("proxy worker", proxyRestart_, proxyRestartLimits(), served, how);
    }
  }
  graveyard_.push_back(std::move(dead));
  reapLater();
  updateLiveness("proxy worker " + how);
  if (!current_ && !pending_ && !stopping_) scheduleProxyRestart(proxyRestartDelay_);
  maybeExit();
}

RestartPolicy::Limits Supervisor::proxyRestartLimits() const {
  // The listening sockets stay open here while the worker is down: clients queue in the
  // backlog, so the back-off stays short whatever restart_delay.max says for the agent.
  return {config_.supervisor.restartDelay,
          std::min<Duration>(config_.supervisor.restartDelayMax, std::chrono::seconds(1))};
}

RestartPolicy::Limits Supervisor::agentRestartLimits() const {
  return {config_.supervisor.restartDelay, config_.supervisor.restartDelayMax};
}

Duration Supervisor::crashed(const char* what, RestartPolicy& policy, RestartPolicy::Limits limits,
                             Duration ran, const std::string& how) {
  policy.setLimits(limits);  // a reload may have changed supervisor.restart_delay
  Clock::time_point now = Clock::now();
  Duration delay = policy.onCrash(now, ran);
  if (policy.crashLoop(now))
    log_.critical(
        "CRASH LOOP: the {} crashed {} times in the last {} (last: {}); still "
        "restarting it, at most {} apart — the lines above say why it dies",
        what, policy.recentCrashes(now), formatDuration(policy.limits().loopWindow), how,
        formatDuration(policy.limits().cap));
  return delay;
}

// One restart at a time: a restart already scheduled keeps its time.
void Supervisor::scheduleRestart(const char* what, Duration delay, Timer& timer) {
  if (timer.armed()) return;
  log_.info("restarting the {} in {}", what, formatDuration(delay));
  timer.arm(delay);
}

void Supervisor::scheduleProxyRestart(Duration delay) {
  scheduleRestart("proxy worker", delay, proxyRestartEv_);
}

void Supervisor::restartProxy() {
  if (current_ || pending_ || stopping_) return;
  std::string error;
  current_ = spawnWorker(config_, configText_, generation_, &error);
  if (!current_) {
    log_.error("cannot start the proxy worker: {}", error);
    return scheduleProxyRestart(proxyRestart_.onStartFailure());
  }
  ++proxyRestarts_;
}

void Supervisor::onWorkerReady(Worker* w) {
  w->ready = true;
  w->readyAt = Clock::now();
  if (w == pending_.get()) return finishReload();
  if (w != current_.get()) return;
  sendNodeStatus(*w);
  log_.info("proxy worker {} is serving", w->child->pid());
  if (probe_) probe_->probeNow();
  updateLiveness("proxy worker ready");
  if (!announcedReady_) {
    announcedReady_ = true;
    notifier_.ready("serving, generation " + std::to_string(generation_));
  }
}

void Supervisor::retire(std::unique_ptr<Worker> w) {
  if (!w) return;
  w->draining = true;
  if (w->child->running()) {
    w->child->signal(SIGUSR1);
    // hard-stop-after: an old worker never outlives its grace period (plus a margin).
    w->hardStop.assign(base_.get(), [this, old = w.get()] {
      if (!old->child->running()) return;
      log_.warn("old proxy worker {} outlived its grace period: killing it", old->child->pid());
      old->child->signal(SIGKILL);
    });
    w->hardStop.arm(w->grace + 1s);
    log_.info("old proxy worker {} (generation {}) drains for at most {}", w->child->pid(),
              w->generation, formatDuration(w->grace));
    draining_.push_back(std::move(w));
  }
}

// ------------------------------------------------------------------------------------------
// listening sockets

bool Supervisor::openSockets(const Config& cfg, std::vector<std::string>* added,
                             std::string* error) {
  for (const auto& [key, bind] : socketKeys(cfg)) {
    if (sockets_.count(key)) continue;
    UniqueFd fd = proxy::makeListenSocket(bind.endpoint, bind.backlog, bind.v6only, error);
    if (!fd) {
      for (const auto& k : *added) sockets_.erase(k);
      added->clear();
      return false;
    }
    sockets_[key] = std::move(fd);
    added->push_back(key);
  }
  return true;
}

void Supervisor::closeUnused() {
  auto keys = socketKeys(config_);
  for (auto it = sockets_.begin(); it != sockets_.end();) {
    if (keys.count(it->first)) {
      ++it;
    } else {
      log_.info("closing listening socket {} (no longer configured)", it->first);
      it = sockets_.erase(it);
    }
  }
}

// ------------------------------------------------------------------------------------------
// VRRP agent

void Supervisor::startAgent() {
  if (agent_ && agent_->running()) return;
  if (config_.vrrp.instances.empty() || stopping_) return;
  agentRestartEv_.cancel();
  agent_ = std::make_unique<Child>(base_.get(), "vrrp",
                                   [this](Child&, const siginfo_t& s) { onAgentExit(s); });
  std::string error;
  UniqueFd snapshot = writeConfigSnapshot(configText_, &error);
  int sp[2] = {-1, -1};
  if (snapshot &&
      ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) != 0) {
    error = std::string("socketpair: ") + std::strerror(errno);
    snapshot.reset();
  }
  UniqueFd ours(sp[0]), theirs(sp[1]);
  if (!snapshot || !agent_->start(withNode({exe_, "vrrp", "-c", configPath_, "--supervised",
                                            "--config-fd", "3", "--status-fd", "4"}),
                                  {snapshot.get(), theirs.get()}, &error)) {
    log_.error("cannot start the VRRP agent: {}", error);
    return scheduleAgentRestart(agentRestart_.onStartFailure());
  }
  agentStatusEv_.remove();
  agentStatus_ = std::move(ours);
  agentStatusEv_.assign(base_.get(), agentStatus_.get(), EV_READ | EV_PERSIST,
                        [this](short) { onAgentStatus(); });
  agentStatusEv_.add();
  log_.info("started VRRP agent {}", agent_->pid());
  agentControlPath_ = config_.vrrp.controlSocket;
  agentControlPathMoving_.clear();
  agentReloadDue_ = false;  // it starts on the current generation
  sendLiveness();
}

void Supervisor::onAgentStatus() {
  for (int i = 0; i < 16; ++i) {
    std::string msg;
    ssize_t n = receiveMessage(agentStatus_.get(), &msg, nullptr);
    if (n == 0) {
      agentStatusEv_.remove();  // the agent is gone; its exit tells how
      return;
    }
    if (n < 0) break;  // all read
    if (msg.rfind(kVrrpStatusMessage, 0) != 0) continue;
    auto s = decodeVrrpStatus(std::string_view(msg).substr(kVrrpStatusMessage.size()));
    if (!s) {
      log_.warn("the VRRP agent sent a status that does not parse: ignored");
      continue;
    }
    vrrpStatus_ = std::move(*s);
  }
  pushNodeStatus();
}

void Supervisor::onAgentExit(const siginfo_t& status) {
  std::string how = Child::describe(status);
  lastAgentExit_ = how;
  if (!stopping_) recordEvent("vrrp agent", "running", "exited", how);
  if (!stopping_) countRestart("vrrp", status);
  vrrpStatus_.clear();  // nobody speaks for the instances until the agent is back
  pushNodeStatus();
  bool clean = status.si_code == CLD_EXITED && status.si_status == 0;
  if (stopping_) {
    log_.info("VRRP agent {}", how);
    if (!clean) removeVips("the VRRP agent did not leave cleanly");
    stopProxies();
    return;
  }
  log_.error("VRRP agent {}", how);
  Duration ran = agent_ ? std::chrono::duration_cast<Duration>(Clock::now() - agent_->startedAt())
                        : Duration(0);
  Duration delay = crashed("VRRP agent", agentRestart_, agentRestartLimits(), ran, how);
  // keepalived leaves the VIP on a dead master; the backup takes it too and both answer.
  removeVips("the VRRP agent died");
  if (!config_.vrrp.instances.empty()) scheduleAgentRestart(delay);
}

void Supervisor::removeVips(const char* why) {
  if (!addresses_) addresses_ = std::make_unique<vrrp::AddressManager>();
  if (!addresses_->ok()) {
    log_.error("cannot open netlink: virtual addresses not removed");
    return;
  }
  for (const auto& inst : config_.vrrp.instances)
    for (const auto& vip : inst.virtualIps) {
      const std::string& dev = vip.device.empty() ? inst.interface : vip.device;
      int ifindex = static_cast<int>(if_nametoindex(dev.c_str()));
      if (ifindex == 0 || !addresses_->present(ifindex, vip)) continue;
      std::string error;
      if (addresses_->remove(ifindex, vip, &error))
        log_.warn("removed virtual address {} from {}: {}", vip.address.toString(), dev, why);
      else
        log_.error("cannot remove virtual address {} from {}: {}", vip.address.toString(), dev,
                   error);
    }
}

void Supervisor::scheduleAgentRestart(Duration delay) {
  scheduleRestart("VRRP agent", delay, agentRestartEv_);
}

// ------------------------------------------------------------------------------------------
// liveness

void Supervisor::startProbe(bool initiallyUp) {
  probe_.reset();
  ProbeConfig probeConfig;
  auto target = probeTarget(config_, &probeConfig);
  if (!target) {
    log_.warn(
        "no local probe target (no wildcard or loopback bind, no supervisor.probe.address): "
        "proxy liveness is the worker process alone");
    return;
  }
  probe_ = std::make_unique<ProxyProbe>(
      base_.get(), probeConfig, *target, [this](bool up, const std::string& why) {
        if (up)
          log_.info("local proxy probe of {} passes ({})", probe_->target().toString(), why);
        else
          log_.error("local proxy probe of {} fails: {}", probe_->target().toString(), why);
        updateLiveness("probe: " + why);
      });
  probe_->start(initiallyUp);
}

// False while some backend has servers but none of them usable (all DOWN, MAINT or DRAIN):
// the agent then ranks this node below a healthy peer (track_proxy.backends_down_weight).
bool Supervisor::backendsServing() const {
  if (!current_) return true;  // no worker: proxyServing() already says down
  for (const auto& be : config_.proxy.backends) {
    if (be.servers.empty()) continue;
    bool any = false;
    for (const auto& srv : be.servers) {
      auto it = current_->servers.find(be.name + "/" + srv.name);
      if (it == current_->servers.end() ||
          (it->second.checksUp && it->second.admin == health::AdminState::Ready)) {
        any = true;  // unchecked servers are always in rotation
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

bool Supervisor::proxyServing() const {
  return current_ && current_->ready && current_->child->running() && (!probe_ || probe_->up());
}

void Supervisor::updateLiveness(const std::string& why) {
  bool live = proxyServing();
  bool backends = backendsServing();
  if (live == live_ && backends == backendsUp_ && liveSent_) return;
  if (!config_.vrrp.instances.empty()) {
    if (live != live_ || !liveSent_)
      log_.info("local proxy is {} ({}): telling the VRRP agent", live ? "up" : "down", why);
    if (backends != backendsUp_)
      log_.warn("{}: telling the VRRP agent", backends ? "every backend has a usable server again"
                                                       : "a backend has no usable server");
  }
  live_ = live;
  backendsUp_ = backends;
  sendLiveness();
  pushNodeStatus();
}

// ------------------------------------------------------------------------------------------
// the node's status

NodeStatus Supervisor::nodeStatus() const {
  NodeStatus n;
  n.generation = generation_;
  n.startedUnixMs = startedUnixMs_;
  n.lastReloadUnixMs = lastReloadUnixMs_;
  n.lastReloadOk = lastReloadOk_;
  n.lastReloadError = lastReloadError_;
  n.probeConfigured = probe_ != nullptr;
  n.probeUp = probe_ && probe_->up();
  n.live = live_;
  n.restarts = restartsByReason_;
  n.vrrpConfigured = !config_.vrrp.instances.empty();
  n.vrrpAgentRunning = agent_ && agent_->running();
  n.vrrp = vrrpStatus_;
  n.pairConfigured = pair_ != nullptr;
  n.pairPeerUp = pair_ && pair_->peerUp();
  n.pairConfigDrift = configDrift_;
  n.pairVersionMismatch = !peerVersionSeen_.empty();
  n.pairRejected = pair_ ? pair_->rejectedConnections() : 0;
  return n;
}

void Supervisor::sendNodeStatus(Worker& w) {
  if (!w.channel || w.dead) return;
  std::string msg(kNodeStatusMessage);
  msg += encodeNodeStatus(nodeStatus());
  sendMessage(w.channel.get(), msg, -1, false);  // a full channel drops one; the next follows
}

void Supervisor::pushNodeStatus() {
  if (current_ && current_->ready) sendNodeStatus(*current_);
}

void Supervisor::noteReload(bool ok, const std::string& error) {
  lastReloadUnixMs_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  lastReloadOk_ = ok;
  lastReloadError_ = error;
  pushNodeStatus();
}

// Why a child had to be restarted, as a short label (the log and `tandem status` say more).
void Supervisor::countRestart(const char* child, const siginfo_t& status) {
  const char* reason = "exited";
  if (status.si_code == CLD_EXITED) {
    reason = status.si_status == 0 ? "exited" : "failed";
  } else {
    switch (status.si_status) {
      case SIGSEGV:
      case SIGBUS:
      case SIGABRT:
      case SIGILL:
      case SIGFPE:
        reason = "crashed";
        break;
      case SIGKILL:
        reason = "killed";
        break;
      default:
        reason = "signaled";
    }
  }
  ++restartsByReason_[child][reason];
}

bool Supervisor::sendAgentReload() {
  std::string error;
  UniqueFd snapshot = writeConfigSnapshot(configText_, &error);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (!snapshot || agentControlPath_.size() >= sizeof(sa.sun_path)) {
    log_.error("cannot hand the new configuration to the VRRP agent: {}", error);
    return false;
  }
  std::strcpy(sa.sun_path, agentControlPath_.c_str());
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
      !sendMessage(fd.get(), vrrp::toString(vrrp::AgentMessage::Reload), snapshot.get(), false)) {
    log_.warn("the VRRP agent does not take its reload on {} yet ({}): retrying", agentControlPath_,
              std::strerror(errno));
    return false;
  }
  // The agent follows a changed control_socket as it applies this, if it can bind it.
  if (config_.vrrp.controlSocket != agentControlPath_)
    agentControlPathMoving_ = config_.vrrp.controlSocket;
  return true;
}

void Supervisor::sendLiveness() {
  liveSent_ = true;
  if (config_.vrrp.instances.empty()) return;
  if (agentReloadDue_ && agent_ && agent_->running()) agentReloadDue_ = !sendAgentReload();
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  auto sendAll = [&](const std::string& path) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof(sa.sun_path)) return false;
    std::strcpy(sa.sun_path, path.c_str());
    bool sent = true;
    using vrrp::AgentMessage;
    for (const char* msg :
         {vrrp::toString(backendsUp_ ? AgentMessage::BackendsUp : AgentMessage::BackendsDown),
          vrrp::toString(live_ ? AgentMessage::ProxyUp : AgentMessage::ProxyDown)})
      sent = ::sendto(fd.get(), msg, std::strlen(msg), MSG_NOSIGNAL,
                      reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) >= 0 &&
             sent;
    return sent;
  };
  // A moved socket counts once the agent listens there; until then (or if it never can bind
  // it) liveness keeps going where the agent is known to listen.
  if (!agentControlPathMoving_.empty()) {
    if (sendAll(agentControlPathMoving_)) {
      log_.info("the VRRP agent listens on {} now", agentControlPathMoving_);
      agentControlPath_ = agentControlPathMoving_;
      agentControlPathMoving_.clear();
      return;
    }
  }
  // The agent may not have its socket yet (starting): the periodic resend covers that.
  sendAll(agentControlPath_.empty() ? config_.vrrp.controlSocket : agentControlPath_);
}

// ------------------------------------------------------------------------------------------
// reload

void Supervisor::reload(ControlServer::Reply reply, bool onlyIfChanged) {
  if (stopping_) {
    if (reply) reply(dumpJson(json{{"ok", false}, {"error", "the node is stopping"}}));
    return;
  }
  if (pending_) {
    // The reload in progress read the file before this request came: the file may have
    // changed since (edit, reload, edit, reload). Read it again once that one is done, and
    // answer this caller with what that second read gives.
    reloadAgain_ = true;
    if (reply) nextReloadReplies_.push_back(std::move(reply));
    log_.info("reload requested while generation {} starts: the file is read again after it",
              generation_ + 1);
    return;
  }
  if (reply) reloadReplies_.push_back(std::move(reply));
  notifier_.reloading();
  log_.info("reloading {}", configPath_);
  LoadResult r = loadConfigFile(configPath_, nullptr, NodeChoice{node_});
  json errors = json::array();
  for (const auto& d : r.diagnostics.sorted()) {
    if (d.severity == Severity::Error) {
      errors.push_back(d.format());
      log_.error("reload: {}", d.format());
    } else {
      log_.warn("reload: {}", d.format());
    }
  }
  if (!r.config) {
    log_.error("reload refused: {} error(s); the running configuration (generation {}) stays",
               errors.size(), generation_);
    notifier_.ready("serving, generation " + std::to_string(generation_) +
                    " (last reload refused)");
    noteReload(false, "invalid configuration: " + std::to_string(errors.size()) + " error(s)");
    replyReload(json{{"ok", false},
                     {"generation", generation_},
                     {"error", "invalid configuration: nothing changed"},
                     {"errors", errors}});
    return;
  }
  if (onlyIfChanged && r.source == configText_) {
    log_.info("reload: the file is what generation {} runs: nothing to change", generation_);
    noteReload(true, "");
    notifier_.ready("serving, generation " + std::to_string(generation_));
    replyReload(json{{"ok", true}, {"generation", generation_}, {"unchanged", true}});
    return;
  }
  pendingConfig_ = std::make_unique<Config>(std::move(*r.config));
  pendingConfigText_ = std::move(r.source);
  std::string error;
  pendingAddedSockets_.clear();
  if (!openSockets(*pendingConfig_, &pendingAddedSockets_, &error)) return failReload(error);
  pending_ = spawnWorker(*pendingConfig_, pendingConfigText_, generation_ + 1, &error);
  if (!pending_) return failReload(error);
  reloadTimeoutEv_.arm(config_.supervisor.reloadTimeout);
}

void Supervisor::releaseHeldReply(const char* why) {
  if (!heldReply_) return;
  unbindTimeoutEv_.cancel();
  unbindWaitFor_ = nullptr;
  json j = std::move(*heldReply_);
  heldReply_.reset();
  log_.debug("reload answered: {}", why);
  replyReload(j);
}

void Supervisor::replyReload(const json& j) {
  auto replies = std::move(reloadReplies_);
  reloadReplies_.clear();
  for (auto& r : replies) r(dumpJson(j));
  if (!reloadAgain_) return;
  // Requests that came while that reload ran: one more reload reads the file again for them.
  reloadAgain_ = false;
  auto next = std::move(nextReloadReplies_);
  nextReloadReplies_.clear();
  if (stopping_) {
    for (auto& r : next) r(dumpJson(json{{"ok", false}, {"error", "the node is stopping"}}));
    return;
  }
  reloadReplies_ = std::move(next);
  reload(nullptr, true);
}

bool Supervisor::startPair(std::string* error) {
  pair_.reset();
  if (!config_.pair.enabled) return true;
  pair_ = std::make_unique<pair::PairChannel>(
      base_.get(), config_.pair.channel, [this] { return pairState(); }, log_);
  pair_->onChange([this] { onPairChange(); });
  if (pair_->start(error)) return true;
  pair_.reset();
  return false;
}

void Supervisor::onPairChange() {
  // Only a one-file pair (nodes:) is meant to hash alike; nodes with files of their own differ
  // by design and are not compared.
  std::string mine = pair::configHash(configText_);
  std::string theirs = pair_ ? pair_->peerConfigHash() : "";
  bool drift = pair_ && !node_.empty() && pair_->peerUp() && !theirs.empty() && theirs != mine;
  if (drift && !configDrift_) {
    log_.warn(
        "pair: CONFIGURATION DRIFT: this node runs generation {} of its file (hash {}), the peer "
        "runs a different one (hash {}): the two nodes no longer load the same file",
        generation_, mine, theirs);
    recordEvent("pair configuration", "same", "DRIFT", "the peer's hash is " + theirs);
  } else if (!drift && configDrift_) {
    bool up = pair_ && pair_->peerUp();
    log_.info("pair: the configuration drift ended: {}",
              up ? "both nodes run hash " + mine : std::string("the peer is down"));
    recordEvent("pair configuration", "DRIFT", up ? "same" : "peer down", "");
  }
  configDrift_ = drift;
  // An old version on the other node is drift too: a failover would change the software.
  std::string theirVersion = pair_ && pair_->peerUp() ? pair_->peerVersion() : "";
  std::string differing = theirVersion != TANDEM_VERSION ? theirVersion : "";
  if (!differing.empty() && differing != peerVersionSeen_) {
    log_.warn("pair: VERSION MISMATCH: the peer runs tandem {}, this node {}", differing,
              TANDEM_VERSION);
    recordEvent("pair version", TANDEM_VERSION, differing, "the peer's version differs");
  } else if (differing.empty() && !peerVersionSeen_.empty() && !theirVersion.empty()) {
    log_.info("pair: the peer runs this node's version ({}) again", TANDEM_VERSION);
  }
  if (!theirVersion.empty() || !pair_) peerVersionSeen_ = differing;
  pushNodeStatus();
}

std::string Supervisor::instanceState(const std::string& instance) const {
  std::ifstream f(config_.vrrp.stateDir + "/vrrp-" + instance + ".state");
  std::string state;
  return (agent_ && agent_->running() && std::getline(f, state)) ? state : "UNKNOWN";
}

json Supervisor::vrrpRoles() const {
  json roles = json::array();
  for (const auto& inst : config_.vrrp.instances)
    roles.push_back({{"instance", inst.name}, {"state", instanceState(inst.name)}});
  return roles;
}

pair::LocalState Supervisor::pairState() const {
  pair::LocalState s;
  s.node = node_;
  if (s.node.empty()) {  // a one-node file: the host's name stands for the node
    char host[256] = "";
    ::gethostname(host, sizeof host - 1);
    s.node = host;
  }
  s.version = TANDEM_VERSION;
  s.generation = generation_;
  s.configHash = pair::configHash(configText_);
  s.roles = vrrpRoles();
  return s;
}

void Supervisor::applyOwnSettings(const Config& previous) {
  if (!(previous.log == config_.log)) {
    logging::setup(config_.log);
    log_.info("log settings of the new configuration applied");
  }
  if (!(previous.pair == config_.pair)) {
    std::string error;
    if (!startPair(&error)) {
      // The file was checked, but the address may be taken: the old channel comes back.
      log_.error("{}; the pair channel keeps its previous settings", error);
      config_.pair = previous.pair;
      if (!startPair(&error)) log_.error("{}: no pair channel until the next reload", error);
    } else if (pair_) {
      log_.info("pair channel settings of the new configuration applied");
    }
  }
  const SupervisorConfig& was = previous.supervisor;
  const SupervisorConfig& now = config_.supervisor;
  if (was.controlSocket != now.controlSocket) {
    std::string error;
    auto moved = makeControl(&error);
    if (!moved->ok()) {
      log_.error("{}; the control socket stays at {}", error, was.controlSocket);
      config_.supervisor.controlSocket = was.controlSocket;
      return;
    }
    log_.info("control socket moved to {}", now.controlSocket);
    retiredControl_ = std::move(control_);
    control_ = std::move(moved);
    // Its clients have had their answers by then (they time out at 5 s).
    retireControlEv_.arm(5s);
  } else if (was.controlMode != now.controlMode) {
    if (::chmod(now.controlSocket.c_str(), now.controlMode) != 0)
      log_.error("control socket {}: cannot set mode {:o}: {}", now.controlSocket, now.controlMode,
                 std::strerror(errno));
  }
}

void Supervisor::failReload(const std::string& why) {
  log_.error("reload failed: {}; the running configuration (generation {}) stays", why,
             generation_);
  reloadTimeoutEv_.cancel();
  if (pending_) {
    pending_->child->signal(SIGKILL);
    // Its exit arrives later; it is no longer the pending worker.
    pending_->draining = true;
    draining_.push_back(std::move(pending_));
  }
  for (const auto& k : pendingAddedSockets_) sockets_.erase(k);
  pendingAddedSockets_.clear();
  pendingConfig_.reset();
  if (!stopping_)
    notifier_.ready("serving, generation " + std::to_string(generation_) + " (last reload failed)");
  if (!current_ && !stopping_) scheduleProxyRestart(proxyRestart_.onStartFailure());
  noteReload(false, why);
  replyReload(json{{"ok", false}, {"generation", generation_}, {"error", why}});
}

void Supervisor::finishReload() {
  reloadTimeoutEv_.cancel();
  std::unique_ptr<Worker> old = std::move(current_);
  Worker* oldWorker = old && old->child->running() ? old.get() : nullptr;
  current_ = std::move(pending_);
  Config previous = std::move(config_);
  config_ = std::move(*pendingConfig_);
  configText_ = std::move(pendingConfigText_);
  pendingConfig_.reset();
  pendingAddedSockets_.clear();
  if (current_->generation != generation_)
    recordEvent("configuration", "generation " + std::to_string(generation_),
                "generation " + std::to_string(current_->generation), "reloaded");
  generation_ = current_->generation;
  proxyRestartEv_.cancel();
  retire(std::move(old));
  closeUnused();
  log_.info("reload done: generation {} serves (worker {})", generation_, current_->child->pid());
  applyOwnSettings(previous);
  if (pair_) onPairChange();
  // The probe keeps its verdict across the reload unless its target changed.
  bool wasUp = probe_ && probe_->up();
  if (probeTarget(previous) != probeTarget(config_) ||
      !(previous.supervisor.probe == config_.supervisor.probe))
    startProbe(wasUp);
  // VRRP: the agent re-reads the file; instances that did not change keep their role.
  if (config_.vrrp.instances.empty()) {
    if (agent_ && agent_->running()) {
      log_.info("no VRRP instances any more: stopping the agent");
      agent_->signal(SIGTERM);
    }
  } else if (agent_ && agent_->running()) {
    if (!(previous.vrrp == config_.vrrp)) agentReloadDue_ = !sendAgentReload();
  } else {
    startAgent();
  }
  updateLiveness("reload");
  noteReload(true, "");
  notifier_.ready("serving, generation " + std::to_string(generation_));
  json reply{{"ok", true},
             {"generation", generation_},
             {"pid", current_->child->pid()},
             {"message", "reloaded: generation " + std::to_string(generation_) +
                             " serves, the old worker drains"}};
  // The answer waits until the old worker accepts no more (it says "unbound"), so that a
  // connection made once `tandem reload` returned meets the new configuration; bounded.
  if (oldWorker && !oldWorker->unbound && !stopping_) {
    heldReply_ = std::move(reply);
    unbindWaitFor_ = oldWorker;
    unbindTimeoutEv_.arm(2s);
    return;
  }
  replyReload(reply);
}

// ------------------------------------------------------------------------------------------
// stop

void Supervisor::beginStop(const char* why) {
  if (stopping_) return;
  stopping_ = true;
  releaseHeldReply("the node stops");
  log_.info("{}: stopping (VRRP agent leaves first, then the proxy drains)", why);
  notifier_.stopping();
  proxyRestartEv_.cancel();
  agentRestartEv_.cancel();
  livenessEv_.remove();
  probe_.reset();
  if (pending_) failReload("the node is stopping");
  if (agent_ && agent_->running()) {
    agent_->signal(SIGTERM);  // sends priority 0, releases the VIPs
    stopTimerEv_.arm(5s);
    return;  // onAgentExit continues with the proxies
  }
  stopProxies();
}

void Supervisor::stopProxies() {
  Duration grace = config_.proxy.gracePeriod;
  auto stop = [](Worker* w) {
    if (w && w->child->running()) w->child->signal(SIGTERM);
  };
  stop(current_.get());
  for (auto& d : draining_) stop(d.get());
  stopTimerEv_.cancel();
  stopTimerEv_.arm(grace + 2s);
  maybeExit();
}

void Supervisor::maybeExit() {
  if (!stopping_) return;
  if (agent_ && agent_->running()) return;
  if (current_ || pending_ || !draining_.empty()) return;
  // A worker that gave up root (global.user) or chrooted cannot remove its admin socket file
  // as it leaves; every worker has ended now, so the file is nobody's.
  if (const auto& admin = config_.proxy.adminSocket) {
    struct stat st {};
    if (::lstat(admin->path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
      ::unlink(admin->path.c_str());
  }
  log_.info("stopped");
  event_base_loopbreak(base_.get());
}

// ------------------------------------------------------------------------------------------
// control socket

void Supervisor::recordEvent(const std::string& what, std::string from, std::string to,
                             std::string why) {
  constexpr size_t kKept = 64;
  vrrp::TransitionRecord r;
  r.wallMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  r.from = std::move(from);
  r.to = std::move(to);
  r.reason = std::move(why);
  events_.push_back(std::move(r));
  eventNames_.push_back(what);
  if (events_.size() > kKept) {
    events_.pop_front();
    eventNames_.pop_front();
  }
}

namespace {
// "2026-12-02T03:12:05.123Z": when, in UTC, for people and for sorting.
std::string isoTime(int64_t wallMs) {
  time_t secs = static_cast<time_t>(wallMs / 1000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(wallMs % 1000));
  return out;
}
}  // namespace

json Supervisor::status() const {
  json j;
  j["generation"] = generation_;
  j["config"] = configPath_;
  j["config_hash"] = pair::configHash(configText_);
  if (pair_) {
    j["pair"] = pair_->status();
    j["pair"]["config_drift"] = configDrift_;
    j["pair"]["version_mismatch"] = !peerVersionSeen_.empty();
  }
  if (!node_.empty()) j["node"] = node_;
  j["uptime_s"] = secondsSince(started_);
  j["state"] = stopping_ ? "stopping" : (pending_ ? "reloading" : "running");
  json children = json::array();
  auto child = [](const char* name, const Child* c, int restarts, const std::string& lastExit,
                  const RestartPolicy& policy) {
    Clock::time_point now = Clock::now();
    json e{{"name", name},
           {"restarts", restarts},
           {"recent_crashes", policy.recentCrashes(now)},
           {"crash_loop", policy.crashLoop(now)}};
    if (c && c->running()) {
      e["state"] = "running";
      e["pid"] = c->pid();
      e["uptime_s"] = secondsSince(c->startedAt());
    } else {
      e["state"] = "stopped";
    }
    if (!lastExit.empty()) e["last_exit"] = lastExit;
    return e;
  };
  children.push_back(child("proxy", current_ ? current_->child.get() : nullptr, proxyRestarts_,
                           lastProxyExit_, proxyRestart_));
  if (!config_.vrrp.instances.empty() || agent_)
    children.push_back(child("vrrp", agent_.get(), agentRestarts_, lastAgentExit_, agentRestart_));
  j["children"] = children;
  j["restarts_by_reason"] = restartsByReason_;
  if (lastReloadUnixMs_)
    j["last_reload"] = json{
        {"time", isoTime(lastReloadUnixMs_)}, {"ok", lastReloadOk_}, {"error", lastReloadError_}};
  json old = json::array();
  for (const auto& d : draining_)
    if (d->child->running()) old.push_back(d->child->pid());
  j["draining_workers"] = old;
  json proxyJ{
      {"live", live_}, {"ready", current_ && current_->ready}, {"backends_serving", backendsUp_}};
  if (probe_) {
    proxyJ["probe"] = probe_->target().toString();
    proxyJ["probe_up"] = probe_->up();
  }
  j["proxy"] = proxyJ;

  json vrrpJ = json::array();
  vrrp::AddressManager addrs;
  for (const auto& inst : config_.vrrp.instances) {
    json i{{"instance", inst.name}, {"interface", inst.interface}, {"vrid", inst.virtualRouterId}};
    i["state"] = instanceState(inst.name);
    json held = json::array(), vips = json::array();
    for (const auto& vip : inst.virtualIps) {
      vips.push_back(vip.address.toString());
      const std::string& dev = vip.device.empty() ? inst.interface : vip.device;
      int ifindex = static_cast<int>(if_nametoindex(dev.c_str()));
      if (ifindex && addrs.ok() && addrs.present(ifindex, vip))
        held.push_back(vip.address.toString());
    }
    i["vips"] = vips;
    i["vips_held"] = held;
    // What the agent reported last: priorities and the other router as last heard.
    for (const auto& s : vrrpStatus_) {
      if (s.name != inst.name) continue;
      i["priority"] = s.basePriority;
      i["effective_priority"] = s.effectivePriority;
      i["adverts_sent"] = s.advertsSent;
      i["adverts_received"] = s.advertsReceived;
      if (!s.peer.empty())
        i["peer"] = json{{"address", s.peer},
                         {"priority", s.peerPriority},
                         {"heard", isoTime(s.peerHeardUnixMs)}};
    }
    vrrpJ.push_back(i);
  }
  j["vrrp"] = vrrpJ;

  json backends = json::array();
  const auto& servers = current_ ? current_->servers : lastServers_;
  for (const auto& be : config_.proxy.backends) {
    json b{{"name", be.name}};
    int up = 0, down = 0, other = 0;
    json list = json::array();
    for (const auto& s : be.servers) {
      std::string state = "UP";
      auto it = servers.find(be.name + "/" + s.name);
      if (it != servers.end()) {
        const auto& st = it->second;
        state = st.admin == health::AdminState::Maint   ? "MAINT"
                : st.admin == health::AdminState::Drain ? "DRAIN"
                : st.checksUp                           ? "UP"
                                                        : "DOWN";
      } else if (!s.check.enabled) {
        state = "UP";  // not checked: always in rotation
      }
      (state == "UP" ? up : state == "DOWN" ? down : other)++;
      list.push_back(json{{"name", s.name}, {"state", state}, {"address", s.address.toString()}});
    }
    b["up"] = up;
    b["down"] = down;
    b["maint_or_drain"] = other;
    b["servers"] = list;
    backends.push_back(b);
  }
  j["backends"] = backends;

  // The last changes, newest last: servers, the proxy, reloads, and each VRRP instance's own
  // history (what moved the VIP, and why).
  struct Row {
    vrrp::TransitionRecord r;
    std::string what;
  };
  std::vector<Row> rows;
  for (size_t i = 0; i < events_.size(); ++i) rows.push_back({events_[i], eventNames_[i]});
  for (const auto& inst : config_.vrrp.instances)
    for (auto& r : vrrp::readTransitions(vrrp::historyPath(config_.vrrp.stateDir, inst.name)))
      rows.push_back({std::move(r), "vrrp " + inst.name});
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.r.wallMs < b.r.wallMs; });
  constexpr size_t kShown = 30;
  json transitions = json::array();
  for (size_t i = rows.size() > kShown ? rows.size() - kShown : 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    json t{{"time", isoTime(row.r.wallMs)},
           {"unix_ms", row.r.wallMs},
           {"what", row.what},
           {"from", row.r.from},
           {"to", row.r.to},
           {"reason", row.r.reason}};
    if (row.what.rfind("vrrp ", 0) == 0) t["priority"] = row.r.priority;
    transitions.push_back(t);
  }
  j["transitions"] = transitions;
  return j;
}

void Supervisor::handleControl(const std::string& request, ControlServer::Reply reply) {
  try {
    handleControlRequest(request, reply);
  } catch (const std::exception& e) {
    log_.error("control request failed: {}", e.what());
    reply(dumpJson(json{{"ok", false}, {"error", e.what()}}));
  }
}

void Supervisor::handleControlRequest(const std::string& request, ControlServer::Reply reply) {
  switch (parseControlRequest(request)) {
    case ControlRequest::Status:
      return reply(dumpJson(status()));
    case ControlRequest::Reload:
      return reload(std::move(reply));
    case ControlRequest::Unknown:
      return reply(unknownControlRequestReply(request));
  }
}

// ------------------------------------------------------------------------------------------

int Supervisor::run() {
  ::signal(SIGPIPE, SIG_IGN);
  log_.info("tandem {} supervising {}", "run", configPath_);
  std::string error;
  // The workers inherit this process's open-file limit: raise it here, or refuse to start with
  // the numbers rather than start a worker that cannot serve its maxconn.
  proxy::Config sized = config_.proxy;
  proxy::FdBudget fds = proxy::fitFdLimit(sized);
  if (!fds.ok) {
    log_.error("cannot start: {}", fds.error);
    return 1;
  }
  if (!fds.info.empty()) log_.info("{}", fds.info);
  std::vector<std::string> added;
  if (!openSockets(config_, &added, &error)) {
    log_.error("cannot start: {}", error);
    return 1;
  }
  event_base* base = base_.get();
  reapEv_.assign(base, [this] { graveyard_.clear(); });
  proxyRestartEv_.assign(base, [this] { restartProxy(); });
  agentRestartEv_.assign(base, [this] {
    ++agentRestarts_;
    startAgent();
  });
  retireControlEv_.assign(base, [this] { retiredControl_.reset(); });
  unbindTimeoutEv_.assign(base, [this] {
    log_.warn(
        "the old proxy worker did not say it stopped accepting within 2s: answering the "
        "reload anyway");
    releaseHeldReply("timeout");
  });
  reloadTimeoutEv_.assign(base,
                          [this] { failReload("the new proxy worker was not ready in time"); });
  stopTimerEv_.assign(base, [this] {
    if (agent_ && agent_->running()) {
      log_.warn("VRRP agent did not leave in time: killing it");
      agent_->signal(SIGKILL);
      return;
    }
    auto kill = [this](Worker* w) {
      if (w && w->child->running()) {
        log_.warn("proxy worker {} did not stop in time: killing it", w->child->pid());
        w->child->signal(SIGKILL);
      }
    };
    kill(current_.get());
    for (auto& d : draining_) kill(d.get());
  });
  // The agent hears the proxy's state again every 250 ms: a restarted agent learns it at once,
  // a lost datagram costs nothing.
  livenessEv_.assign(base, -1, EV_PERSIST, [this](short) { sendLiveness(); });
  livenessEv_.add(250ms);

  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    Event& ev = signalEvents_.emplace_back(base, sig, EV_SIGNAL | EV_PERSIST, [this, sig](short) {
      if (sig == SIGHUP)
        reload(nullptr);
      else
        beginStop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    });
    ev.add();
  }

  control_ = makeControl(&error);
  if (!control_->ok()) log_.warn("{} (`tandem status` and `tandem reload` unavailable)", error);
  if (!startPair(&error)) {
    log_.error("cannot start: {}", error);
    return 1;
  }

  // A crashed earlier agent may have left addresses behind; the agent also checks at start.
  if (!config_.vrrp.instances.empty()) removeVips("left over from an earlier run");
  current_ = spawnWorker(config_, configText_, generation_, &error);
  if (!current_) {
    log_.error("cannot start the proxy worker: {}", error);
    return 1;
  }
  startProbe(false);
  live_ = false;
  startAgent();
  event_base_dispatch(base_.get());
  control_.reset();
  pair_.reset();
  return 0;
}

}  // namespace

int runSupervisor(const std::string& configPath, const std::string& node, Config config,
                  std::string configText) {
  return Supervisor(configPath, node, std::move(config), std::move(configText)).run();
}

}  // namespace tandem::appliance
