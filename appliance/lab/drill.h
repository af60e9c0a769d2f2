// `tandem drill SCENARIO`: a failover drill against a running lab pair, under a bounded client
// load through the VIP (a new connection every 10 ms from the lab's client namespace, each
// with a 1 s budget), with the VIP watched in both nodes' namespaces every 2 ms. Reports the
// time from the fault to the VIP answering from the other node, failed/total requests,
// requests served per node, how long both nodes held the VIP, and whether the pair returned to
// its initial state; exits 1 when a target is missed.
//
//   kill-proxy  SIGKILL the master's proxy worker        target: VIP moved <= 150 ms
//   kill-agent  SIGKILL the master's VRRP agent          target: <= Master_Down_Interval + 50 ms
//   kill-node   the master vanishes (all its processes   target: <= Master_Down_Interval + 50 ms
//               SIGKILLed, its link down), then returns
//   link-down   the master's interface goes down, then up  target: both held <= 1 advert
//   reload      three reloads of the master under load   target: 0 failed requests
//   preempt     the master stops, then returns and takes  target: both held <= 1 advert
//               the VIP back
//   config-drift  one node's copy of the pair's file     target: both nodes report it <= 5 s
//               edited and reloaded alone (no load)
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tandem::appliance {

// A drill's targets, each met or missed, and how every drill ends its report with them.
class DrillTargets {
 public:
  void add(const std::string& what, bool met);
  bool pass() const { return pass_; }
  // Puts the targets and the verdict into the JSON report.
  void attach(nlohmann::json& report) const;
  // The text report's end: notes, each target, the result line. Returns the exit code.
  int finishText(std::ostream& out, const std::vector<std::string>& notes) const;
  // The JSON report, whole. Returns the exit code.
  int finishJson(std::ostream& out, nlohmann::json& report) const;

 private:
  nlohmann::json targets_ = nlohmann::json::array();
  bool pass_ = true;
};

struct DrillOptions {
  std::string scenario;
  std::string lab = "tandem";
  std::string pairFile;  // instead of a lab: a pair described in JSON (see drill_pair.h)
  bool json = false;
  int requestTimeoutMs = 1000;
  int intervalMs = 10;
  int returnTimeoutMs = 20000;  // how long to wait for the pair to return to its initial state
};

const std::vector<std::string>& drillScenarios();
int runDrill(const DrillOptions& options, std::ostream& out, std::ostream& err);
// `tandem drill config-drift` (drill_config_drift.cc): one node's copy of the pair's file is
// edited and reloaded behind the other's back; both nodes must report the drift, and stop
// reporting it once the copies match again.
int runConfigDriftDrill(const DrillOptions& options, std::ostream& out, std::ostream& err);

}  // namespace tandem::appliance
