// IP addresses, CIDR blocks and "host:port" endpoints as written in configs.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem {

struct IpAddress {
  int family = AF_INET;             // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4 bytes

  static std::optional<IpAddress> parse(std::string_view text);
  std::string toString() const;
  bool isUnspecified() const;
  bool operator==(const IpAddress&) const = default;
};

// A network such as 198.18.0.0/15; a bare address is a /32 (or /128).
struct Cidr {
  IpAddress network;
  int prefixLength = 32;

  static std::optional<Cidr> parse(std::string_view text, std::string* error);
  bool contains(const IpAddress& ip) const;
  std::string toString() const;
  bool operator==(const Cidr&) const = default;
};

// An endpoint "host:port": "198.18.0.1:80", "[::1]:443", "*:80" / ":80" (IPv4 wildcard),
// "[::]:80" (IPv6 wildcard), or "db1.example:3306" (name resolved when the proxy starts).
struct Endpoint {
  std::string host;             // as written, without brackets; "" for the wildcard
  std::optional<IpAddress> ip;  // set when host is a literal (or the wildcard)
  uint16_t port = 0;

  static std::optional<Endpoint> parse(std::string_view text, bool portRequired,
                                       std::string* error);
  std::string toString() const;
  // Fills a sockaddr for a literal address; false for names.
  bool toSockaddr(sockaddr_storage* out, socklen_t* len) const;
  bool operator==(const Endpoint&) const = default;
};

}  // namespace tandem
