// The `tandem` command line: subcommands and their exit codes.
#pragma once

namespace tandem::appliance {

// Exit codes shared by every subcommand, as `haproxy -c` users expect.
enum ExitCode : int { kExitOk = 0, kExitInvalid = 1, kExitUsage = 2 };

int runCli(int argc, char** argv);

}  // namespace tandem::appliance
