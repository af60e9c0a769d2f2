// `global.user`, `global.group`, `global.chroot`: the proxy worker gives up root once it holds
// everything it needs (listening sockets, admin socket, files), before it serves a byte — like
// HAProxy's `user`/`group`/`chroot`. The VRRP agent keeps root: it moves addresses and sends raw
// packets.
#pragma once

#include <string>

#include "appliance/config/config.h"

namespace tandem::appliance {

// Applies `runAs` to the whole process (every thread): chroot, supplementary groups, gid, uid,
// in that order, and checks root cannot be regained. A no-op when nothing is set. false +
// *error when a name does not resolve or the kernel refuses (the caller must not serve then).
bool dropPrivileges(const RunAs& runAs, std::string* error);

}  // namespace tandem::appliance
