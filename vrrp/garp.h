// Gratuitous ARP (RFC 5798 §6.4.2: "broadcast a gratuitous ARP request containing the virtual
// router MAC address for each IP address"): an ARP request whose sender and target are the
// virtual address, sent to the broadcast MAC from an AF_PACKET socket.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/address.h"
#include "common/fd.h"

namespace tandem::vrrp {

// The 28-byte ARP payload (RFC 826) announcing `ip` at `mac`.
std::vector<uint8_t> gratuitousArp(const std::array<uint8_t, 6>& mac, const IpAddress& ip);

class GarpSender {
 public:
  GarpSender(int ifindex, const std::array<uint8_t, 6>& mac);
  bool ok() const { return fd_.valid(); }
  bool send(const IpAddress& ip, std::string* error);

 private:
  UniqueFd fd_;
  int ifindex_;
  std::array<uint8_t, 6> mac_;
};

}  // namespace tandem::vrrp
