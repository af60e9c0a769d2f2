// File descriptors for `global.maxconn`: every proxied connection holds two (client and server
// side), so maxconn 20000 under `ulimit -n 2048` would start and then stop accepting at ~1,000
// connections. Before serving, the open-file limit is raised to what maxconn needs (soft up to
// hard, and hard too where privileged), like HAProxy does; when it cannot be, an explicit
// maxconn is refused with the numbers and the default one is lowered with a warning.
#pragma once

#include <cstdint>
#include <string>

#include "proxy/config.h"

namespace tandem::proxy {

// What one proxy process needs open at `maxconn`: two per connection, the listening sockets,
// one per health-checked server, and a margin for logs, the admin socket and channels.
uint64_t fdsNeeded(const Config& config, uint32_t maxconn);

struct FdBudget {
  bool ok = true;
  std::string error;    // why maxconn cannot be served (ok == false)
  std::string warning;  // maxconn was lowered
  std::string info;     // the limit was raised
};

// Raises RLIMIT_NOFILE for config.maxconn, or lowers config.maxconn when it was not set
// explicitly (config.maxconnSet), or fails.
FdBudget fitFdLimit(Config& config);

}  // namespace tandem::proxy
