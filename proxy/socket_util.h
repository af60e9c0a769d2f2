// Socket set-up shared by listeners and server connections.
#pragma once

#include <sys/socket.h>

#include <string>

#include "common/address.h"
#include "common/fd.h"
#include "common/socket.h"  // connectNonBlocking, socketError

namespace tandem::proxy {

// A non-blocking listening socket with SO_REUSEPORT (one per worker thread and bind).
UniqueFd makeListenSocket(const Endpoint& ep, int backlog, bool v6only, std::string* error);

IpAddress peerAddress(const sockaddr_storage& ss);
uint16_t peerPort(const sockaddr_storage& ss);

}  // namespace tandem::proxy
