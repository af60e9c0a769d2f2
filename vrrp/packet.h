// VRRP advertisements on the wire: VRRPv3 (RFC 5798 §5) and VRRPv2 (RFC 3768 §5) for IPv4,
// building and parsing with every receive-side check of RFC 5798 §7.1 / RFC 3768 §7.1 named.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/address.h"

namespace tandem::vrrp {

constexpr uint8_t kIpProtoVrrp = 112;               // RFC 5798 §5.1.1.4
constexpr uint8_t kVrrpTtl = 255;                   // RFC 5798 §5.1.1.3
constexpr const char* kVrrpGroupV4 = "224.0.0.18";  // RFC 5798 §5.1.1.2

struct Advertisement {
  int version = 3;  // 2 or 3
  uint8_t vrid = 0;
  uint8_t priority = 0;
  uint16_t maxAdverIntervalCs = 100;  // v3: centiseconds (12 bits); v2: seconds in advertInt
  uint8_t advertIntSeconds = 1;       // v2 only
  uint8_t authType = 0;               // v2: 0 none, 1 simple text password (RFC 3768 §5.3.6)
  std::array<uint8_t, 8> authData{};  // v2 simple text password, NUL padded
  std::vector<IpAddress> addresses;   // IPv4
};

// Serializes the VRRP message (without IP header), checksum filled in. v3 needs the IP source
// and destination for the pseudo-header (RFC 5798 §5.2.8).
std::vector<uint8_t> encode(const Advertisement& a, const IpAddress& src, const IpAddress& dst);

// Why a received packet is not acted on (counted per reason, logged rate-limited).
enum class Discard {
  None,
  Truncated,         // shorter than its header or address count says
  BadTtl,            // RFC 5798 §7.1: TTL MUST be 255
  BadVersion,        // RFC 5798 §7.1: version field must match the configured version
  BadType,           // only type 1 (Advertisement) exists
  BadChecksum,       // RFC 5798 §7.1 / RFC 3768 §7.1
  WrongVrid,         // RFC 5798 §7.1: not this virtual router
  IntervalMismatch,  // RFC 3768 §7.1 (v2): Adver Interval must equal the configured one
  AuthMismatch,      // RFC 3768 §7.1 / §5.3.6: simple text password must match
  AuthTypeMismatch,  // RFC 3768 §7.1: auth type must match the configured one
};
const char* toString(Discard d);

struct Received {
  Advertisement advert;
  bool addressMismatch = false;  // RFC 5798 §7.1: MAY check addresses; log, still accepted
};

struct ReceiveContext {
  int version = 3;
  uint8_t vrid = 0;
  uint8_t ttl = kVrrpTtl;
  IpAddress src;  // IP header source (for the v3 pseudo-header)
  IpAddress dst;
  uint8_t advertIntSeconds = 1;  // v2 configured interval
  uint8_t authType = 0;          // v2 configured auth
  std::array<uint8_t, 8> authData{};
  std::vector<IpAddress> addresses;  // configured virtual addresses
};

// Parses and validates one VRRP message (the IP payload). On rejection sets *why.
std::optional<Received> decode(const uint8_t* data, size_t len, const ReceiveContext& ctx,
                               Discard* why);

// Internet checksum (RFC 1071) over a buffer, optionally continuing a partial sum.
uint16_t internetChecksum(const uint8_t* data, size_t len, uint32_t sum = 0);

}  // namespace tandem::vrrp
