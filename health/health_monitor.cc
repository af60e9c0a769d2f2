#include "health/health_monitor.h"

#include <chrono>

#include "common/logging.h"

namespace tandem::health {
namespace {

int64_t monotonicUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool isUpState(ServerState s) {
  return s == ServerState::Up || s == ServerState::GoingDown;
}

}  // namespace

HealthMonitor::HealthMonitor(event_base* base, std::vector<CheckTarget> targets,
                             std::vector<BackendMembers> backends, TransitionHook hook)
    : base_(base), hook_(std::move(hook)) {
  for (auto& b : backends) backends_[b.name] = std::move(b);
  for (auto& t : targets) {
    auto m = std::make_unique<Monitored>();
    m->target = std::move(t);
    m->tracker = std::make_unique<ServerTracker>(*m->target.health, m->target.params.rise,
                                                 m->target.params.fall);
    Monitored* raw = m.get();
    m->check = std::make_unique<Check>(base_, m->target,
                                       [this, raw](const CheckResult& r) { onResult(*raw, r); });
    m->rampTimer.assign(base_, [this, raw] { ramp(*raw); });
    servers_.push_back(std::move(m));
  }
}

HealthMonitor::~HealthMonitor() = default;

void HealthMonitor::start() {
  // Spread first checks over each server's interval by its position (HAProxy's spread-checks).
  size_t n = servers_.size();
  for (size_t i = 0; i < n; ++i) {
    Duration inter = servers_[i]->target.params.inter;
    servers_[i]->check->start(Duration(inter.count() * static_cast<int64_t>(i) /
                                       static_cast<int64_t>(std::max<size_t>(n, 1))));
  }
}

std::string HealthMonitor::leftCount(const std::string& backend) const {
  auto it = backends_.find(backend);
  if (it == backends_.end()) return "";
  int active = 0, backup = 0;
  for (const auto& m : it->second.members) {
    if (!m.health->usable()) continue;
    (m.backup ? backup : active)++;
  }
  return std::to_string(active) + " active and " + std::to_string(backup) + " backup servers left.";
}

void HealthMonitor::report(Monitored& m, const Transition& t, const CheckResult* r) {
  auto& log = logging::get(logging::Component::Health);
  const CheckTarget& tg = m.target;
  std::string who = (tg.backup ? "Backup server " : "Server ") + tg.backend + "/" + tg.server;
  std::string dur = std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.checkDuration).count());
  std::string line;
  bool upNow = isUpState(t.to), upBefore = isUpState(t.from);
  if (r && upNow == upBefore && t.to != ServerState::Maint && t.to != ServerState::Drain) {
    // Still on the same side: a check failed (or passed) without flipping the server yet.
    int count = m.tracker->consecutive();
    int of = upNow ? tg.params.fall : tg.params.rise;
    line = "Health check for " + std::string(tg.backup ? "backup " : "") + "server " + tg.backend +
           "/" + tg.server + (r->ok ? " succeeded" : " failed") + ", reason: " + t.reason +
           ", check duration: " + dur +
           "ms, status: " + std::to_string(upNow ? of - count : count) + "/" + std::to_string(of) +
           (upNow ? " UP" : " DOWN") + ".";
  } else {
    line = who + " is " + std::string(toString(t.to)) + " (was " + std::string(toString(t.from)) +
           "), reason: " + t.reason + ", check duration: " + dur + "ms. " + leftCount(tg.backend);
  }
  log_.push_back(line);
  if (hook_ && t.from != t.to) hook_(tg.backend, t);
  if (stateHook_ && t.from != t.to) stateHook_(saved(m));
  if (transitionHook_ && t.from != t.to) transitionHook_(tg.backend, tg.server, t);
  if (upNow || t.to == ServerState::GoingUp)
    log.info("{}", line);
  else
    log.warn("{}", line);
}

void HealthMonitor::onResult(Monitored& m, const CheckResult& r) {
  m.target.health->recordCheck(checkStatus(r), r.code, r.duration);
  ServerState before = m.tracker->state();
  auto t = m.tracker->onResult(r);
  if (!t) {
    // No new state, but a check that counts towards fall or rise is worth a line, as in HAProxy.
    bool counting =
        (before == ServerState::GoingDown && !r.ok) || (before == ServerState::GoingUp && r.ok);
    if (counting) report(m, Transition{before, before, r.reason, r.duration}, &r);
    return;
  }
  report(m, *t, &r);
  if (!isUpState(before) && isUpState(t->to) && m.target.slowstart.count() > 0) beginSlowstart(m);
  if (!isUpState(t->to)) {
    m.rampTimer.cancel();
    m.target.health->setEffectiveWeight(m.target.weight);
  }
}

void HealthMonitor::beginSlowstart(Monitored& m) {
  m.rampStartUs = monotonicUs();
  ramp(m);
}

void HealthMonitor::ramp(Monitored& m) {
  int64_t window = m.target.slowstart.count();
  int64_t elapsed = monotonicUs() - m.rampStartUs;
  if (elapsed >= window) {
    m.target.health->setEffectiveWeight(m.target.weight);
    return;
  }
  // Linear from ~0 to full: weight * elapsed / window, at least 1 so the server gets traffic.
  int64_t w = std::max<int64_t>(1, (m.target.weight * elapsed + window - 1) / window);
  m.target.health->setEffectiveWeight(static_cast<int>(w));
  int64_t step = std::max<int64_t>(window / 20, 50000);  // 20 steps, at most every 50 ms
  m.rampTimer.arm(Duration(step));
}

HealthMonitor::Monitored* HealthMonitor::find(const std::string& backend,
                                              const std::string& server) {
  for (auto& m : servers_)
    if (m->target.backend == backend && m->target.server == server) return m.get();
  return nullptr;
}

bool HealthMonitor::setAdminState(const std::string& backend, const std::string& server,
                                  AdminState state, const std::string& why) {
  Monitored* m = find(backend, server);
  if (!m) return false;
  if (auto t = m->tracker->setAdmin(state, why)) {
    report(*m, *t, nullptr);
    // Leaving maintenance ramps like recovering from DOWN (HAProxy's slowstart does both).
    if (t->from == ServerState::Maint && isUpState(t->to) && m->target.slowstart.count() > 0)
      beginSlowstart(*m);
  }
  return true;
}

bool HealthMonitor::setWeight(const std::string& backend, const std::string& server, int weight) {
  Monitored* m = find(backend, server);
  if (!m || weight < 0 || weight > 256) return false;
  m->target.weight = weight;
  m->target.health->setEffectiveWeight(weight);
  log_.push_back("Server " + backend + "/" + server + " weight set to " + std::to_string(weight));
  logging::get(logging::Component::Health).info("{}", log_.back());
  if (stateHook_) stateHook_(saved(*m));
  return true;
}

SavedServerState HealthMonitor::saved(const Monitored& m) const {
  SavedServerState s;
  s.backend = m.target.backend;
  s.server = m.target.server;
  s.checksUp = m.tracker->checksSayUp();
  s.admin = m.tracker->admin();
  s.weight = m.target.weight;
  s.configWeight = m.target.configWeight;
  s.configAdmin = m.target.configAdmin;
  return s;
}

std::vector<SavedServerState> HealthMonitor::save() const {
  std::vector<SavedServerState> out;
  for (const auto& m : servers_) out.push_back(saved(*m));
  return out;
}

bool HealthMonitor::restore(const SavedServerState& s) {
  Monitored* m = find(s.backend, s.server);
  if (!m) return false;
  if (s.configWeight == m->target.configWeight && s.weight != m->target.weight) {
    m->target.weight = s.weight;
    m->target.health->setEffectiveWeight(s.weight);
  }
  if (auto t = m->tracker->restore(s.checksUp, s.adminFor(m->target.configAdmin)))
    report(*m, *t, nullptr);
  return true;
}

}  // namespace tandem::health
