#include "common/socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>

namespace tandem {

UniqueFd connectNonBlocking(const sockaddr_storage& addr, socklen_t len, int* error,
                            const ConnectOptions& options, bool* connectedNow) {
  if (connectedNow) *connectedNow = false;
  UniqueFd fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    *error = errno;
    return {};
  }
  if (options.noDelay) {
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  if (options.resetOnClose) {
    linger reset{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  }
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), len) == 0) {
    if (connectedNow) *connectedNow = true;
  } else if (errno != EINPROGRESS) {
    *error = errno;
    return {};
  }
  *error = 0;
  return fd;
}

int socketError(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

}  // namespace tandem
