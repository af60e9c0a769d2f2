// The proxy worker process (`tandem proxy`): builds the runtime, opens every listener in every
// worker thread, serves until SIGTERM/SIGINT/SIGUSR1, then stops gracefully: no new
// connections, in-flight requests finish within `global.hard_stop_after`.
#pragma once

#include <string>

#include "proxy/config.h"

namespace tandem::proxy {

// Returns the process exit code: 0 after a clean stop, 1 when start-up failed.
int runProxy(const Config& config);

}  // namespace tandem::proxy
