// libFuzzer target: VRRP advertisement decoding (RFC 5798 / RFC 3768 receive checks) on any
// bytes, under either version and auth setting chosen by the first byte. A packet that decodes
// must re-encode to a packet that decodes to the same advertisement (v3 checksums over the
// pseudo-header included), and nothing may read past the exact-size buffer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "vrrp/packet.h"

using namespace tandem::vrrp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0];
  std::vector<uint8_t> packet(data + 1, data + size);  // exact size: ASan sees any overread
  ReceiveContext ctx;
  ctx.version = (mode & 1) ? 2 : 3;
  ctx.vrid = static_cast<uint8_t>(mode >> 1);
  ctx.src = *tandem::IpAddress::parse("198.18.0.2");
  ctx.dst = *tandem::IpAddress::parse(kVrrpGroupV4);
  ctx.ttl = (mode & 0x80) ? 254 : kVrrpTtl;
  if (mode & 2) {
    ctx.authType = 1;
    ctx.authData = {'s', 'e', 'c', 'r', 'e', 't', 0, 0};
  }
  Discard why = Discard::None;
  auto got = decode(packet.data(), packet.size(), ctx, &why);
  (void)toString(why);
  if (!got) return 0;
  if (why != Discard::None) std::abort();  // accepted with a reason to discard
  const Advertisement& a = got->advert;
  if (a.version != ctx.version || a.vrid != ctx.vrid) std::abort();
  std::vector<uint8_t> again = encode(a, ctx.src, ctx.dst);
  Discard why2 = Discard::None;
  auto round = decode(again.data(), again.size(), ctx, &why2);
  if (!round || round->advert.priority != a.priority ||
      round->advert.addresses.size() != a.addresses.size())
    std::abort();
  return 0;
}
