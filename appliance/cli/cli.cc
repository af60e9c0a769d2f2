#include "appliance/cli/cli.h"

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <iostream>

#include "appliance/cli/check_command.h"
#include "appliance/config/config_loader.h"
#include "appliance/config/config_snapshot.h"
#include "appliance/lab/demo_backend.h"
#include "appliance/lab/drill.h"
#include "appliance/lab/lab.h"
#include "appliance/pair/pair_key.h"
#include "appliance/supervisor/control_command.h"
#include "appliance/supervisor/privileges.h"
#include "appliance/supervisor/supervisor.h"
#include "common/logging.h"
#include "proxy/proxy.h"
#include "vrrp/agent.h"

#ifndef TANDEM_VERSION
#define TANDEM_VERSION "0.0.0"
#endif

namespace tandem::appliance {

namespace {

// The file, or (a child of `tandem run`) the snapshot its supervisor validated, named as the
// file so messages and relative paths read the same.
LoadResult loadForCommand(const std::string& path, int snapshotFd, const NodeChoice& node) {
  if (snapshotFd < 0) return loadConfigFile(path, nullptr, node);
  std::string error;
  std::optional<std::string> text = readConfigSnapshot(snapshotFd, &error);
  if (!text) {
    LoadResult r;
    r.diagnostics.error({path, 0, 0}, "", error);
    return r;
  }
  return loadConfigText(*text, path, nullptr, node);
}

// Loads and validates like `tandem check`; an invalid file never starts a worker.
int runProxyCommand(const std::string& path, const NodeChoice& node, int masterFd, int snapshotFd) {
  LoadResult r = loadForCommand(path, UniqueFd(snapshotFd).get(), node);  // closed once read
  for (const auto& d : r.diagnostics.sorted()) std::cerr << d.format() << "\n";
  if (!r.config) return kExitInvalid;
  logging::setup(r.config->log);
  std::unique_ptr<proxy::MasterChannel> master;
  if (masterFd >= 0) master = std::make_unique<proxy::MasterChannel>(UniqueFd(masterFd));
  RunAs runAs = r.config->runAs;
  return proxy::runProxy(r.config->proxy, std::move(master), [&runAs](std::string* error) {
    if (!dropPrivileges(runAs, error)) return false;
    if (!runAs.user.empty() || !runAs.group.empty() || !runAs.chroot.empty())
      logging::get(logging::Component::Proxy)
          .info("running as uid {} gid {}{}", ::getuid(), ::getgid(),
                runAs.chroot.empty() ? "" : ", chrooted in " + runAs.chroot);
    return true;
  });
}

int runVrrpCommand(const std::string& path, const NodeChoice& node, bool supervised, int snapshotFd,
                   int statusFd) {
  UniqueFd status(statusFd);
  // Notify hooks and track scripts must not inherit the supervisor's status socket.
  if (status) ::fcntl(status.get(), F_SETFD, FD_CLOEXEC);
  // Whatever happens next (a reload brings its own), SIGHUP must not kill the agent by its
  // default action before the event loop installs the handler.
  ::signal(SIGHUP, SIG_IGN);
  LoadResult r = loadForCommand(path, UniqueFd(snapshotFd).get(), node);
  for (const auto& d : r.diagnostics.sorted()) std::cerr << d.format() << "\n";
  if (!r.config) return kExitInvalid;
  logging::setup(r.config->log);
  vrrp::AgentOptions options;
  options.proxyInitiallyUp = !supervised;
  options.statusFd = status.get();
  options.reload = [path, node](int snapshotFd) -> std::optional<vrrp::Config> {
    LoadResult next = loadForCommand(path, snapshotFd, node);
    for (const auto& d : next.diagnostics.sorted())
      logging::get(logging::Component::Config).warn("{}", d.format());
    if (!next.config) return std::nullopt;
    logging::setup(next.config->log);  // global.log of the new file, for the agent too
    return next.config->vrrp;
  };
  return vrrp::runAgent(r.config->vrrp, std::move(options));
}

int runRunCommand(const std::string& path, const NodeChoice& node) {
  LoadResult r = loadConfigFile(path, nullptr, node);
  for (const auto& d : r.diagnostics.sorted()) std::cerr << d.format() << "\n";
  if (!r.config) return kExitInvalid;
  logging::setup(r.config->log);
  // The node's name goes to the children and to every reload (a `nodes:` file; empty else).
  return runSupervisor(path, r.node, std::move(*r.config), std::move(r.source));
}

}  // namespace

int runPairKeygen(const std::string& path, std::ostream& out, std::ostream& err) {
  auto key = pair::generatePairKey();
  if (!key) {
    err << "tandem pair keygen: the system gave no random bytes\n";
    return 1;
  }
  std::string error;
  if (!pair::writePairKeyFile(path, *key, &error)) {
    err << "tandem pair keygen: " << error << "\n";
    return 1;
  }
  out << "wrote a new pair key to " << path << " (fingerprint " << pair::pairKeyFingerprint(*key)
      << "): copy it to the other node and name it in pair.key_file on both\n";
  return 0;
}

int runCli(int argc, char** argv) {
  CLI::App app{"Tandem: an active/passive load-balancer appliance (proxy + VRRP)", "tandem"};
  app.require_subcommand(1);
  app.set_version_flag("-v,--version", std::string("tandem ") + TANDEM_VERSION);

  CheckOptions check;
  auto* checkCmd =
      app.add_subcommand("check", "Validate a configuration file and report every error");
  auto* configOpt = checkCmd->add_option("-c,--config", check.configPath, "Configuration file")
                        ->option_text("FILE");
  auto* explainOpt =
      checkCmd
          ->add_option("--explain", check.explain,
                       "Print the reference entry of a key, e.g. backends.servers.weight")
          ->option_text("KEY.PATH");
  auto* referenceOpt = checkCmd->add_flag("--reference", check.reference,
                                          "Print the whole configuration reference (Markdown)");
  checkCmd->callback([configOpt, explainOpt, referenceOpt] {
    if (configOpt->count() == 0 && explainOpt->count() == 0 && referenceOpt->count() == 0)
      throw CLI::RequiredError("--config");
  });
  checkCmd->add_flag("-q,--quiet", check.quiet, "Print errors only");
  checkCmd
      ->add_option("--node", check.node,
                   "A file with nodes: check this node only (default: every node it lists)")
      ->option_text("NAME");
  checkCmd->add_flag("--dump", check.dump, "Print an outline of the loaded configuration");

  std::string runConfig = "/etc/tandem/tandem.yaml";
  auto* runCmd = app.add_subcommand(
      "run", "Run the node: supervise the proxy worker and the VRRP agent (what systemd starts)");
  runCmd->add_option("-c,--config", runConfig, "Configuration file")
      ->capture_default_str()
      ->option_text("FILE");
  NodeChoice node;
  const char* nodeHelp = "A file with nodes: run as this node (default: the host name)";
  runCmd->add_option("--node", node.name, nodeHelp)->option_text("NAME");

  ControlOptions control;
  auto* statusCmd = app.add_subcommand(
      "status", "Show the node: VRRP role and VIPs, children, backends, config generation");
  auto* reloadCmd = app.add_subcommand(
      "reload", "Validate the configuration and reload it without dropping a connection");
  for (auto* cmd : {statusCmd, reloadCmd}) {
    cmd->add_option("-s,--socket", control.socket,
                    "Control socket (default: from -c, else /run/tandem/tandem.sock)")
        ->option_text("PATH");
    cmd->add_option("-c,--config", control.configPath,
                    "Configuration file whose supervisor.control_socket to use")
        ->option_text("FILE");
    cmd->add_flag("--json", control.json, "Print the supervisor's JSON reply");
    cmd->add_option("--node", control.node, "With -c and a nodes: file: this node's socket")
        ->option_text("NAME");
  }

  LabOptions lab;
  auto* labCmd = app.add_subcommand(
      "lab", "A two-node pair with backends and a client in network namespaces, on defaults");
  labCmd->require_subcommand(1);
  auto* labUp = labCmd->add_subcommand("up", "Build the lab and start both nodes");
  auto* labDown = labCmd->add_subcommand("down", "Stop everything and remove the lab");
  auto* labStatus = labCmd->add_subcommand("status", "Show the lab: VIP holder, both nodes");
  for (auto* c : {labUp, labDown, labStatus})
    c->add_option("--name", lab.name, "Lab name (1-8 lowercase letters/digits)")
        ->capture_default_str();
  labStatus->add_flag("--json", lab.json, "JSON output");
  std::string serveName, serveDown;
  uint16_t servePort = 80;
  auto* labServe = labCmd->add_subcommand("serve", "The lab's demo backend (HTTP)");
  labServe->add_option("--name", serveName, "Backend name")->required();
  labServe->add_option("--port", servePort, "Port")->capture_default_str();
  labServe->add_option("--down-file", serveDown, "/health answers 503 while this file exists");

  DrillOptions drill;
  auto* drillCmd = app.add_subcommand(
      "drill",
      "Run a failover drill on the lab under client load and report (kill-proxy, "
      "kill-agent, kill-node, link-down, reload, preempt; config-drift: one node's file "
      "edited behind the other's back)");
  drillCmd->add_option("scenario", drill.scenario, "Scenario")
      ->required()
      ->check(CLI::IsMember(drillScenarios()));
  drillCmd->add_option("--lab", drill.lab, "Lab name")->capture_default_str();
  drillCmd
      ->add_option("--pair", drill.pairFile,
                   "Drill a pair described by a JSON file instead of a lab (drill_pair.h)")
      ->option_text("FILE");
  drillCmd->add_flag("--json", drill.json, "JSON report");
  drillCmd->add_option("--timeout", drill.requestTimeoutMs, "Request budget in ms")
      ->capture_default_str();
  drillCmd
      ->add_option("--return-timeout", drill.returnTimeoutMs,
                   "How long to wait for the pair to return to its initial state (ms)")
      ->capture_default_str();

  std::string proxyConfig;
  int masterFd = -1;
  auto* proxyCmd = app.add_subcommand("proxy", "Run the proxy worker in the foreground");
  proxyCmd->add_option("-c,--config", proxyConfig, "Configuration file")
      ->required()
      ->option_text("FILE");
  proxyCmd->add_option("--master-fd", masterFd, "")->group("");  // set by `tandem run`
  proxyCmd->add_option("--node", node.name, nodeHelp)->option_text("NAME");
  int proxySnapshotFd = -1;
  proxyCmd->add_option("--config-fd", proxySnapshotFd, "")->group("");  // set by `tandem run`

  std::string vrrpConfig;
  bool supervised = false;
  auto* vrrpCmd = app.add_subcommand("vrrp", "Run the VRRP agent in the foreground");
  vrrpCmd->add_option("-c,--config", vrrpConfig, "Configuration file")
      ->required()
      ->option_text("FILE");
  vrrpCmd->add_flag("--supervised", supervised, "")->group("");  // set by `tandem run`
  vrrpCmd->add_option("--node", node.name, nodeHelp)->option_text("NAME");
  int vrrpSnapshotFd = -1;
  vrrpCmd->add_option("--config-fd", vrrpSnapshotFd, "")->group("");  // set by `tandem run`
  int vrrpStatusFd = -1;
  vrrpCmd->add_option("--status-fd", vrrpStatusFd, "")->group("");  // set by `tandem run`

  std::string keyOut;
  auto* pairCmd = app.add_subcommand("pair", "The pair channel between the two nodes");
  pairCmd->require_subcommand(1);
  auto* pairKeygen = pairCmd->add_subcommand(
      "keygen", "Make a new pair key (copy the file to both nodes; `pair.key_file` names it)");
  pairKeygen->add_option("-o,--out", keyOut, "Where to write the key (mode 0600; never replaced)")
      ->required()
      ->option_text("FILE");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  if (checkCmd->parsed()) return runCheck(check, std::cout, std::cerr);
  if (runCmd->parsed()) return runRunCommand(runConfig, node);
  if (labUp->parsed()) return runLabUp(lab, std::cout, std::cerr);
  if (labDown->parsed()) return runLabDown(lab, std::cout, std::cerr);
  if (labStatus->parsed()) return runLabStatus(lab, std::cout, std::cerr);
  if (labServe->parsed()) return runDemoBackend(serveName, servePort, serveDown);
  if (drillCmd->parsed()) return runDrill(drill, std::cout, std::cerr);
  if (statusCmd->parsed()) return runStatus(control, std::cout, std::cerr);
  if (pairKeygen->parsed()) return runPairKeygen(keyOut, std::cout, std::cerr);
  if (reloadCmd->parsed()) return runReload(control, std::cout, std::cerr);
  if (proxyCmd->parsed()) return runProxyCommand(proxyConfig, node, masterFd, proxySnapshotFd);
  if (vrrpCmd->parsed())
    return runVrrpCommand(vrrpConfig, node, supervised, vrrpSnapshotFd, vrrpStatusFd);
  return kExitUsage;
}

}  // namespace tandem::appliance
