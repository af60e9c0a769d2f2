#include "appliance/lab/drill_pair.h"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "appliance/lab/lab.h"
#include "appliance/lab/netns.h"
#include "appliance/supervisor/control_server.h"

namespace tandem::appliance {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::optional<json> statusOf(const std::string& socket) {
  std::string error;
  auto reply = controlRequest(socket, "status", 2000, &error);
  if (!reply) return std::nullopt;
  try {
    return json::parse(*reply);
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

class LabPair : public DrillPair {
 public:
  explicit LabPair(Lab lab) : lab_(std::move(lab)) {
    label = "lab '" + lab_.name + "'";
    clientNetns = lab_.clientNetns;
    vip = lab_.vip;
    prefix = lab_.prefix;
    port = lab_.port;
    advertMs = lab_.advertMs;
    for (const auto& n : lab_.nodes) nodes.push_back({n.name, n.netns, n.address, n.priority});
  }

  bool serving(size_t i) override {
    auto s = statusOf(lab_.nodes[i].socket);
    return s && (*s)["proxy"].value("live", false);
  }
  std::vector<pid_t> proxyPids(size_t i) override { return child(i, "proxy"); }
  std::vector<pid_t> agentPids(size_t i) override { return child(i, "vrrp"); }
  std::vector<pid_t> nodePids(size_t i) override {
    auto pids = child(i, "vrrp");
    for (pid_t p : child(i, "proxy")) pids.push_back(p);
    if (pid_t sup = lab_.nodePid(i); sup > 0) pids.push_back(sup);
    return pids;
  }
  bool startNode(size_t i, std::string* error) override { return lab_.startNode(i, error); }
  bool stopNode(size_t i, std::string* error) override {
    pid_t sup = lab_.nodePid(i);
    if (sup > 0 && !stopProcess(sup, SIGTERM, 15000)) {
      *error = "node " + lab_.nodes[i].name + " did not stop";
      return false;
    }
    return true;
  }
  bool reload(size_t i, std::string* error) override {
    auto reply = controlRequest(lab_.nodes[i].socket, "reload", 60000, error);
    if (!reply) return false;
    try {
      json j = json::parse(*reply);
      if (j.value("ok", false)) return true;
      *error = j.value("error", *reply);
    } catch (const json::exception&) {
      *error = *reply;
    }
    return false;
  }

 private:
  std::vector<pid_t> child(size_t i, const std::string& name) {
    auto s = statusOf(lab_.nodes[i].socket);
    if (!s) return {};
    for (const auto& c : (*s)["children"])
      if (c.value("name", "") == name && c.value("state", "") == "running")
        return {c.value("pid", pid_t(-1))};
    return {};
  }

  Lab lab_;
};

class CommandPair : public DrillPair {
 public:
  struct Commands {
    std::string serving, proxyPids, agentPids, nodePids, start, stop, reload;
  };

  bool serving(size_t i) override { return sh(cmds_[i].serving) == 0; }
  std::vector<pid_t> proxyPids(size_t i) override { return pids(cmds_[i].proxyPids); }
  std::vector<pid_t> agentPids(size_t i) override { return pids(cmds_[i].agentPids); }
  std::vector<pid_t> nodePids(size_t i) override { return pids(cmds_[i].nodePids); }
  bool startNode(size_t i, std::string* error) override { return run(cmds_[i].start, error); }
  bool stopNode(size_t i, std::string* error) override { return run(cmds_[i].stop, error); }
  bool reload(size_t i, std::string* error) override { return run(cmds_[i].reload, error); }

  std::vector<Commands> cmds_;

 private:
  static int sh(const std::string& cmd, std::string* out = nullptr) {
    return runCommand({"/bin/sh", "-c", cmd}, out);
  }
  static bool run(const std::string& cmd, std::string* error) {
    std::string out;
    if (sh(cmd, &out) == 0) return true;
    *error = "'" + cmd + "' failed: " + out.substr(0, 200);
    return false;
  }
  static std::vector<pid_t> pids(const std::string& cmd) {
    std::string out;
    sh(cmd, &out);
    std::istringstream in(out);
    std::vector<pid_t> v;
    pid_t p;
    while (in >> p)
      if (p > 1) v.push_back(p);
    return v;
  }
};

}  // namespace

int64_t DrillPair::masterDownIntervalUs() const {
  int lowest = 255;
  for (const auto& n : nodes) lowest = std::min(lowest, n.priority);
  int64_t advUs = int64_t(advertMs) * 1000;
  return 3 * advUs + (256 - lowest) * advUs / 256;
}

std::vector<size_t> DrillPair::vipHolders() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::string text;
    runCommand({"ip", "-n", nodes[i].netns, "-4", "-o", "addr", "show", "dev", "eth0"}, &text);
    if (text.find(" " + vip + "/") != std::string::npos) out.push_back(i);
  }
  return out;
}

std::unique_ptr<DrillPair> labPair(const std::string& labName, std::string* error) {
  if (!Lab::validName(labName, error)) return nullptr;
  Lab lab = Lab::describe(labName);
  if (!lab.isUp()) {
    *error = "lab '" + lab.name + "' is not up (tandem lab up" +
             (lab.name == "tandem" ? "" : " --name " + lab.name) + ")";
    return nullptr;
  }
  return std::make_unique<LabPair>(std::move(lab));
}

std::unique_ptr<DrillPair> commandPair(const std::string& file, std::string* error) {
  std::ifstream in(file);
  if (!in) {
    *error = "cannot read " + file;
    return nullptr;
  }
  try {
    json j = json::parse(in);
    auto p = std::make_unique<CommandPair>();
    p->label = "pair '" + j.at("name").get<std::string>() + "'";
    p->clientNetns = j.at("client_netns");
    p->vip = j.at("vip");
    p->prefix = j.value("prefix", 24);
    p->port = j.value("port", uint16_t(80));
    p->advertMs = j.value("advert_ms", 1000);
    for (const auto& n : j.at("nodes")) {
      p->nodes.push_back({n.at("name"), n.at("netns"), n.at("address"), n.value("priority", 100)});
      p->cmds_.push_back({n.at("serving"), n.at("proxy_pids"), n.at("agent_pids"),
                          n.at("node_pids"), n.at("start"), n.at("stop"), n.at("reload")});
    }
    if (p->nodes.size() != 2) {
      *error = file + ": a pair has exactly two nodes";
      return nullptr;
    }
    return p;
  } catch (const json::exception& e) {
    *error = file + ": " + e.what();
    return nullptr;
  }
}

}  // namespace tandem::appliance
