#include "proxy/proxy_protocol.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace tandem::proxy {
namespace {

constexpr char kV2Signature[12] = {'\r', '\n', '\r', '\n', '\0', '\r',
                                   '\n', 'Q',  'U',  'I',  'T',  '\n'};
constexpr std::string_view kV1Prefix = "PROXY ";

ProxyHeaderParse invalid(std::string why) {
  ProxyHeaderParse p;
  p.status = ProxyHeaderParse::Status::Invalid;
  p.error = std::move(why);
  return p;
}

// A v1 address of the family the line names: dotted quad for TCP4, RFC 4291 text for TCP6.
bool parseV1Address(std::string_view text, int family, IpAddress* out) {
  if (text.empty() || text.size() > 45) return false;
  std::string s(text);
  IpAddress a;
  a.family = family;
  if (::inet_pton(family, s.c_str(), a.bytes.data()) != 1) return false;
  *out = a;
  return true;
}

bool parseV1Port(std::string_view text, uint16_t* out) {
  // Decimal, no sign, no leading zero (section 2.1), 0..65535.
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v > 65535) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

ProxyHeaderParse parseV1(std::string_view bytes) {
  size_t crlf = bytes.find("\r\n");
  if (crlf == std::string_view::npos) {
    if (bytes.size() >= kProxyV1MaxLength) return invalid("PROXY v1 line longer than 107 bytes");
    if (bytes.find('\n') != std::string_view::npos || bytes.find('\0') != std::string_view::npos)
      return invalid("PROXY v1 line not ended by CRLF");
    ProxyHeaderParse p;  // more bytes may come
    return p;
  }
  if (crlf + 2 > kProxyV1MaxLength) return invalid("PROXY v1 line longer than 107 bytes");
  std::string_view whole = bytes.substr(0, crlf);
  if (whole.find('\n') != std::string_view::npos || whole.find('\0') != std::string_view::npos)
    return invalid("PROXY v1 line not ended by CRLF");
  std::string_view line = bytes.substr(kV1Prefix.size(), crlf - kV1Prefix.size());
  std::vector<std::string_view> f;
  size_t start = 0;
  for (;;) {
    size_t sp = line.find(' ', start);
    f.push_back(line.substr(start, sp == std::string_view::npos ? sp : sp - start));
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }
  ProxyHeaderParse p;
  p.header.version = 1;
  if (!f.empty() && f[0] == "UNKNOWN") {
    // "the receiver must ignore anything presented before the CRLF" (section 2.1).
    p.status = ProxyHeaderParse::Status::Ok;
    p.length = crlf + 2;
    p.header.local = true;
    return p;
  }
  if (f.size() != 5) return invalid("PROXY v1 line does not have 5 fields");
  int family = f[0] == "TCP4" ? AF_INET : f[0] == "TCP6" ? AF_INET6 : 0;
  if (!family) return invalid("PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN");
  if (!parseV1Address(f[1], family, &p.header.source) ||
      !parseV1Address(f[2], family, &p.header.destination))
    return invalid("PROXY v1 address is not a " + std::string(f[0]) + " address");
  if (!parseV1Port(f[3], &p.header.sourcePort) || !parseV1Port(f[4], &p.header.destinationPort))
    return invalid("PROXY v1 port is not a number from 0 to 65535");
  p.status = ProxyHeaderParse::Status::Ok;
  p.length = crlf + 2;
  return p;
}

uint16_t readBe16(const unsigned char* b) {
  return static_cast<uint16_t>(b[0] << 8 | b[1]);
}

ProxyHeaderParse parseV2(std::string_view bytes) {
  ProxyHeaderParse p;
  if (bytes.size() < 16) return p;
  auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if ((b[12] & 0xF0) != 0x20) return invalid("PROXY v2 version is not 2");
  int command = b[12] & 0x0F;
  if (command > 1) return invalid("PROXY v2 command is neither LOCAL nor PROXY");
  size_t length = readBe16(b + 14);
  if (bytes.size() < 16 + length) return p;
  p.header.version = 2;
  p.length = 16 + length;
  const unsigned char* body = b + 16;
  size_t used = 0;
  int family = b[13] >> 4, transport = b[13] & 0x0F;
  if (command == 0) {
    p.header.local = true;  // LOCAL: the addresses (if any) are to be ignored
  } else if (family == 0x1 || family == 0x2) {
    if (transport != 0x1) return invalid("PROXY v2 transport is not STREAM (TCP)");
    size_t a = family == 0x1 ? 4 : 16;
    used = 2 * a + 4;
    if (length < used) return invalid("PROXY v2 address block shorter than its family needs");
    p.header.source.family = p.header.destination.family = family == 0x1 ? AF_INET : AF_INET6;
    std::memcpy(p.header.source.bytes.data(), body, a);
    std::memcpy(p.header.destination.bytes.data(), body + a, a);
    p.header.sourcePort = readBe16(body + 2 * a);
    p.header.destinationPort = readBe16(body + 2 * a + 2);
  } else if (family == 0x0) {
    p.header.local = true;  // UNSPEC: unknown addresses, the connection's own stand
  } else {
    return invalid("PROXY v2 address family is not INET or INET6");
  }
  // TLVs after the addresses (section 2.2.7): each must fit what is left.
  size_t at = used;
  while (at < length) {
    if (length - at < 3) return invalid("PROXY v2 TLV header cut short");
    uint8_t type = body[at];
    size_t len = readBe16(body + at + 1);
    if (length - at - 3 < len) return invalid("PROXY v2 TLV longer than the header");
    p.header.tlvs.emplace_back(type,
                               std::string(reinterpret_cast<const char*>(body + at + 3), len));
    at += 3 + len;
  }
  p.status = ProxyHeaderParse::Status::Ok;
  return p;
}

void appendBe16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xFF);
}

}  // namespace

ProxyHeaderParse parseProxyHeader(std::string_view bytes) {
  // Decide on as few bytes as possible: each prefix byte that matches neither form refuses.
  size_t n = std::min(bytes.size(), sizeof(kV2Signature));
  if (n > 0 && std::memcmp(bytes.data(), kV2Signature, n) == 0) {
    if (bytes.size() < sizeof(kV2Signature)) return ProxyHeaderParse{};
    return parseV2(bytes);
  }
  n = std::min(bytes.size(), kV1Prefix.size());
  if (bytes.substr(0, n) == kV1Prefix.substr(0, n)) {
    if (bytes.size() < kV1Prefix.size()) return ProxyHeaderParse{};
    return parseV1(bytes);
  }
  return invalid("no PROXY protocol header");
}

std::string encodeProxyV1(const IpAddress& source, uint16_t sourcePort,
                          const IpAddress& destination, uint16_t destinationPort) {
  if (source.family != destination.family) return "PROXY UNKNOWN\r\n";
  return std::string("PROXY ") + (source.family == AF_INET ? "TCP4 " : "TCP6 ") +
         source.toString() + " " + destination.toString() + " " + std::to_string(sourcePort) + " " +
         std::to_string(destinationPort) + "\r\n";
}

std::string encodeProxyV2(const IpAddress& source, uint16_t sourcePort,
                          const IpAddress& destination, uint16_t destinationPort) {
  if (source.family != destination.family) return encodeProxyV2Local();
  std::string out(kV2Signature, sizeof(kV2Signature));
  bool v4 = source.family == AF_INET;
  size_t a = v4 ? 4 : 16;
  out += static_cast<char>(0x21);              // version 2, PROXY
  out += static_cast<char>(v4 ? 0x11 : 0x21);  // INET/INET6 over STREAM
  appendBe16(out, static_cast<uint16_t>(2 * a + 4));
  out.append(reinterpret_cast<const char*>(source.bytes.data()), a);
  out.append(reinterpret_cast<const char*>(destination.bytes.data()), a);
  appendBe16(out, sourcePort);
  appendBe16(out, destinationPort);
  return out;
}

std::string encodeProxyV2Local() {
  std::string out(kV2Signature, sizeof(kV2Signature));
  out += static_cast<char>(0x20);  // version 2, LOCAL
  out += static_cast<char>(0x00);  // UNSPEC
  appendBe16(out, 0);
  return out;
}

}  // namespace tandem::proxy
