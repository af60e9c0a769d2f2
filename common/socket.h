// One non-blocking TCP connect for every client Tandem itself is: the proxy's server
// connections, health checks, the supervisor's liveness probe and failover drills.
#pragma once

#include <sys/socket.h>

#include "common/fd.h"

namespace tandem {

struct ConnectOptions {
  bool noDelay = true;  // TCP_NODELAY: requests go out as they are written
  // Close with a reset (SO_LINGER 0): a short-lived probe leaves no TIME_WAIT behind.
  bool resetOnClose = false;
};

// Starts a connect to `addr`. The socket turns writable when the connect completes, and
// socketError() then says how. On an immediate failure: an invalid fd and *error set (errno);
// *connectedNow (if given) tells a connect that completed at once (loopback can).
UniqueFd connectNonBlocking(const sockaddr_storage& addr, socklen_t len, int* error,
                            const ConnectOptions& options = {}, bool* connectedNow = nullptr);

// The pending error of a socket (SO_ERROR), e.g. after a non-blocking connect.
int socketError(int fd);

}  // namespace tandem
