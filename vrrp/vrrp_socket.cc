#include "vrrp/vrrp_socket.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "vrrp/packet.h"

namespace tandem::vrrp {

VrrpSocket::VrrpSocket(const InterfaceInfo& iface, const IpAddress& source, bool multicast,
                       std::string* error) {
  UniqueFd fd(::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, kIpProtoVrrp));
  if (!fd) {
    *error = std::string("raw socket (needs CAP_NET_RAW): ") + std::strerror(errno);
    return;
  }
  auto fail = [&](const char* what) { *error = std::string(what) + ": " + std::strerror(errno); };
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, iface.name.c_str(),
                   static_cast<socklen_t>(iface.name.size())) != 0) {
    fail("SO_BINDTODEVICE");
    return;
  }
  int ttl = kVrrpTtl;
  ::setsockopt(fd.get(), IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
  ::setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
  int loop = 0;  // our own adverts are not news to us
  ::setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop));
  // No bind(): a raw socket bound to a local address drops packets sent to 224.0.0.18.
  // The source address is chosen per send instead (IP_MULTICAST_IF / IP_PKTINFO).
  source_ = source;
  ifindex_ = iface.index;
  if (multicast) {
    ip_mreqn mreq{};
    inet_pton(AF_INET, kVrrpGroupV4, &mreq.imr_multiaddr);
    std::memcpy(&mreq.imr_address, source.bytes.data(), 4);
    mreq.imr_ifindex = iface.index;
    if (::setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) != 0) {
      fail("IP_MULTICAST_IF");
      return;
    }
    if (::setsockopt(fd.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) != 0) {
      fail("join 224.0.0.18");
      return;
    }
  }
  fd_ = std::move(fd);
}

bool VrrpSocket::send(const std::vector<uint8_t>& payload, const IpAddress& dst,
                      std::string* error) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  std::memcpy(&to.sin_addr, dst.bytes.data(), 4);
  // IP_PKTINFO picks the source address (the pseudo-header checksum was computed with it).
  iovec iov{const_cast<uint8_t*>(payload.data()), payload.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))] = {};
  msghdr msg{};
  msg.msg_name = &to;
  msg.msg_namelen = sizeof(to);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = IPPROTO_IP;
  cm->cmsg_type = IP_PKTINFO;
  cm->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
  auto* pi = reinterpret_cast<in_pktinfo*>(CMSG_DATA(cm));
  pi->ipi_ifindex = ifindex_;
  std::memcpy(&pi->ipi_spec_dst, source_.bytes.data(), 4);
  if (::sendmsg(fd_.get(), &msg, 0) < 0) {
    *error = std::string("send advertisement: ") + std::strerror(errno);
    return false;
  }
  return true;
}

std::optional<RawPacket> VrrpSocket::receive() {
  uint8_t buf[2048];
  ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
  if (n < 20) return std::nullopt;
  // An IPv4 raw socket receives the IP header too.
  size_t ihl = static_cast<size_t>(buf[0] & 0x0f) * 4;
  if (ihl < 20 || static_cast<size_t>(n) < ihl) return std::nullopt;
  RawPacket p;
  p.ttl = buf[8];
  p.src.family = p.dst.family = AF_INET;
  std::memcpy(p.src.bytes.data(), buf + 12, 4);
  std::memcpy(p.dst.bytes.data(), buf + 16, 4);
  p.payload.assign(buf + ihl, buf + n);
  return p;
}

}  // namespace tandem::vrrp
