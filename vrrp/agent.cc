#include "vrrp/agent.h"

#include <net/if.h>
#include <signal.h>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "common/event.h"
#include "common/fd_passing.h"
#include "common/logging.h"
#include "common/node_status.h"
#include "vrrp/address_manager.h"
#include "vrrp/control_socket.h"
#include "vrrp/instance.h"
#include "vrrp/notifier.h"
#include "vrrp/tracking.h"

namespace tandem::vrrp {
namespace {

// Everything one agent process runs, on one loop.
class Agent {
 public:
  Agent(const Config& config, AgentOptions options)
      : config_(config),
        options_(std::move(options)),
        base_(event_base_new()),
        proxyUp_(options_.proxyInitiallyUp) {}

  int run() {
    auto& log = logging::get(logging::Component::Vrrp);
    if (!addresses_.ok()) {
      log.error("cannot open a netlink socket");
      return 1;
    }
    std::string userError, userWarning;
    auto user =
        resolveScriptUser(config_.scriptUser, config_.scriptGroup, &userError, &userWarning);
    if (!user) {
      log.error("cannot start: vrrp.script_user: {}", userError);
      return 1;
    }
    if (!userWarning.empty() && !config_.scripts.empty()) log.warn("{}", userWarning);
    scriptUser_ = *user;
    notifier_ = std::make_unique<Notifier>(base_.get(), config_, scriptUser_);
    links_ = std::make_unique<LinkMonitor>(base_.get(), [this](int ifindex, bool up) {
      auto it = linkUp_.find(ifindex);
      if (it != linkUp_.end() && it->second == up) return;
      linkUp_[ifindex] = up;
      char name[IF_NAMESIZE] = "?";
      if_indextoname(static_cast<unsigned>(ifindex), name);
      logging::get(logging::Component::Vrrp).info("link {} is {}", name, up ? "up" : "down");
      recomputeAll();
    });
    std::string ctlError;
    control_ = makeControl(config_.controlSocket, &ctlError);
    if (!control_->ok()) log.warn("{} (proxy liveness input disabled)", ctlError);
    makeScripts();
    // Before the instances: their first transitions (INIT -> BACKUP) already report.
    statusEv_.assign(base_.get(), -1, 0, [this](short) { sendStatus(); });
    statusTimer_.assign(base_.get(), [this] { sendStatus(); });
    for (const auto& c : config_.instances) {
      std::string error;
      instances_.push_back(makeInstance(c));
      if (!instances_.back()->start(&error)) {
        log.error("VRRP_Instance({}) cannot start: {}", c.name, error);
        for (auto& i : instances_) i->stop();
        return 1;
      }
    }
    for (auto& [name, s] : scripts_) s->start();
    recomputeAll();

    auto stop = [this](int sig) {
      return [this, sig](short) {
        logging::get(logging::Component::Vrrp).info("received signal {}, leaving", sig);
        event_base_loopbreak(base_.get());
      };
    };
    Event term(base_.get(), SIGTERM, EV_SIGNAL | EV_PERSIST, stop(SIGTERM));
    Event intr(base_.get(), SIGINT, EV_SIGNAL | EV_PERSIST, stop(SIGINT));
    term.add();
    intr.add();
    // reload() may replace the control socket and instances, never this event or the agent.
    reloadEv_.assign(base_.get(), -1, 0, [this](short) {
      UniqueFd snapshot = std::move(pendingSnapshot_);
      reload(snapshot.get());
    });
    Event hupEv(base_.get(), SIGHUP, EV_SIGNAL | EV_PERSIST, [this](short) { reload(-1); });
    hupEv.add();
    if (options_.statusFd >= 0) sendStatus();
    event_base_dispatch(base_.get());
    for (auto& i : instances_) i->stop();
    // Let the stop hooks run (in order) before leaving, bounded.
    for (int i = 0; i < 100 && !notifier_->idle(); ++i) event_base_loop(base_.get(), EVLOOP_ONCE);
    log.info("VRRP agent stopped");
    return 0;
  }

 private:
  std::unique_ptr<ControlSocket> makeControl(const std::string& path, std::string* error) {
    return std::make_unique<ControlSocket>(
        base_.get(), path,
        [this](bool up) {
          if (proxyUp_ == up) return;
          proxyUp_ = up;
          logging::get(logging::Component::Vrrp)
              .warn("local proxy reported {}", up ? "up" : "down");
          recomputeAll();
        },
        [this](bool up) {
          if (backendsUp_ == up) return;
          backendsUp_ = up;
          logging::get(logging::Component::Vrrp)
              .warn("local proxy reports {}", up ? "every backend has a usable server again"
                                                 : "a backend without any usable server");
          recomputeAll();
        },
        // Applied after this datagram's handling returns: reload() may replace this socket.
        [this](UniqueFd snapshot) {
          pendingSnapshot_ = std::move(snapshot);
          reloadEv_.activate();
        },
        error);
  }

  // On reload: an unchanged script keeps running with its verdict; a changed one starts over
  // from the verdict of its previous version (a failing check must not read as passing for
  // `fall` runs — on a backup that would raise its priority and preempt the healthy master).
  void reloadScripts() {
    std::map<std::string, std::unique_ptr<TrackScriptRunner>> next;
    for (const auto& s : config_.scripts) {
      auto it = scripts_.find(s.name);
      if (it != scripts_.end() && it->second->script() == s && it->second->user() == scriptUser_) {
        next[s.name] = std::move(it->second);
        continue;
      }
      auto runner = std::make_unique<TrackScriptRunner>(
          base_.get(), s, scriptUser_, [this](const std::string&, bool) { recomputeAll(); });
      if (it != scripts_.end()) runner->assume(it->second->ok());
      runner->start();
      next[s.name] = std::move(runner);
    }
    scripts_ = std::move(next);  // scripts no longer configured stop here
  }

  std::unique_ptr<VrrpInstance> makeInstance(const Instance& c) {
    return std::make_unique<VrrpInstance>(
        base_.get(), c, addresses_,
        [this](const Instance& i, State from, State to, uint8_t prio, const std::string& why) {
          notifier_->transition(i, from, to, prio, why);
          // Off this callback: a reload may be halfway through replacing the instances.
          if (options_.statusFd >= 0) statusEv_.activate();
        });
  }

  // To the supervisor, which passes it on to the proxy worker (metrics, stats page).
  void sendStatus() {
    std::vector<VrrpInstanceStatus> all;
    for (auto& i : instances_)
      if (i) all.push_back(i->status());
    std::string msg(kVrrpStatusMessage);
    msg += encodeVrrpStatus(all);
    sendMessage(options_.statusFd, msg, -1, false);  // a full socket drops one, never stalls
    statusTimer_.arm(std::chrono::seconds(1));
  }

  void makeScripts() {
    scripts_.clear();
    for (const auto& s : config_.scripts) {
      scripts_[s.name] = std::make_unique<TrackScriptRunner>(
          base_.get(), s, scriptUser_, [this](const std::string&, bool) { recomputeAll(); });
    }
  }

  // SIGHUP (snapshotFd -1) or the supervisor's "reload" (snapshotFd: the validated text). An
  // instance whose configuration is unchanged is kept as it is (a master stays master, no
  // advert is missed); a changed one leaves (priority 0) and starts anew.
  void reload(int snapshotFd) {
    auto& log = logging::get(logging::Component::Vrrp);
    if (!options_.reload) {
      log.warn("reload ignored: this agent was started without a configuration to reload");
      return;
    }
    std::optional<Config> next = options_.reload(snapshotFd);
    if (!next) {
      log.error("reload failed: keeping the running configuration");
      return;
    }
    if (next->controlSocket != config_.controlSocket) {
      // The supervisor sends liveness to the new path from now on: follow it at once.
      std::string error;
      auto moved = makeControl(next->controlSocket, &error);
      if (moved->ok()) {
        log.info("control socket moved to {}", next->controlSocket);
        control_ = std::move(moved);
        config_.controlSocket = next->controlSocket;
      } else {
        log.error("{}; staying on {}", error, config_.controlSocket);
      }
    }
    if (next->stateDir != config_.stateDir || next->notifyFifo != config_.notifyFifo)
      log.warn("state_dir and notify_fifo changes apply at the next restart");
    std::string userError, userWarning;
    auto user = resolveScriptUser(next->scriptUser, next->scriptGroup, &userError, &userWarning);
    if (!user) {
      log.error("reload failed: vrrp.script_user: {}; keeping the running configuration",
                userError);
      return;
    }
    bool scriptsChanged = next->scripts != config_.scripts || *user != scriptUser_;
    scriptUser_ = *user;
    notifier_->setUser(scriptUser_);
    config_.scriptUser = next->scriptUser;
    config_.scriptGroup = next->scriptGroup;
    std::vector<std::unique_ptr<VrrpInstance>> kept;
    int unchanged = 0, started = 0, stopped = 0;
    for (const auto& c : next->instances) {
      auto it = std::find_if(instances_.begin(), instances_.end(),
                             [&](const auto& i) { return i && i->config().name == c.name; });
      if (it != instances_.end() && (*it)->config() == c) {
        kept.push_back(std::move(*it));
        ++unchanged;
        continue;
      }
      if (it != instances_.end()) {
        (*it)->stop();
        it->reset();
        ++stopped;
      }
      auto inst = makeInstance(c);
      std::string error;
      if (!inst->start(&error)) {
        log.error("VRRP_Instance({}) cannot start: {}", c.name, error);
        continue;
      }
      kept.push_back(std::move(inst));
      ++started;
    }
    for (auto& i : instances_)
      if (i) {
        i->stop();
        ++stopped;
      }
    instances_ = std::move(kept);
    config_.instances = next->instances;
    config_.scripts = next->scripts;
    if (scriptsChanged) reloadScripts();
    recomputeAll();
    log.info("configuration reloaded: {} instance(s) unchanged, {} (re)started, {} stopped",
             unchanged, started, stopped);
  }

  bool linkIsUp(int ifindex) const {
    auto it = linkUp_.find(ifindex);
    return it == linkUp_.end() || it->second;  // unknown: assume up until told otherwise
  }

  // keepalived's arithmetic, applied to every instance (see tracking.h).
  void recomputeAll() {
    for (auto& inst : instances_) {
      const Instance& c = inst->config();
      int weights = 0;
      bool fault = false;
      std::string why;
      std::string adjustments;  // what moves the priority now, for a transition's reason
      auto adjust = [&](int w, const std::string& what) {
        weights += w;
        adjustments +=
            (adjustments.empty() ? "" : ", ") + what + " " + (w > 0 ? "+" : "") + std::to_string(w);
      };
      for (const auto& ref : c.trackScripts) {
        auto it = scripts_.find(ref.name);
        if (it == scripts_.end()) continue;
        int w = ref.weight.value_or(it->second->script().weight);
        bool ok = it->second->ok();
        if (w == 0 && !ok) {
          fault = true;
          why = "track script " + ref.name + " failed";
        } else if (w > 0 && ok) {
          adjust(w, "track script " + ref.name + " ok");
        } else if (w < 0 && !ok) {
          adjust(w, "track script " + ref.name + " failed");
        }
      }
      if (c.trackProxy.enabled && !proxyUp_) {
        if (c.trackProxy.weight == 0) {
          fault = true;
          why = "local proxy is down";
        } else {
          adjust(c.trackProxy.weight, "local proxy down");
        }
      } else if (c.trackProxy.enabled && !backendsUp_) {
        adjust(c.trackProxy.backendsDownWeight, "no backend server in rotation");
      }
      if (!linkIsUp(inst->ifindex())) {
        fault = true;
        why = "interface " + c.interface + " is down";
      }
      for (const auto& name : c.trackInterfaces) {
        int idx = static_cast<int>(if_nametoindex(name.c_str()));
        if (idx == 0 || !linkIsUp(idx)) {
          fault = true;
          why = "tracked interface " + name + " is down";
        }
      }
      inst->setTracking(effectivePriority(c.priority, weights), fault, fault ? why : adjustments);
    }
  }

  Config config_;
  AgentOptions options_;
  EventBasePtr base_;  // first: every event below (and in the members) goes before it
  AddressManager addresses_;
  std::unique_ptr<Notifier> notifier_;
  ScriptUser scriptUser_;
  std::unique_ptr<LinkMonitor> links_;
  std::unique_ptr<ControlSocket> control_;
  Event reloadEv_;  // a control-socket reload, run off its callback
  Event statusEv_;  // a transition's status push, run off the instance's callback
  Timer statusTimer_;
  UniqueFd pendingSnapshot_;
  bool proxyUp_;
  bool backendsUp_ = true;
  std::map<std::string, std::unique_ptr<TrackScriptRunner>> scripts_;
  std::vector<std::unique_ptr<VrrpInstance>> instances_;
  std::map<int, bool> linkUp_;
};

}  // namespace

int runAgent(const Config& config, AgentOptions options) {
  return Agent(config, std::move(options)).run();
}

}  // namespace tandem::vrrp
