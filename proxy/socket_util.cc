#include "proxy/socket_util.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

namespace tandem::proxy {

UniqueFd makeListenSocket(const Endpoint& ep, int backlog, bool v6only, std::string* error) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!ep.toSockaddr(&ss, &len)) {
    *error = "not an IP address: " + ep.toString();
    return {};
  }
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    *error = std::string("socket: ") + std::strerror(errno);
    return {};
  }
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  // Accepted sockets inherit TCP_NODELAY: one setsockopt here instead of one per connection.
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  // A bind on the virtual IP must work on the backup node too, where the address is not (yet)
  // local: keepalived + HAProxy pairs need net.ipv4.ip_nonlocal_bind for that, a classic trap.
  ::setsockopt(fd.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
  if (ss.ss_family == AF_INET6) {
    int v = v6only ? 1 : 0;
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v));
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    *error = "cannot bind " + ep.toString() + ": " + std::strerror(errno);
    return {};
  }
  if (::listen(fd.get(), backlog) != 0) {
    *error = "cannot listen on " + ep.toString() + ": " + std::strerror(errno);
    return {};
  }
  return fd;
}

uint16_t peerPort(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
}

IpAddress peerAddress(const sockaddr_storage& ss) {
  IpAddress ip;
  if (ss.ss_family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    // An IPv4-mapped peer on a dual-stack socket is reported as IPv4 (ACLs say 198.18.0.0/15).
    if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
      ip.family = AF_INET;
      std::memcpy(ip.bytes.data(), s6->sin6_addr.s6_addr + 12, 4);
    } else {
      ip.family = AF_INET6;
      std::memcpy(ip.bytes.data(), &s6->sin6_addr, 16);
    }
  } else {
    ip.family = AF_INET;
    std::memcpy(ip.bytes.data(), &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, 4);
  }
  return ip;
}

}  // namespace tandem::proxy
