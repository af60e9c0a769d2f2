// PROXY protocol v1/v2 headers: parsing what balancers send, refusing what they never would,
// and the headers we send to servers.
#include "proxy/proxy_protocol.h"

#include <gtest/gtest.h>

namespace tandem::proxy {
namespace {

using Status = ProxyHeaderParse::Status;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

std::string v2(std::string body, unsigned char verCmd = 0x21, unsigned char fam = 0x11) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  h += static_cast<char>(verCmd);
  h += static_cast<char>(fam);
  h += static_cast<char>(body.size() >> 8);
  h += static_cast<char>(body.size() & 0xFF);
  return h + body;
}

TEST(ProxyProtocolTest, V1Tcp4AndTcp6GiveTheClientAndStopAtTheirCrlf) {
  auto p = parseProxyHeader("PROXY TCP4 198.18.0.1 198.18.0.2 56324 443\r\nGET / HTTP/1.1\r\n");
  ASSERT_EQ(p.status, Status::Ok) << p.error;
  EXPECT_EQ(p.length, 44u);
  EXPECT_EQ(p.header.source, ip("198.18.0.1"));
  EXPECT_EQ(p.header.destination, ip("198.18.0.2"));
  EXPECT_EQ(p.header.sourcePort, 56324);
  EXPECT_EQ(p.header.destinationPort, 443);
  EXPECT_FALSE(p.header.local);
  p = parseProxyHeader("PROXY TCP6 2001:2::1 2001:2::2 4000 80\r\n");
  ASSERT_EQ(p.status, Status::Ok) << p.error;
  EXPECT_EQ(p.header.source, ip("2001:2::1"));
  p = parseProxyHeader("PROXY UNKNOWN\r\n");
  ASSERT_EQ(p.status, Status::Ok);
  EXPECT_TRUE(p.header.local);
}

TEST(ProxyProtocolTest, V1PrefixesWaitAndBadLinesAreRefusedWithTheirReason) {
  for (const char* prefix : {"", "P", "PROX", "PROXY ", "PROXY TCP4 198.18.0.1 198.18.0.2 1 2\r"})
    EXPECT_EQ(parseProxyHeader(prefix).status, Status::Incomplete) << prefix;
  struct Bad {
    const char* text;
    const char* why;
  } bad[] = {
      {"GET / HTTP/1.1\r\n", "no PROXY protocol header"},
      {"PROXY TCP4 198.18.0.1 198.18.0.2 1\r\n", "5 fields"},
      {"PROXY TCP4 2001:2::1 198.18.0.2 1 2\r\n", "not a TCP4 address"},
      {"PROXY TCP6 198.18.0.1 198.18.0.2 1 2\r\n", "not a TCP6 address"},
      {"PROXY TCP4 198.18.0.1 198.18.0.2 65536 2\r\n", "port"},
      {"PROXY TCP4 198.18.0.1 198.18.0.2 01 2\r\n", "port"},
      {"PROXY TCP4 198.18.0.1  198.18.0.2 1 2\r\n", "5 fields"},
      {"PROXY UDP4 198.18.0.1 198.18.0.2 1 2\r\n", "not TCP4"},
      {"PROXY TCP4 198.18.0.1 198.18.0.2 1 2\n", "CRLF"},
  };
  for (const auto& b : bad) {
    auto p = parseProxyHeader(b.text);
    EXPECT_EQ(p.status, Status::Invalid) << b.text;
    EXPECT_NE(p.error.find(b.why), std::string::npos) << b.text << " -> " << p.error;
  }
  EXPECT_EQ(parseProxyHeader("PROXY TCP4 " + std::string(100, '1')).status, Status::Invalid)
      << "107 bytes without CRLF";
}

TEST(ProxyProtocolTest, V2AddressesTlvsLocalAndTheirLimits) {
  std::string addr4 = std::string("\xc6\x12\x00\x01\xc6\x12\x00\x02\xdc\x04\x01\xbb", 12);
  auto p = parseProxyHeader(v2(addr4 + std::string("\x04\x00\x03"
                                                   "abc",
                                                   6)) +
                            "rest");
  ASSERT_EQ(p.status, Status::Ok) << p.error;
  EXPECT_EQ(p.length, 16u + 18u);
  EXPECT_EQ(p.header.version, 2);
  EXPECT_EQ(p.header.source, ip("198.18.0.1"));
  EXPECT_EQ(p.header.sourcePort, 56324);
  EXPECT_EQ(p.header.destinationPort, 443);
  ASSERT_EQ(p.header.tlvs.size(), 1u);
  EXPECT_EQ(p.header.tlvs[0], std::make_pair(uint8_t{4}, std::string("abc")));
  EXPECT_TRUE(parseProxyHeader(v2("", 0x20, 0x00)).header.local);
  // Every prefix of a valid header waits for more.
  std::string whole = v2(addr4);
  for (size_t cut = 0; cut < whole.size(); ++cut)
    EXPECT_EQ(parseProxyHeader(whole.substr(0, cut)).status, Status::Incomplete) << cut;
  EXPECT_EQ(parseProxyHeader(v2(addr4, 0x11)).status, Status::Invalid) << "version 1";
  EXPECT_EQ(parseProxyHeader(v2(addr4, 0x22)).status, Status::Invalid) << "command 2";
  EXPECT_EQ(parseProxyHeader(v2(addr4.substr(0, 8))).status, Status::Invalid) << "short";
  EXPECT_EQ(parseProxyHeader(v2(addr4, 0x21, 0x12)).status, Status::Invalid) << "UDP";
  EXPECT_EQ(parseProxyHeader(v2(addr4 + std::string("\x04\x00\x09"
                                                    "abc",
                                                    6)))
                .status,
            Status::Invalid)
      << "a TLV longer than the header";
}

TEST(ProxyProtocolTest, WhatWeSendParsesBackToTheSameAddresses) {
  for (auto [src, dst] : {std::pair{"198.18.0.1", "198.18.0.2"}, {"2001:2::1", "2001:2::2"}}) {
    for (const std::string& h :
         {encodeProxyV1(ip(src), 1234, ip(dst), 80), encodeProxyV2(ip(src), 1234, ip(dst), 80)}) {
      auto p = parseProxyHeader(h);
      ASSERT_EQ(p.status, Status::Ok) << p.error;
      EXPECT_EQ(p.length, h.size());
      EXPECT_EQ(p.header.source, ip(src));
      EXPECT_EQ(p.header.destination, ip(dst));
      EXPECT_EQ(p.header.sourcePort, 1234);
      EXPECT_EQ(p.header.destinationPort, 80);
    }
  }
  EXPECT_EQ(encodeProxyV1(ip("198.18.0.1"), 1, ip("2001:2::1"), 2), "PROXY UNKNOWN\r\n");
  EXPECT_TRUE(
      parseProxyHeader(encodeProxyV2(ip("198.18.0.1"), 1, ip("2001:2::1"), 2)).header.local);
  EXPECT_EQ(encodeProxyV1(ip("198.18.0.1"), 56324, ip("198.18.0.2"), 443),
            "PROXY TCP4 198.18.0.1 198.18.0.2 56324 443\r\n");
}

}  // namespace
}  // namespace tandem::proxy
