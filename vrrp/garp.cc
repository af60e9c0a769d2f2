#include "vrrp/garp.h"

#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace tandem::vrrp {

std::vector<uint8_t> gratuitousArp(const std::array<uint8_t, 6>& mac, const IpAddress& ip) {
  std::vector<uint8_t> p(28, 0);
  p[0] = 0x00;  // hardware type: Ethernet
  p[1] = 0x01;
  p[2] = 0x08;  // protocol type: IPv4
  p[3] = 0x00;
  p[4] = 6;     // hardware size
  p[5] = 4;     // protocol size
  p[6] = 0x00;  // opcode: request (the form most hosts update their cache from)
  p[7] = 0x01;
  std::memcpy(&p[8], mac.data(), 6);        // sender MAC
  std::memcpy(&p[14], ip.bytes.data(), 4);  // sender IP = the virtual address
  std::memset(&p[18], 0, 6);                // target MAC: unknown
  std::memcpy(&p[24], ip.bytes.data(), 4);  // target IP = the virtual address
  return p;
}

GarpSender::GarpSender(int ifindex, const std::array<uint8_t, 6>& mac)
    : fd_(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP))),
      ifindex_(ifindex),
      mac_(mac) {}

bool GarpSender::send(const IpAddress& ip, std::string* error) {
  std::vector<uint8_t> p = gratuitousArp(mac_, ip);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = ifindex_;
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);  // broadcast
  if (::sendto(fd_.get(), p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) <
      0) {
    *error = std::string("gratuitous ARP: ") + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace tandem::vrrp
