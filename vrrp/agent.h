// The VRRP agent process (`tandem vrrp`): every configured instance on one event loop until
// SIGTERM/SIGINT, then a clean leave (priority 0 from masters, addresses released). SIGHUP
// reloads (see AgentOptions::reload).
#pragma once

#include <functional>
#include <optional>

#include "vrrp/config.h"

namespace tandem::vrrp {

struct AgentOptions {
  // Under the supervisor the agent starts assuming the local proxy is down, until it hears
  // "proxy up": a node never wins an election for a proxy that is not serving yet.
  bool proxyInitiallyUp = true;
  // SIGHUP (snapshotFd -1: read the file) or "reload" on the control socket (snapshotFd: the
  // text the supervisor validated): a new configuration, nullopt to keep the running one.
  // Instances whose configuration is unchanged keep running untouched, so a master stays master.
  std::function<std::optional<Config>(int snapshotFd)> reload;
  // Under the supervisor: a socket to send each instance's status on (common/node_status.h),
  // each second and at every transition; -1 for none.
  int statusFd = -1;
};

int runAgent(const Config& config, AgentOptions options = {});

}  // namespace tandem::vrrp
