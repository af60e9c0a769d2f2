#include "appliance/lab/lab.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <thread>

#include "appliance/lab/netns.h"
#include "appliance/pair/pair_key.h"
#include "appliance/supervisor/child.h"
#include "appliance/supervisor/control_command.h"
#include "appliance/supervisor/control_server.h"

namespace tandem::appliance {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

pid_t readPid(const std::string& file) {
  std::ifstream in(file);
  pid_t pid = -1;
  if (!(in >> pid)) return -1;
  return processAlive(pid) ? pid : -1;
}

void writePid(const std::string& file, pid_t pid) {
  std::ofstream(file) << pid << "\n";
}

bool ip(const std::vector<std::string>& args, std::string* error) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  if (runCommand(argv, &out) == 0) return true;
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  *error = cmd + ": " + (out.empty() ? "failed" : out.substr(0, out.find('\n')));
  return false;
}

}  // namespace

std::optional<json> labNodeStatus(const LabNode& n) {
  std::string error;
  auto reply = controlRequest(n.socket, "status", 2000, &error);
  if (!reply) return std::nullopt;
  try {
    return json::parse(*reply);
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

namespace {
auto nodeStatus = labNodeStatus;
}  // namespace

bool Lab::validName(const std::string& name, std::string* error) {
  bool ok = !name.empty() && name.size() <= 8 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c));
  });
  if (!ok) *error = "a lab name is 1 to 8 lowercase letters or digits, got '" + name + "'";
  return ok;
}

Lab Lab::describe(const std::string& name) {
  Lab lab;
  lab.name = name;
  lab.dir = "/run/tandem-lab/" + name;
  lab.switchNetns = name + "-sw";
  lab.clientNetns = name + "-client";
  lab.exe = Child::selfExecutable();
  for (int i = 1; i <= 2; ++i) {
    LabNode n;
    n.name = "n" + std::to_string(i);
    n.netns = name + "-" + n.name;
    n.address = "198.18.0." + std::to_string(10 + i);
    n.priority = i == 1 ? 150 : 100;
    n.config = lab.dir + "/" + n.name + ".yaml";
    n.socket = lab.dir + "/" + n.name + ".sock";
    n.log = lab.dir + "/" + n.name + ".log";
    n.pidFile = lab.dir + "/" + n.name + ".pid";
    lab.nodes.push_back(n);
  }
  for (int i = 1; i <= 3; ++i)
    lab.backends.push_back({"b" + std::to_string(i), name + "-b" + std::to_string(i),
                            "198.18.0." + std::to_string(20 + i)});
  return lab;
}

bool Lab::isUp() const {
  return netnsExists(switchNetns) || std::filesystem::exists(dir);
}

std::chrono::microseconds Lab::masterDownInterval() const {
  int lowest = 255;
  for (const auto& n : nodes) lowest = std::min(lowest, n.priority);
  int64_t advUs = int64_t(advertMs) * 1000;
  return std::chrono::microseconds(3 * advUs + (256 - lowest) * advUs / 256);
}

// One file for both nodes (`nodes:`), as a real pair runs it: each node gets a copy, as if on
// its own machine, and runs it with --node. The two supervisors talk over the pair channel.
std::string Lab::nodeConfig(size_t) const {
  std::ostringstream y;
  y << "# The pair of lab '" << name << "' (written by `tandem lab up`), one file for both "
    << "nodes.\n"
    << "global:\n"
    << "  threads: 1\n"
    << "  hard_stop_after: 5s\n"
    << "  log: { target: stderr, level: info }\n"
    << "supervisor:\n"
    << "  probe: { interval: 100ms, timeout: 100ms, fall: 2, rise: 2 }\n"
    << "  restart_delay: { initial: 100ms, max: 5s }\n"
    << "defaults:\n"
    << "  timeout: { connect: 1s, client: 10s, server: 10s, keep_alive: 2s, check: 1s }\n"
    << "frontends:\n"
    << "  www:\n"
    << "    bind: \"*:" << port << "\"\n"
    << "    default_backend: pool\n"
    << "backends:\n"
    << "  pool:\n"
    << "    balance: roundrobin\n"
    << "    check: { type: http, uri: /health, inter: 500ms, fall: 2, rise: 2 }\n"
    << "    servers:\n";
  for (const auto& b : backends)
    y << "      - { name: " << b.name << ", address: \"" << b.address << ":80\" }\n";
  y << "vrrp:\n"
    << "  instances:\n"
    << "    VI_1:\n"
    << "      interface: eth0\n"
    << "      virtual_router_id: " << vrid << "\n"
    << "      version: 3\n"
    << "      advert_int: " << advertMs << "ms\n"
    << "      preempt: true\n"
    << "      virtual_ipaddress: [" << vip << "/" << prefix << "]\n"
    << "      track_proxy: { weight: 0 }\n"
    << "      garp: { master_delay: 1s, master_repeat: 3, master_refresh: 10s }\n"
    << "pair: { key_file: " << keyFile() << ", heartbeat: 200ms, dead_after: 1s }\n"
    << "nodes:\n";
  for (size_t i = 0; i < nodes.size(); ++i) {
    const LabNode& n = nodes[i];
    const LabNode& peer = nodes[1 - i];
    y << "  " << n.name << ":\n"
      << "    supervisor: { control_socket: " << n.socket << " }\n"
      << "    vrrp:\n"
      << "      state_dir: " << dir << "/" << n.name << "\n"
      << "      control_socket: " << dir << "/" << n.name << "-vrrp.sock\n"
      << "      instances: { VI_1: { priority: " << n.priority << " } }\n"
      << "    pair: { address: \"" << n.address << ":" << kPairPort << "\", peer: \""
      << peer.address << ":" << kPairPort << "\" }\n";
  }
  return y.str();
}

std::string Lab::keyFile() const {
  return dir + "/pair.key";
}

bool Lab::startNode(size_t i, std::string* error) const {
  const LabNode& n = nodes[i];
  if (readPid(n.pidFile) > 0) return true;
  std::filesystem::create_directories(dir + "/" + n.name);
  if (!std::filesystem::exists(keyFile())) {
    auto key = pair::generatePairKey();
    if (!key || !pair::writePairKeyFile(keyFile(), *key, error)) {
      if (!key) *error = "no random bytes for the pair key";
      return false;
    }
  }
  std::ofstream(n.config) << nodeConfig(i);
  pid_t pid = spawnDetached(n.netns, {exe, "run", "-c", n.config, "--node", n.name}, n.log);
  if (pid < 0) {
    *error = "cannot start node " + n.name;
    return false;
  }
  writePid(n.pidFile, pid);
  return true;
}

pid_t Lab::nodePid(size_t i) const {
  return readPid(nodes[i].pidFile);
}

std::vector<size_t> labVipHolders(const Lab& lab) {
  std::vector<size_t> out;
  for (size_t i = 0; i < lab.nodes.size(); ++i) {
    std::string text;
    runCommand({"ip", "-n", lab.nodes[i].netns, "-4", "-o", "addr", "show", "dev", "eth0"}, &text);
    if (text.find(" " + lab.vip + "/") != std::string::npos) out.push_back(i);
  }
  return out;
}

namespace {

bool buildTopology(const Lab& lab, std::string* error) {
  if (!ip({"netns", "add", lab.switchNetns}, error) ||
      !ip({"-n", lab.switchNetns, "link", "add", "br0", "type", "bridge"}, error) ||
      !ip({"-n", lab.switchNetns, "link", "set", "br0", "up"}, error))
    return false;
  std::vector<std::pair<std::string, std::string>> hosts;  // netns, address
  for (const auto& n : lab.nodes) hosts.push_back({n.netns, n.address});
  for (const auto& b : lab.backends) hosts.push_back({b.netns, b.address});
  hosts.push_back({lab.clientNetns, lab.clientAddress});
  for (const auto& [ns, addr] : hosts) {
    // The switch-side end is named after the host (unique per lab: NAME-n1 -> vNAME-n1).
    std::string outer = ("v" + ns).substr(0, 15);
    if (!ip({"netns", "add", ns}, error) ||
        !ip({"link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns}, error) ||
        !ip({"link", "set", outer, "netns", lab.switchNetns}, error) ||
        !ip({"-n", lab.switchNetns, "link", "set", outer, "master", "br0"}, error) ||
        !ip({"-n", lab.switchNetns, "link", "set", outer, "up"}, error) ||
        !ip({"-n", ns, "link", "set", "lo", "up"}, error) ||
        !ip({"-n", ns, "addr", "add", addr + "/" + std::to_string(lab.prefix), "dev", "eth0"},
            error) ||
        !ip({"-n", ns, "link", "set", "eth0", "up"}, error))
      return false;
  }
  return true;
}

void teardown(const Lab& lab, std::ostream& out) {
  for (size_t i = 0; i < lab.nodes.size(); ++i) {
    pid_t pid = lab.nodePid(i);
    if (pid > 0) {
      out << "stopping node " << lab.nodes[i].name << " (pid " << pid << ")\n";
      stopProcess(pid, SIGTERM, 10000);
    }
  }
  for (const auto& b : lab.backends)
    stopProcess(readPid(lab.dir + "/" + b.name + ".pid"), SIGTERM, 2000);
  // Anything else still running inside the lab's namespaces was started by the lab.
  std::vector<std::string> all = {lab.switchNetns, lab.clientNetns};
  for (const auto& n : lab.nodes) all.push_back(n.netns);
  for (const auto& b : lab.backends) all.push_back(b.netns);
  for (const auto& ns : all) {
    if (!netnsExists(ns)) continue;
    std::string pids;
    runCommand({"ip", "netns", "pids", ns}, &pids);
    std::istringstream in(pids);
    pid_t pid;
    while (in >> pid) stopProcess(pid, SIGKILL, 1000);
    runCommand({"ip", "netns", "del", ns});
  }
  std::error_code ec;
  std::filesystem::remove_all(lab.dir, ec);
}

}  // namespace

int runLabUp(const LabOptions& o, std::ostream& out, std::ostream& err) {
  std::string error;
  if (!Lab::validName(o.name, &error)) {
    err << "tandem lab up: " << error << "\n";
    return 2;
  }
  Lab lab = Lab::describe(o.name);
  if (lab.isUp()) {
    err << "tandem lab up: lab '" << lab.name << "' is already up (tandem lab status --name "
        << lab.name << "; tandem lab down --name " << lab.name << ")\n";
    return 1;
  }
  if (::geteuid() != 0) {
    err << "tandem lab up: needs root (network namespaces)\n";
    return 1;
  }
  std::filesystem::create_directories(lab.dir);
  auto fail = [&](const std::string& why) {
    err << "tandem lab up: " << why << "\n";
    teardown(lab, out);
    return 1;
  };
  out << "building lab '" << lab.name << "': switch, 2 nodes, 3 backends, 1 client\n";
  if (!buildTopology(lab, &error)) return fail(error);
  for (const auto& b : lab.backends) {
    pid_t pid = spawnDetached(b.netns,
                              {lab.exe, "lab", "serve", "--name", b.name, "--port", "80",
                               "--down-file", lab.dir + "/" + b.name + ".down"},
                              lab.dir + "/" + b.name + ".log");
    if (pid < 0) return fail("cannot start backend " + b.name);
    writePid(lab.dir + "/" + b.name + ".pid", pid);
  }
  for (size_t i = 0; i < lab.nodes.size(); ++i)
    if (!lab.startNode(i, &error)) return fail(error);
  // Ready when both proxies serve and exactly one node holds the VIP.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  bool ready = false;
  while (!ready && std::chrono::steady_clock::now() < deadline) {
    ready = true;
    for (size_t i = 0; i < lab.nodes.size(); ++i) {
      auto s = nodeStatus(lab.nodes[i]);
      if (!s || !(*s)["proxy"].value("live", false)) ready = false;
      if (lab.nodePid(i) < 0)
        return fail("node " + lab.nodes[i].name + " exited; see " + lab.nodes[i].log);
    }
    if (ready && labVipHolders(lab).size() != 1) ready = false;
    if (!ready) std::this_thread::sleep_for(100ms);
  }
  if (!ready) return fail("the pair did not settle within 20 s; see the logs in " + lab.dir);
  auto holders = labVipHolders(lab);
  const std::string c = "ip netns exec " + lab.clientNetns + " ";
  out << "lab '" << lab.name << "' is up: VIP " << lab.vip << " on " << lab.nodes[holders[0]].name
      << " (master), " << lab.nodes[1 - holders[0]].name << " is backup\n\n"
      << "  nodes     n1 " << lab.nodes[0].address << " (priority 150), n2 " << lab.nodes[1].address
      << " (priority 100), VRRPv3 every " << lab.advertMs << " ms\n"
      << "  backends  b1-b3 198.18.0.21-23:80 (GET / answers \"BACKEND NODE\")\n"
      << "  client    " << lab.clientAddress << " in namespace " << lab.clientNetns << "\n"
      << "  files     " << lab.dir << " (configs, logs, control sockets)\n\n"
      << "try:\n"
      << "  " << c << "curl -s http://" << lab.vip << "/\n"
      << "  tandem status -s " << lab.nodes[0].socket << "\n"
      << "  tandem lab status" << (lab.name == "tandem" ? "" : " --name " + lab.name) << "\n"
      << "  tandem drill kill-proxy" << (lab.name == "tandem" ? "" : " --lab " + lab.name)
      << "      (also kill-agent, kill-node, link-down, reload, preempt)\n"
      << "  tandem lab down" << (lab.name == "tandem" ? "" : " --name " + lab.name) << "\n";
  return 0;
}

int runLabDown(const LabOptions& o, std::ostream& out, std::ostream& err) {
  std::string error;
  if (!Lab::validName(o.name, &error)) {
    err << "tandem lab down: " << error << "\n";
    return 2;
  }
  Lab lab = Lab::describe(o.name);
  if (!lab.isUp()) {
    out << "lab '" << lab.name << "' is not up\n";
    return 0;
  }
  teardown(lab, out);
  out << "lab '" << lab.name << "' is down: processes stopped, namespaces and " << lab.dir
      << " removed\n";
  return 0;
}

int runLabStatus(const LabOptions& o, std::ostream& out, std::ostream& err) {
  std::string error;
  if (!Lab::validName(o.name, &error)) {
    err << "tandem lab status: " << error << "\n";
    return 2;
  }
  Lab lab = Lab::describe(o.name);
  if (!lab.isUp()) {
    err << "lab '" << lab.name << "' is not up (tandem lab up"
        << (o.name == "tandem" ? "" : " --name " + o.name) << ")\n";
    return 1;
  }
  auto holders = labVipHolders(lab);
  json j{{"lab", lab.name}, {"vip", lab.vip}, {"dir", lab.dir}};
  json holderNames = json::array();
  for (size_t h : holders) holderNames.push_back(lab.nodes[h].name);
  j["vip_held_by"] = holderNames;
  json nodes = json::array();
  for (size_t i = 0; i < lab.nodes.size(); ++i) {
    json n{{"name", lab.nodes[i].name},
           {"address", lab.nodes[i].address},
           {"pid", lab.nodePid(i)},
           {"socket", lab.nodes[i].socket}};
    if (auto s = nodeStatus(lab.nodes[i])) n["status"] = *s;
    nodes.push_back(n);
  }
  j["nodes"] = nodes;
  json backends = json::array();
  for (const auto& b : lab.backends)
    backends.push_back({{"name", b.name},
                        {"address", b.address},
                        {"running", readPid(lab.dir + "/" + b.name + ".pid") > 0}});
  j["backends"] = backends;
  if (o.json) {
    out << j.dump(2) << "\n";
    return 0;
  }
  out << "lab '" << lab.name << "': VIP " << lab.vip << " held by "
      << (holders.empty() ? std::string("NOBODY") : holderNames.dump()) << "\n";
  for (size_t i = 0; i < lab.nodes.size(); ++i) {
    out << "\n== node " << lab.nodes[i].name << " (" << lab.nodes[i].address << ") ==\n";
    if (lab.nodePid(i) < 0) {
      out << "not running\n";
      continue;
    }
    ControlOptions co;
    co.socket = lab.nodes[i].socket;
    runStatus(co, out, err);
  }
  out << "\nbackends:";
  for (const auto& b : backends)
    out << " " << b["name"].get<std::string>() << (b["running"].get<bool>() ? "" : "(stopped)");
  out << "\n";
  return 0;
}

}  // namespace tandem::appliance
