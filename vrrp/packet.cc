#include "vrrp/packet.h"

#include <cstring>

namespace tandem::vrrp {
namespace {

uint32_t partialSum(const uint8_t* data, size_t len, uint32_t sum) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(data[len - 1] << 8);
  return sum;
}

// RFC 5798 §5.2.8: the v3 checksum covers an IPv4 pseudo-header (source, destination, zero,
// protocol 112, VRRP length) before the VRRP message. (keepalived's v3_checksum_as_v2 exists
// for peers that got this wrong; Tandem follows the RFC.)
uint32_t pseudoHeaderSum(const IpAddress& src, const IpAddress& dst, size_t len) {
  uint8_t ph[12];
  std::memcpy(ph, src.bytes.data(), 4);
  std::memcpy(ph + 4, dst.bytes.data(), 4);
  ph[8] = 0;
  ph[9] = kIpProtoVrrp;
  ph[10] = static_cast<uint8_t>(len >> 8);
  ph[11] = static_cast<uint8_t>(len & 0xff);
  return partialSum(ph, sizeof(ph), 0);
}

}  // namespace

uint16_t internetChecksum(const uint8_t* data, size_t len, uint32_t sum) {
  sum = partialSum(data, len, sum);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

const char* toString(Discard d) {
  switch (d) {
    case Discard::None:
      return "accepted";
    case Discard::Truncated:
      return "truncated packet";
    case Discard::BadTtl:
      return "TTL is not 255";
    case Discard::BadVersion:
      return "wrong VRRP version";
    case Discard::BadType:
      return "not an advertisement";
    case Discard::BadChecksum:
      return "bad checksum";
    case Discard::WrongVrid:
      return "other virtual router id";
    case Discard::IntervalMismatch:
      return "advertisement interval mismatch";
    case Discard::AuthMismatch:
      return "authentication mismatch";
    case Discard::AuthTypeMismatch:
      return "authentication type mismatch";
  }
  return "?";
}

std::vector<uint8_t> encode(const Advertisement& a, const IpAddress& src, const IpAddress& dst) {
  std::vector<uint8_t> p(8 + 4 * a.addresses.size() + (a.version == 2 ? 8 : 0), 0);
  p[0] = static_cast<uint8_t>(a.version << 4 | 1);  // type 1: Advertisement
  p[1] = a.vrid;
  p[2] = a.priority;
  p[3] = static_cast<uint8_t>(a.addresses.size());
  if (a.version == 3) {
    p[4] = static_cast<uint8_t>((a.maxAdverIntervalCs >> 8) & 0x0f);  // 4 reserved bits zero
    p[5] = static_cast<uint8_t>(a.maxAdverIntervalCs & 0xff);
  } else {
    p[4] = a.authType;
    p[5] = a.advertIntSeconds;
  }
  for (size_t i = 0; i < a.addresses.size(); ++i)
    std::memcpy(&p[8 + 4 * i], a.addresses[i].bytes.data(), 4);
  if (a.version == 2) std::memcpy(&p[8 + 4 * a.addresses.size()], a.authData.data(), 8);
  uint32_t sum = a.version == 3 ? pseudoHeaderSum(src, dst, p.size()) : 0;
  uint16_t ck = internetChecksum(p.data(), p.size(), sum);
  p[6] = static_cast<uint8_t>(ck >> 8);
  p[7] = static_cast<uint8_t>(ck & 0xff);
  return p;
}

std::optional<Received> decode(const uint8_t* data, size_t len, const ReceiveContext& ctx,
                               Discard* why) {
  auto reject = [&](Discard d) -> std::optional<Received> {
    *why = d;
    return std::nullopt;
  };
  *why = Discard::None;
  if (len < 8) return reject(Discard::Truncated);
  // RFC 5798 §7.1: "MUST verify that the IP TTL is 255".
  if (ctx.ttl != kVrrpTtl) return reject(Discard::BadTtl);
  // RFC 5798 §7.1: "MUST verify the VRRP version field".
  int version = data[0] >> 4;
  if (version != ctx.version) return reject(Discard::BadVersion);
  if ((data[0] & 0x0f) != 1) return reject(Discard::BadType);
  size_t count = data[3];
  size_t need = 8 + 4 * count + (version == 2 ? 8 : 0);
  if (len < need) return reject(Discard::Truncated);
  // RFC 5798 §7.1: "MUST verify that the received packet contains the complete VRRP packet
  // (including fixed fields, and IPvX address(es))" and "MUST verify the VRRP checksum".
  uint32_t sum = version == 3 ? pseudoHeaderSum(ctx.src, ctx.dst, need) : 0;
  if (internetChecksum(data, need, sum) != 0) return reject(Discard::BadChecksum);
  // RFC 5798 §7.1: "MUST verify that the VRID is configured on the receiving interface".
  if (data[1] != ctx.vrid) return reject(Discard::WrongVrid);
  Received r;
  Advertisement& a = r.advert;
  a.version = version;
  a.vrid = data[1];
  a.priority = data[2];
  if (version == 3) {
    a.maxAdverIntervalCs = static_cast<uint16_t>((data[4] & 0x0f) << 8 | data[5]);
  } else {
    a.authType = data[4];
    a.advertIntSeconds = data[5];
    std::memcpy(a.authData.data(), data + 8 + 4 * count, 8);
    // RFC 3768 §7.1: the auth type must match, and for simple text the password.
    if (a.authType != ctx.authType) return reject(Discard::AuthTypeMismatch);
    if (a.authType == 1 && a.authData != ctx.authData) return reject(Discard::AuthMismatch);
    // RFC 3768 §7.1: "MUST verify that the Adver Interval in the packet is the same as the
    // Adver Interval configured for the local virtual router".
    if (a.advertIntSeconds != ctx.advertIntSeconds) return reject(Discard::IntervalMismatch);
  }
  for (size_t i = 0; i < count; ++i) {
    IpAddress ip;
    ip.family = AF_INET;
    std::memcpy(ip.bytes.data(), data + 8 + 4 * i, 4);
    a.addresses.push_back(ip);
  }
  // RFC 5798 §7.1: "MAY verify that the IPvX Address(es) associated with the VRID are valid";
  // a mismatch is logged by the caller, and the packet still counts (priority 255 owners
  // differ only in configuration, not in who is master).
  if (!ctx.addresses.empty() && a.priority != 255) {
    if (a.addresses.size() != ctx.addresses.size()) r.addressMismatch = true;
    for (const auto& want : ctx.addresses) {
      bool found = false;
      for (const auto& got : a.addresses) found |= got == want;
      if (!found) r.addressMismatch = true;
    }
  }
  return r;
}

}  // namespace tandem::vrrp
