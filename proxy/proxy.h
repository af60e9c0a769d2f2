// The proxy worker process (`tandem proxy`): builds the runtime, opens every listener in every
// worker thread (or takes them from its master, see master_channel.h), serves until a signal,
// then stops gracefully: no new connections, in-flight requests finish within
// `global.hard_stop_after`. SIGTERM/SIGINT close idle keep-alive connections at once; SIGUSR1
// (the old worker of a reload) keeps each until its next request so no client races a close.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "proxy/config.h"
#include "proxy/master_channel.h"

namespace tandem::proxy {

// Called once every socket and file the worker needs is open, before any thread serves: where
// the caller gives up privileges. false + *error stops the start.
using BeforeServing = std::function<bool(std::string* error)>;

// Returns the process exit code: 0 after a clean stop, 1 when start-up failed.
// With `master`, listening sockets and server states come from the master process, and the
// worker reports readiness and server state changes to it.
int runProxy(const Config& config, std::unique_ptr<MasterChannel> master = nullptr,
             const BeforeServing& beforeServing = nullptr);

}  // namespace tandem::proxy
