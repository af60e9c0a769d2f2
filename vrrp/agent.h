// The VRRP agent process (`tandem vrrp`): every configured instance on one event loop until
// SIGTERM/SIGINT, then a clean leave (priority 0 from masters, addresses released).
#pragma once

#include "vrrp/config.h"

namespace tandem::vrrp {

int runAgent(const Config& config);

}  // namespace tandem::vrrp
