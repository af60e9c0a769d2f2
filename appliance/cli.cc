#include "appliance/cli.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "appliance/check_command.h"

#ifndef TANDEM_VERSION
#define TANDEM_VERSION "0.0.0"
#endif

namespace tandem::appliance {

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
  return kExitUsage;
}

}  // namespace tandem::appliance
