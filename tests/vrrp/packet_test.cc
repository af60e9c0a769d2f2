// Golden packets (checksums computed independently, RFC 1071 in Python) and every discard rule.
#include "vrrp/packet.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>

namespace tandem::vrrp {
namespace {

std::vector<uint8_t> hex(const std::string& h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < h.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

Advertisement v3() {
  Advertisement a;
  a.version = 3;
  a.vrid = 51;
  a.priority = 100;
  a.maxAdverIntervalCs = 100;
  a.addresses = {ip("198.18.0.100")};
  return a;
}

Advertisement v2() {
  Advertisement a;
  a.version = 2;
  a.vrid = 51;
  a.priority = 101;
  a.advertIntSeconds = 1;
  a.authType = 1;
  std::memcpy(a.authData.data(), "secret", 6);
  a.addresses = {ip("198.18.0.100")};
  return a;
}

ReceiveContext ctxFor(const Advertisement& a) {
  ReceiveContext c;
  c.version = a.version;
  c.vrid = a.vrid;
  c.src = ip("198.18.0.1");
  c.dst = ip("224.0.0.18");
  c.advertIntSeconds = a.advertIntSeconds;
  c.authType = a.authType;
  c.authData = a.authData;
  c.addresses = a.addresses;
  return c;
}

TEST(VrrpPacket, V3GoldenBytesWithPseudoHeaderChecksum) {
  auto p = encode(v3(), ip("198.18.0.1"), ip("224.0.0.18"));
  EXPECT_EQ(p, hex("313364010064fd4dc6120064"));
}

TEST(VrrpPacket, V2GoldenBytesWithSimpleTextAuth) {
  auto p = encode(v2(), ip("198.18.0.1"), ip("224.0.0.18"));
  EXPECT_EQ(p, hex("2133650101017607c61200647365637265740000"));
}

TEST(VrrpPacket, RoundTrip) {
  for (const Advertisement& a : {v3(), v2()}) {
    auto p = encode(a, ip("198.18.0.1"), ip("224.0.0.18"));
    Discard why;
    auto r = decode(p.data(), p.size(), ctxFor(a), &why);
    ASSERT_TRUE(r) << toString(why);
    EXPECT_EQ(r->advert.priority, a.priority);
    EXPECT_EQ(r->advert.addresses, a.addresses);
    EXPECT_FALSE(r->addressMismatch);
  }
}

struct DiscardCase {
  const char* name;
  std::function<void(std::vector<uint8_t>&, ReceiveContext&)> mutate;
  Discard expect;
};

TEST(VrrpPacket, EveryReceiveRuleDiscards) {
  std::vector<DiscardCase> cases = {
      {"ttl", [](auto&, auto& c) { c.ttl = 64; }, Discard::BadTtl},
      {"version", [](auto&, auto& c) { c.version = 2; }, Discard::BadVersion},
      {"type", [](auto& p, auto&) { p[0] = 0x32; }, Discard::BadType},
      {"checksum", [](auto& p, auto&) { p[7] ^= 1; }, Discard::BadChecksum},
      {"pseudo-header (sent to another address)", [](auto&, auto& c) { c.dst = ip("198.18.0.2"); },
       Discard::BadChecksum},
      {"vrid", [](auto&, auto& c) { c.vrid = 52; }, Discard::WrongVrid},
      {"truncated", [](auto& p, auto&) { p.resize(10); }, Discard::Truncated},
      {"count beyond length", [](auto& p, auto&) { p[3] = 5; }, Discard::Truncated},
  };
  for (auto& c : cases) {
    auto p = encode(v3(), ip("198.18.0.1"), ip("224.0.0.18"));
    ReceiveContext ctx = ctxFor(v3());
    c.mutate(p, ctx);
    Discard why;
    EXPECT_FALSE(decode(p.data(), p.size(), ctx, &why)) << c.name;
    EXPECT_EQ(why, c.expect) << c.name << ": " << toString(why);
  }
}

TEST(VrrpPacket, V2AuthAndIntervalRules) {
  auto p = encode(v2(), ip("198.18.0.1"), ip("224.0.0.18"));
  Discard why;
  ReceiveContext c = ctxFor(v2());
  c.authData[0] = 'X';
  EXPECT_FALSE(decode(p.data(), p.size(), c, &why));
  EXPECT_EQ(why, Discard::AuthMismatch);
  c = ctxFor(v2());
  c.authType = 0;
  EXPECT_FALSE(decode(p.data(), p.size(), c, &why));
  EXPECT_EQ(why, Discard::AuthTypeMismatch);
  c = ctxFor(v2());
  c.advertIntSeconds = 2;
  EXPECT_FALSE(decode(p.data(), p.size(), c, &why));
  EXPECT_EQ(why, Discard::IntervalMismatch);
}

TEST(VrrpPacket, AddressMismatchIsReportedButAccepted) {
  auto p = encode(v3(), ip("198.18.0.1"), ip("224.0.0.18"));
  ReceiveContext c = ctxFor(v3());
  c.addresses = {ip("198.18.0.101")};
  Discard why;
  auto r = decode(p.data(), p.size(), c, &why);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->addressMismatch);
}

}  // namespace
}  // namespace tandem::vrrp
