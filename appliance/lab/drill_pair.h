// What a drill acts on: a pair of load-balancer nodes in network namespaces. Two kinds:
//   - a Tandem lab (`--lab NAME`): everything through the supervisors' control sockets;
//   - any pair described by a JSON file (`--pair FILE`), e.g. keepalived + HAProxy for the
//     side-by-side benchmark: each action is a shell command.
//       { "name": "...", "client_netns": "...", "vip": "198.18.0.100", "prefix": 24,
//         "port": 80, "advert_ms": 100,
//         "nodes": [ { "name": "n1", "netns": "...", "address": "198.18.0.11",
//                      "priority": 150,
//                      "serving": "CMD",            exit 0 while the node's proxy serves
//                      "proxy_pids": "CMD",         prints the proxy's PIDs
//                      "agent_pids": "CMD",         prints the VRRP agent's PIDs
//                      "node_pids": "CMD",          prints every PID of the node
//                      "start": "CMD", "stop": "CMD", "reload": "CMD" }, ... ] }
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tandem::appliance {

struct PairNode {
  std::string name;
  std::string netns;
  std::string address;
  int priority = 100;
};

class DrillPair {
 public:
  virtual ~DrillPair() = default;

  std::string label;  // "lab 'tandem'", "pair 'keepalived+haproxy'"
  std::string clientNetns;
  std::string vip;
  int prefix = 24;
  uint16_t port = 80;
  int advertMs = 100;
  std::vector<PairNode> nodes;

  // RFC 5798 6.1 Master_Down_Interval of the backup (the lowest priority).
  int64_t masterDownIntervalUs() const;
  // Which nodes hold the VIP right now (asked of each node's kernel).
  std::vector<size_t> vipHolders() const;

  virtual bool serving(size_t i) = 0;
  virtual std::vector<pid_t> proxyPids(size_t i) = 0;
  virtual std::vector<pid_t> agentPids(size_t i) = 0;
  virtual std::vector<pid_t> nodePids(size_t i) = 0;  // the agent's first
  virtual bool startNode(size_t i, std::string* error) = 0;
  virtual bool stopNode(size_t i, std::string* error) = 0;  // graceful; returns once gone
  virtual bool reload(size_t i, std::string* error) = 0;
};

std::unique_ptr<DrillPair> labPair(const std::string& labName, std::string* error);
std::unique_ptr<DrillPair> commandPair(const std::string& jsonFile, std::string* error);

}  // namespace tandem::appliance
