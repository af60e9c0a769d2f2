// `tandem lab up|down|status`: a two-node Tandem pair in network namespaces on this machine,
// with three demo backends and a client, on a built-in default configuration. Addresses are
// from 198.18.0.0/15 (the benchmarking range) and exist only inside the lab's namespaces.
//
//   NAME-sw      the switch: a bridge every host is plugged into (veth)
//   NAME-n1/n2   Tandem nodes 198.18.0.11 / .12 (`tandem run`), VIP 198.18.0.100, VRRPv3 at
//                100 ms adverts, n1 priority 150 (initial master), n2 100
//   NAME-b1..b3  demo backends 198.18.0.21-23 (`tandem lab serve`)
//   NAME-client  the client 198.18.0.50
//
// Files (configs, logs, PID files, control sockets) live in /run/tandem-lab/NAME.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tandem::appliance {

struct LabNode {
  std::string name;  // n1, n2
  std::string netns;
  std::string address;  // on eth0
  int priority = 100;
  std::string config;  // file paths in the lab folder
  std::string socket;  // supervisor control socket
  std::string log;
  std::string pidFile;
};

struct LabBackend {
  std::string name;
  std::string netns;
  std::string address;
};

struct Lab {
  std::string name;
  std::string dir;
  std::string switchNetns;
  std::string clientNetns;
  std::string clientAddress = "198.18.0.50";
  std::string vip = "198.18.0.100";
  int prefix = 24;
  uint16_t port = 80;
  int advertMs = 100;
  int vrid = 51;
  std::vector<LabNode> nodes;
  std::vector<LabBackend> backends;
  std::string exe;  // this tandem binary

  // The lab called `name` (its layout follows from the name alone).
  static Lab describe(const std::string& name);
  static bool validName(const std::string& name, std::string* error);
  bool isUp() const;

  // The pair's one file (`nodes:` n1, n2, with the pair channel); node i gets a copy.
  std::string nodeConfig(size_t i) const;
  std::string keyFile() const;  // the pair key, made at the first start
  static constexpr int kPairPort = 7400;
  // Starts node i's supervisor in its namespace (detached); false + *error.
  bool startNode(size_t i, std::string* error) const;
  pid_t nodePid(size_t i) const;  // -1 when not running
  // Master_Down_Interval of the backup (lowest priority), RFC 5798 6.1.
  std::chrono::microseconds masterDownInterval() const;
};

struct LabOptions {
  std::string name = "tandem";
  bool json = false;
};

int runLabUp(const LabOptions& o, std::ostream& out, std::ostream& err);
int runLabDown(const LabOptions& o, std::ostream& out, std::ostream& err);
int runLabStatus(const LabOptions& o, std::ostream& out, std::ostream& err);

// Which node of the lab holds the VIP right now (indexes), by asking the kernel in each node's
// namespace.
std::vector<size_t> labVipHolders(const Lab& lab);

// A lab node's `tandem status` (JSON), or nullopt when its supervisor does not answer.
std::optional<nlohmann::json> labNodeStatus(const LabNode& node);

}  // namespace tandem::appliance
