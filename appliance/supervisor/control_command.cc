#include "appliance/supervisor/control_command.h"

#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "appliance/config/config.h"
#include "appliance/config/config_loader.h"
#include "appliance/supervisor/control_server.h"

namespace tandem::appliance {
namespace {

using json = nlohmann::json;

std::string socketPath(const ControlOptions& o, std::ostream& err) {
  if (!o.socket.empty()) return o.socket;
  if (!o.configPath.empty()) {
    LoadResult r = loadConfigFile(o.configPath, nullptr, NodeChoice{o.node});
    if (r.config) return r.config->supervisor.controlSocket;
    err << "warning: " << o.configPath << " does not load; using the default control socket\n";
  }
  return SupervisorConfig().controlSocket;
}

std::optional<json> ask(const ControlOptions& o, const std::string& request, int timeoutMs,
                        std::ostream& err) {
  std::string error;
  auto reply = controlRequest(socketPath(o, err), request, timeoutMs, &error);
  if (!reply) {
    err << "tandem " << request << ": " << error << "\n";
    return std::nullopt;
  }
  try {
    return json::parse(*reply);
  } catch (const json::exception& e) {
    err << "tandem " << request << ": unreadable reply: " << e.what() << "\n";
    return std::nullopt;
  }
}

std::string seconds(double s) {
  std::ostringstream o;
  if (s < 120)
    o << static_cast<long>(s) << "s";
  else if (s < 7200)
    o << static_cast<long>(s / 60) << "m";
  else
    o << std::fixed << std::setprecision(1) << s / 3600 << "h";
  return o.str();
}

}  // namespace

int runStatus(const ControlOptions& o, std::ostream& out, std::ostream& err) {
  auto j = ask(o, "status", 5000, err);
  if (!j) return 1;
  if (o.json) {
    out << j->dump(2) << "\n";
    return 0;
  }
  out << "node: " << j->value("state", "?") << ", configuration generation "
      << j->value("generation", 0) << " (" << j->value("config", "");
  if (j->contains("node")) out << ", as node " << j->value("node", "");
  out << ")\n";
  const json& p = (*j)["proxy"];
  if (j->contains("last_reload")) {
    const json& r = (*j)["last_reload"];
    out << "last reload: " << r.value("time", "") << ", "
        << (r.value("ok", false) ? "ok" : "FAILED: " + r.value("error", "")) << "\n";
  }
  if (j->contains("pair")) {
    const json& pr = (*j)["pair"];
    out << "pair: peer " << pr.value("peer_address", "") << " ";
    if (pr.value("peer_up", false) && pr.contains("peer")) {
      const json& peer = pr["peer"];
      out << "UP: node '" << peer.value("node", "") << "', version " << peer.value("version", "")
          << ", generation " << peer.value("generation", 0) << ", config "
          << peer.value("config_hash", "")
          << (pr.value("config_drift", false)
                  ? " (CONFIGURATION DRIFT: this node runs " + j->value("config_hash", "") + ")"
              : peer.value("config_hash", "") == j->value("config_hash", "")
                  ? " (same as here)"
                  : " (a file of its own)");
      for (const auto& r : peer["roles"])
        out << ", " << r.value("instance", "") << " " << r.value("state", "");
      out << ", heard " << peer.value("heard_ms_ago", 0) << " ms ago";
    } else {
      out << "DOWN";
    }
    out << " (key " << pr.value("key", "") << ")\n";
    if (pr.value("version_mismatch", false))
      out << "  VERSION MISMATCH: the peer runs " << pr["peer"].value("version", "")
          << ", this node another\n";
    if (pr.contains("last_error"))
      out << "  last pair error: " << pr.value("last_error", "") << "\n";
  }
  out << "proxy: " << (p.value("live", false) ? "serving" : "NOT serving");
  if (p.contains("probe"))
    out << " (probe " << p.value("probe", "") << ": "
        << (p.value("probe_up", false) ? "ok" : "failing") << ")";
  out << "\n";
  for (const auto& i : (*j)["vrrp"]) {
    out << "vrrp " << i.value("instance", "") << " on " << i.value("interface", "") << " (vrid "
        << i.value("vrid", 0) << "): " << i.value("state", "?") << ", holds";
    if (i["vips_held"].empty()) out << " no VIP";
    for (const auto& v : i["vips_held"]) out << " " << v.get<std::string>();
    if (i.contains("effective_priority")) {
      out << ", priority " << i.value("effective_priority", 0);
      if (i.value("effective_priority", 0) != i.value("priority", 0))
        out << " (configured " << i.value("priority", 0) << ")";
    }
    if (i.contains("peer"))
      out << "; peer " << i["peer"].value("address", "") << " at priority "
          << i["peer"].value("priority", 0) << ", last heard " << i["peer"].value("heard", "");
    out << "\n";
  }
  out << "children:\n";
  for (const auto& c : (*j)["children"]) {
    out << "  " << std::left << std::setw(6) << c.value("name", "") << " ";
    if (c.value("state", "") == "running")
      out << "pid " << c.value("pid", 0) << ", up " << seconds(c.value("uptime_s", 0.0));
    else
      out << "STOPPED";
    out << ", restarts " << c.value("restarts", 0);
    if (c.contains("last_exit")) out << ", last exit: " << c.value("last_exit", "");
    if (c.value("crash_loop", false))
      out << ", CRASH LOOP (" << c.value("recent_crashes", 0) << " crashes in the last minute)";
    out << "\n";
  }
  if (!(*j)["draining_workers"].empty())
    out << "  old workers draining: " << (*j)["draining_workers"].dump() << "\n";
  out << "backends:\n";
  for (const auto& b : (*j)["backends"]) {
    out << "  " << std::left << std::setw(16) << b.value("name", "") << " " << b.value("up", 0)
        << " up, " << b.value("down", 0) << " down";
    if (b.value("maint_or_drain", 0)) out << ", " << b.value("maint_or_drain", 0) << " maint/drain";
    std::string downList;
    for (const auto& s : b["servers"])
      if (s.value("state", "") != "UP")
        downList += " " + s.value("name", "") + "(" + s.value("state", "") + ")";
    if (!downList.empty()) out << ":" << downList;
    out << "\n";
  }
  if (j->contains("transitions") && !(*j)["transitions"].empty()) {
    out << "last changes (UTC):\n";
    for (const auto& t : (*j)["transitions"]) {
      out << "  " << t.value("time", "") << "  " << t.value("what", "") << ": "
          << t.value("from", "") << " -> " << t.value("to", "");
      if (t.contains("priority")) out << " (priority " << t.value("priority", 0) << ")";
      if (!t.value("reason", "").empty()) out << ", " << t.value("reason", "");
      out << "\n";
    }
  }
  return 0;
}

int runReload(const ControlOptions& o, std::ostream& out, std::ostream& err) {
  auto j = ask(o, "reload", 120000, err);
  if (!j) return 1;
  if (o.json) {
    out << j->dump(2) << "\n";
    return j->value("ok", false) ? 0 : 1;
  }
  if (j->value("ok", false)) {
    out << j->value("message", "reloaded") << "\n";
    return 0;
  }
  err << "reload failed: " << j->value("error", "unknown error") << "\n";
  if (j->contains("errors"))
    for (const auto& e : (*j)["errors"]) err << e.get<std::string>() << "\n";
  err << "the running configuration (generation " << j->value("generation", 0)
      << ") is unchanged\n";
  return 1;
}

}  // namespace tandem::appliance
