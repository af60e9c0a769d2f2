// `tandem drill config-drift`: the pair's file is edited on one node only and reloaded there, as
// someone working outside the sync would. Both nodes must report the drift (status, log,
// metric) within a few heartbeats, and stop once the copies match again.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <thread>

#include "appliance/lab/drill.h"
#include "appliance/lab/lab.h"
#include "appliance/supervisor/control_server.h"

namespace tandem::appliance {

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The node's view of the pair: {peer_up, config_drift}, or nullopt without an answer.
std::optional<std::pair<bool, bool>> pairView(const LabNode& n) {
  auto s = labNodeStatus(n);
  if (!s || !s->contains("pair")) return std::nullopt;
  const json& p = (*s)["pair"];
  return std::make_pair(p.value("peer_up", false), p.value("config_drift", false));
}

// Milliseconds from `since` until every node reports `drift` (with its peer up); -1 on timeout.
std::vector<int64_t> untilEveryNode(const Lab& lab, bool drift, int64_t since,
                                    std::chrono::milliseconds timeout) {
  std::vector<int64_t> at(lab.nodes.size(), -1);
  int64_t deadline = nowMs() + timeout.count();
  while (nowMs() < deadline) {
    bool all = true;
    for (size_t i = 0; i < lab.nodes.size(); ++i) {
      if (at[i] >= 0) continue;
      auto v = pairView(lab.nodes[i]);
      if (v && v->first && v->second == drift)
        at[i] = nowMs() - since;
      else
        all = false;
    }
    if (all) break;
    std::this_thread::sleep_for(20ms);
  }
  return at;
}

bool reloadNode(const LabNode& n, std::string* error) {
  auto reply = controlRequest(n.socket, "reload", 60000, error);
  if (!reply) return false;
  json j = json::parse(*reply, nullptr, false);
  if (j.is_discarded() || !j.value("ok", false)) {
    *error = j.is_discarded() ? "unreadable reply" : j.value("error", "refused");
    return false;
  }
  return true;
}

bool logHas(const LabNode& n, const std::string& text) {
  std::ifstream f(n.log);
  std::stringstream s;
  s << f.rdbuf();
  return s.str().find(text) != std::string::npos;
}

}  // namespace

int runConfigDriftDrill(const DrillOptions& o, std::ostream& out, std::ostream& err) {
  if (!o.pairFile.empty()) {
    err << "tandem drill config-drift: runs on a Tandem lab only (the pair channel is Tandem's)\n";
    return 2;
  }
  std::string error;
  if (!Lab::validName(o.lab, &error)) {
    err << "tandem drill: " << error << "\n";
    return 2;
  }
  Lab lab = Lab::describe(o.lab);
  if (!lab.isUp()) {
    err << "tandem drill: lab '" << o.lab << "' is not up (tandem lab up)\n";
    return 1;
  }
  // Steady state: each node hears the other and their files match.
  std::vector<int64_t> settled = untilEveryNode(lab, false, nowMs(), 15s);
  for (size_t i = 0; i < settled.size(); ++i)
    if (settled[i] < 0) {
      err << "tandem drill: node " << lab.nodes[i].name
          << " does not hear its peer with the same configuration\n";
      return 1;
    }
  const LabNode& edited = lab.nodes[1];
  std::string original;
  {
    std::ifstream f(edited.config);
    std::stringstream s;
    s << f.rdbuf();
    original = s.str();
  }
  std::vector<std::string> notes;
  // The fault: a hand edit on one node, reloaded there alone.
  {
    std::ofstream(edited.config) << original << "# edited on " << edited.name
                                 << " only (tandem drill config-drift)\n";
  }
  int64_t t0 = nowMs();
  if (!reloadNode(edited, &error)) notes.push_back("reload of the edited file failed: " + error);
  int64_t reloaded = nowMs() - t0;
  std::vector<int64_t> seen = untilEveryNode(lab, true, t0, 10s);
  std::vector<bool> logged;
  for (const auto& n : lab.nodes) logged.push_back(logHas(n, "CONFIGURATION DRIFT"));
  // Undone: the copies match again.
  std::ofstream(edited.config) << original;
  int64_t t1 = nowMs();
  if (!reloadNode(edited, &error)) notes.push_back("reload of the restored file failed: " + error);
  std::vector<int64_t> cleared = untilEveryNode(lab, false, t1, 10s);

  json report{{"scenario", "config-drift"},
              {"pair", "lab '" + lab.name + "'"},
              {"fault", "node " + edited.name + "'s copy edited and reloaded on its own"},
              {"reload_ms", reloaded}};
  json seenJ = json::object(), clearedJ = json::object();
  for (size_t i = 0; i < lab.nodes.size(); ++i) {
    seenJ[lab.nodes[i].name] = seen[i] >= 0 ? json(seen[i]) : json(nullptr);
    clearedJ[lab.nodes[i].name] = cleared[i] >= 0 ? json(cleared[i]) : json(nullptr);
  }
  report["drift_seen_ms"] = seenJ;
  report["drift_cleared_ms"] = clearedJ;
  report["notes"] = notes;
  DrillTargets targets;
  auto target = [&](const std::string& what, bool ok) { targets.add(what, ok); };
  bool allSeen = std::all_of(seen.begin(), seen.end(), [](int64_t v) { return v >= 0; });
  bool allCleared = std::all_of(cleared.begin(), cleared.end(), [](int64_t v) { return v >= 0; });
  int64_t slowest = 0;
  for (int64_t v : seen) slowest = std::max(slowest, v);
  target("both nodes report the drift", allSeen);
  target("within 5 s of the reload", allSeen && slowest <= 5000);
  target("both nodes log it", std::all_of(logged.begin(), logged.end(), [](bool b) { return b; }));
  target("both stop reporting it once the copies match", allCleared);
  target("notes are empty (every step of the drill worked)", notes.empty());
  if (o.json) return targets.finishJson(out, report);
  auto ms = [](int64_t v) { return v < 0 ? std::string("-") : std::to_string(v) + " ms"; };
  out << "drill config-drift on lab '" << lab.name << "'\n"
      << "  fault                    " << report["fault"].get<std::string>() << "\n"
      << "  reload took              " << reloaded << " ms\n";
  for (size_t i = 0; i < lab.nodes.size(); ++i)
    out << "  " << lab.nodes[i].name << ": drift seen after " << ms(seen[i]) << ", cleared after "
        << ms(cleared[i]) << "\n";
  return targets.finishText(out, notes);
}

}  // namespace tandem::appliance
