#include "common/address.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <cstring>

namespace tandem {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  IpAddress ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET;
    return ip;
  }
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET6;
    return ip;
  }
  return std::nullopt;
}

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, bytes.data(), buf, sizeof(buf));
  return buf;
}

bool IpAddress::isUnspecified() const {
  size_t n = family == AF_INET ? 4 : 16;
  for (size_t i = 0; i < n; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* error) {
  size_t slash = text.find('/');
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) {
    if (error) *error = "expected an IPv4 or IPv6 address or network (e.g. 198.18.0.0/15)";
    return std::nullopt;
  }
  int maxLen = ip->family == AF_INET ? 32 : 128;
  Cidr c{*ip, maxLen};
  if (slash != std::string_view::npos) {
    std::string_view len = text.substr(slash + 1);
    int v = -1;
    auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
    if (len.empty() || ec != std::errc() || p != len.data() + len.size() || v < 0 || v > maxLen) {
      if (error) *error = "prefix length must be 0-" + std::to_string(maxLen);
      return std::nullopt;
    }
    c.prefixLength = v;
  }
  // Host bits set ("198.18.0.1/15") is almost always a typo for the network: reject it.
  for (int bit = c.prefixLength; bit < maxLen; ++bit) {
    if (c.network.bytes[bit / 8] & (0x80 >> (bit % 8))) {
      if (error)
        *error = "host bits set in network address (did you mean a /" + std::to_string(maxLen) +
                 " or the network address?)";
      return std::nullopt;
    }
  }
  return c;
}

bool Cidr::contains(const IpAddress& ip) const {
  if (ip.family != network.family) return false;
  int full = prefixLength / 8;
  if (std::memcmp(ip.bytes.data(), network.bytes.data(), full) != 0) return false;
  int rem = prefixLength % 8;
  if (rem == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rem));
  return (ip.bytes[full] & mask) == (network.bytes[full] & mask);
}

std::string Cidr::toString() const {
  return network.toString() + "/" + std::to_string(prefixLength);
}

namespace {
bool validHostname(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  size_t labelLen = 0;
  for (char c : h) {
    if (c == '.') {
      if (labelLen == 0) return false;
      labelLen = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
      if (++labelLen > 63) return false;
    } else {
      return false;
    }
  }
  return labelLen > 0;
}
}  // namespace

std::optional<Endpoint> Endpoint::parse(std::string_view text, bool portRequired,
                                        std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Endpoint> {
    if (error) *error = why;
    return std::nullopt;
  };
  Endpoint ep;
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return fail("missing ']' after IPv6 address");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail("expected ':port' after ']'");
      port = rest.substr(1);
    }
    auto ip = IpAddress::parse(host);
    if (!ip || ip->family != AF_INET6)
      return fail("'" + std::string(host) + "' is not an IPv6 address");
    ep.ip = ip;
  } else {
    size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon)
      return fail("IPv6 addresses need brackets, e.g. [2001:db8::1]:443");
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) port = text.substr(colon + 1);
    if (host.empty() || host == "*") {
      host = "";
      ep.ip = IpAddress{};  // 0.0.0.0
    } else if (auto ip = IpAddress::parse(host)) {
      ep.ip = ip;
    } else if (!validHostname(host)) {
      return fail("'" + std::string(host) + "' is neither an IP address nor a host name");
    }
  }
  ep.host = std::string(host);
  if (port.empty()) {
    if (portRequired) return fail("expected address:port (port 1-65535), e.g. 198.18.0.10:80");
  } else {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v < 1 || v > 65535)
      return fail("port must be 1-65535, got '" + std::string(port) + "'");
    ep.port = static_cast<uint16_t>(v);
  }
  return ep;
}

std::string Endpoint::toString() const {
  std::string h = host.empty() ? "*" : host;
  if (ip && ip->family == AF_INET6) h = "[" + h + "]";
  return port ? h + ":" + std::to_string(port) : h;
}

bool Endpoint::toSockaddr(sockaddr_storage* out, socklen_t* len) const {
  if (!ip) return false;
  std::memset(out, 0, sizeof(*out));
  if (ip->family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, ip->bytes.data(), 4);
    *len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, ip->bytes.data(), 16);
    *len = sizeof(sockaddr_in6);
  }
  return true;
}

}  // namespace tandem
