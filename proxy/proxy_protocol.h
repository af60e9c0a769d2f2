// The PROXY protocol (HAProxy's proxy-protocol.txt), versions 1 (text) and 2 (binary): the
// header a load balancer in front of us puts before a connection's first byte to say whom it
// came from (`accept_proxy` on a bind), and the one we put before ours to a server
// (`send_proxy` / `send_proxy_v2`). Pure functions over bytes; the listener peeks the socket
// and consumes exactly the header, so the bytes after it (a TLS ClientHello, a request) stay
// where the transport reads them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/address.h"

namespace tandem::proxy {

struct ProxyHeader {
  int version = 1;
  // LOCAL (v2) or UNKNOWN (v1): the sender speaks for itself (its health checks): the
  // connection's own addresses stand.
  bool local = false;
  IpAddress source, destination;
  uint16_t sourcePort = 0, destinationPort = 0;
  std::vector<std::pair<uint8_t, std::string>> tlvs;  // v2 type-length-values, as received
};

struct ProxyHeaderParse {
  enum class Status { Incomplete, Invalid, Ok };
  Status status = Status::Incomplete;
  size_t length = 0;  // Ok: the header's bytes, to consume
  std::string error;  // Invalid: why, for the log
  ProxyHeader header;
};

// Longest v1 line (section 2.1) and longest v2 header (16 + 65535).
inline constexpr size_t kProxyV1MaxLength = 107;
inline constexpr size_t kProxyV2MaxLength = 16 + 65535;

// Parses the start of a connection's bytes: Incomplete while what is there could still become
// a valid header, Invalid as soon as it cannot.
ProxyHeaderParse parseProxyHeader(std::string_view bytes);

// Headers we send. When the two addresses are of different families (an IPv6 client to an
// IPv4 server), v1 says UNKNOWN and v2 LOCAL, as the specification asks.
std::string encodeProxyV1(const IpAddress& source, uint16_t sourcePort,
                          const IpAddress& destination, uint16_t destinationPort);
std::string encodeProxyV2(const IpAddress& source, uint16_t sourcePort,
                          const IpAddress& destination, uint16_t destinationPort);
// A v2 LOCAL header: a connection of our own (a health check), no client to speak of.
std::string encodeProxyV2Local();

}  // namespace tandem::proxy
