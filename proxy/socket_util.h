// Socket set-up shared by listeners and server connections.
#pragma once

#include <sys/socket.h>

#include <string>

#include "common/address.h"
#include "common/fd.h"

namespace tandem::proxy {

// A non-blocking listening socket with SO_REUSEPORT (one per worker thread and bind).
UniqueFd makeListenSocket(const Endpoint& ep, int backlog, bool v6only, std::string* error);

// Starts a non-blocking connect; the fd becomes writable when it completes.
UniqueFd connectNonBlocking(const sockaddr_storage& addr, socklen_t len, int* error);

// The pending error of a socket (SO_ERROR) after a non-blocking connect.
int socketError(int fd);

IpAddress peerAddress(const sockaddr_storage& ss);

}  // namespace tandem::proxy
