#include "appliance/cli.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "appliance/check_command.h"
#include "appliance/config_loader.h"
#include "common/logging.h"
#include "proxy/proxy.h"
#include "vrrp/agent.h"

#ifndef TANDEM_VERSION
#define TANDEM_VERSION "0.0.0"
#endif

namespace tandem::appliance {

namespace {

// Loads and validates like `tandem check`; an invalid file never starts a worker.
int runProxyCommand(const std::string& path) {
  LoadResult r = loadConfigFile(path);
  for (const auto& d : r.diagnostics.sorted()) std::cerr << d.format() << "\n";
  if (!r.config) return kExitInvalid;
  logging::setup(r.config->log);
  return proxy::runProxy(r.config->proxy);
}

int runVrrpCommand(const std::string& path) {
  LoadResult r = loadConfigFile(path);
  for (const auto& d : r.diagnostics.sorted()) std::cerr << d.format() << "\n";
  if (!r.config) return kExitInvalid;
  logging::setup(r.config->log);
  return vrrp::runAgent(r.config->vrrp);
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

  std::string proxyConfig;
  auto* proxyCmd = app.add_subcommand("proxy", "Run the proxy worker in the foreground");
  proxyCmd->add_option("-c,--config", proxyConfig, "Configuration file")
      ->required()
      ->option_text("FILE");

  std::string vrrpConfig;
  auto* vrrpCmd = app.add_subcommand("vrrp", "Run the VRRP agent in the foreground");
  vrrpCmd->add_option("-c,--config", vrrpConfig, "Configuration file")
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
  if (proxyCmd->parsed()) return runProxyCommand(proxyConfig);
  if (vrrpCmd->parsed()) return runVrrpCommand(vrrpConfig);
  return kExitUsage;
}

}  // namespace tandem::appliance
