// The raw IP socket (protocol 112) of one VRRP instance: joined to 224.0.0.18 on its interface,
// or talking to unicast peers; sends with TTL 255 (RFC 5798 §5.1.1.3) and hands received
// packets up with the IP header facts the receive rules need (TTL, source, destination).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/address.h"
#include "common/fd.h"
#include "vrrp/interface.h"

namespace tandem::vrrp {

struct RawPacket {
  IpAddress src;
  IpAddress dst;
  uint8_t ttl = 0;
  std::vector<uint8_t> payload;
};

class VrrpSocket {
 public:
  // `source` is the address adverts are sent from (unicast_src_ip or the interface primary).
  VrrpSocket(const InterfaceInfo& iface, const IpAddress& source, bool multicast,
             std::string* error);
  bool ok() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }
  bool send(const std::vector<uint8_t>& payload, const IpAddress& dst, std::string* error);
  // One datagram, or nullopt when none is waiting.
  std::optional<RawPacket> receive();

 private:
  UniqueFd fd_;
  IpAddress source_;
  int ifindex_ = 0;
};

}  // namespace tandem::vrrp
