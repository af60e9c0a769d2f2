#include "common/address.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(Endpoint, ParsesForms) {
  std::string why;
  auto a = Endpoint::parse("198.18.0.1:80", true, &why);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->port, 80);
  EXPECT_EQ(a->ip->toString(), "198.18.0.1");
  auto w = Endpoint::parse("*:443", true, &why);
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->ip->isUnspecified());
  EXPECT_EQ(w->toString(), "*:443");
  auto w2 = Endpoint::parse(":8080", true, &why);
  ASSERT_TRUE(w2);
  EXPECT_TRUE(w2->ip->isUnspecified());
  auto v6 = Endpoint::parse("[::1]:443", true, &why);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->ip->family, AF_INET6);
  EXPECT_EQ(v6->toString(), "[::1]:443");
  auto name = Endpoint::parse("db1.example:3306", true, &why);
  ASSERT_TRUE(name);
  EXPECT_FALSE(name->ip);
  EXPECT_EQ(name->host, "db1.example");
}

TEST(Endpoint, Rejects) {
  std::string why;
  EXPECT_FALSE(Endpoint::parse("198.18.0.1", true, &why));
  EXPECT_NE(why.find("expected address:port"), std::string::npos);
  EXPECT_FALSE(Endpoint::parse("198.18.0.1:0", true, &why));
  EXPECT_FALSE(Endpoint::parse("198.18.0.1:65536", true, &why));
  EXPECT_FALSE(Endpoint::parse("::1:80", true, &why));
  EXPECT_NE(why.find("brackets"), std::string::npos);
  EXPECT_FALSE(Endpoint::parse("[::1:80", true, &why));
  EXPECT_FALSE(Endpoint::parse("[198.18.0.1]:80", true, &why));
  EXPECT_FALSE(Endpoint::parse("bad host:80", true, &why));
  EXPECT_TRUE(Endpoint::parse("198.18.0.1", false, &why));
}

TEST(Endpoint, ToSockaddr) {
  auto e = Endpoint::parse("127.0.0.1:8080", true, nullptr);
  sockaddr_storage ss;
  socklen_t len = 0;
  ASSERT_TRUE(e->toSockaddr(&ss, &len));
  EXPECT_EQ(len, sizeof(sockaddr_in));
  EXPECT_EQ(reinterpret_cast<sockaddr_in*>(&ss)->sin_port, htons(8080));
}

TEST(Cidr, ContainsAndRejects) {
  std::string why;
  auto c = Cidr::parse("198.18.0.0/15", &why);
  ASSERT_TRUE(c) << why;
  EXPECT_TRUE(c->contains(*IpAddress::parse("198.19.255.255")));
  EXPECT_FALSE(c->contains(*IpAddress::parse("198.20.0.0")));
  EXPECT_FALSE(c->contains(*IpAddress::parse("::1")));
  auto host = Cidr::parse("127.0.0.1", &why);
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefixLength, 32);
  auto v6 = Cidr::parse("2001:db8::/32", &why);
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*IpAddress::parse("2001:db8:1::5")));
  auto all = Cidr::parse("0.0.0.0/0", &why);
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->contains(*IpAddress::parse("203.0.113.9")));
  EXPECT_FALSE(Cidr::parse("198.18.0.1/15", &why));
  EXPECT_NE(why.find("host bits"), std::string::npos);
  EXPECT_FALSE(Cidr::parse("198.18.0.0/33", &why));
  EXPECT_FALSE(Cidr::parse("198.18.0.0/", &why));
  EXPECT_FALSE(Cidr::parse("nope", &why));
}

}  // namespace
}  // namespace tandem
