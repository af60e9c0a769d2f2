#include "appliance/cli.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "appliance/check_command.h"
#include "appliance/config_loader.h"
#include "appliance/control_command.h"
#include "appliance/supervisor.h"
#include "common/logging.h"
#include "proxy/proxy.h"
#include "vrrp/agent.h"

#ifndef TANDEM_VERSION
#define TANDEM_VERSION "0.0.0"
#endif

namespace tandem::appliance {

namespace {

// Loads and validates like `tandem check`; an invalid file never starts a worker.
int runProxyCommand(const std::string& path, int masterFd) {
  LoadResult r = loadConfigFile(path);
  for (const auto& d : r.diagnostics.sorted()) std::cerr << d.format() << "\n";
  if (!r.config) return kExitInvalid;
  logging::setup(r.config->log);
  std::unique_ptr<proxy::MasterChannel> master;
  if (masterFd >= 0) master = std::make_unique<proxy::MasterChannel>(UniqueFd(masterFd));
  return proxy::runProxy(r.config->proxy, std::move(master));
}

int runVrrpCommand(const std::string& path, bool supervised) {
  LoadResult r = loadConfigFile(path);
  for (const auto& d : r.diagnostics.sorted()) std::cerr << d.format() << "\n";
  if (!r.config) return kExitInvalid;
  logging::setup(r.config->log);
  vrrp::AgentOptions options;
  options.proxyInitiallyUp = !supervised;
  options.reload = [path]() -> std::optional<vrrp::Config> {
    LoadResult next = loadConfigFile(path);
    for (const auto& d : next.diagnostics.sorted())
      logging::get(logging::Component::Config).warn("{}", d.format());
    if (!next.config) return std::nullopt;
    return next.config->vrrp;
  };
  return vrrp::runAgent(r.config->vrrp, std::move(options));
}

int runRunCommand(const std::string& path) {
  LoadResult r = loadConfigFile(path);
  for (const auto& d : r.diagnostics.sorted()) std::cerr << d.format() << "\n";
  if (!r.config) return kExitInvalid;
  logging::setup(r.config->log);
  return runSupervisor(path, std::move(*r.config));
}

}  // namespace

int runCli(int argc, char** argv) {
  CLI::App app{"Tandem: an active/passive load-balancer appliance (proxy + VRRP)", "tandem"};
  app.require_subcommand(1);
  app.set_version_flag("-v,--version", std::string("tandem ") + TANDEM_VERSION);

  CheckOptions check;
  auto* checkCmd =
      app.add_subcommand("check", "Validate a configuration file and report every error");
  checkCmd->add_option("-c,--config", check.configPath, "Configuration file")
      ->required()
      ->option_text("FILE");
  checkCmd->add_flag("-q,--quiet", check.quiet, "Print errors only");
  checkCmd->add_flag("--dump", check.dump, "Print an outline of the loaded configuration");

  std::string runConfig = "/etc/tandem/tandem.yaml";
  auto* runCmd = app.add_subcommand(
      "run", "Run the node: supervise the proxy worker and the VRRP agent (what systemd starts)");
  runCmd->add_option("-c,--config", runConfig, "Configuration file")
      ->capture_default_str()
      ->option_text("FILE");

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
  }

  std::string proxyConfig;
  int masterFd = -1;
  auto* proxyCmd = app.add_subcommand("proxy", "Run the proxy worker in the foreground");
  proxyCmd->add_option("-c,--config", proxyConfig, "Configuration file")
      ->required()
      ->option_text("FILE");
  proxyCmd->add_option("--master-fd", masterFd, "")->group("");  // set by `tandem run`

  std::string vrrpConfig;
  bool supervised = false;
  auto* vrrpCmd = app.add_subcommand("vrrp", "Run the VRRP agent in the foreground");
  vrrpCmd->add_option("-c,--config", vrrpConfig, "Configuration file")
      ->required()
      ->option_text("FILE");
  vrrpCmd->add_flag("--supervised", supervised, "")->group("");  // set by `tandem run`

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
  if (runCmd->parsed()) return runRunCommand(runConfig);
  if (statusCmd->parsed()) return runStatus(control, std::cout, std::cerr);
  if (reloadCmd->parsed()) return runReload(control, std::cout, std::cerr);
  if (proxyCmd->parsed()) return runProxyCommand(proxyConfig, masterFd);
  if (vrrpCmd->parsed()) return runVrrpCommand(vrrpConfig, supervised);
  return kExitUsage;
}

}  // namespace tandem::appliance
