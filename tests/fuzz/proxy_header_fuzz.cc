// libFuzzer target: PROXY protocol header parsing (v1 and v2) on any bytes. Properties: the
// parser never reads past the exact-size buffer; a header it accepts fits in what it was
// given; every prefix of an accepted header is Incomplete, never Invalid (the listener peeks
// and waits on prefixes); a PROXY header it accepts re-encodes to one that parses to the same
// addresses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "proxy/proxy_protocol.h"

using namespace tandem::proxy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);  // exact size for ASan
  ProxyHeaderParse p = parseProxyHeader(bytes);
  if (p.status != ProxyHeaderParse::Status::Ok) return 0;
  if (p.length == 0 || p.length > size) std::abort();
  for (size_t cut = 0; cut < p.length; ++cut)
    if (parseProxyHeader(std::string_view(bytes).substr(0, cut)).status ==
        ProxyHeaderParse::Status::Invalid)
      std::abort();
  const ProxyHeader& h = p.header;
  if (h.local) return 0;
  for (const std::string& again :
       {encodeProxyV1(h.source, h.sourcePort, h.destination, h.destinationPort),
        encodeProxyV2(h.source, h.sourcePort, h.destination, h.destinationPort)}) {
    ProxyHeaderParse q = parseProxyHeader(again);
    if (q.status != ProxyHeaderParse::Status::Ok || q.length != again.size() ||
        !(q.header.source == h.source) || !(q.header.destination == h.destination) ||
        q.header.sourcePort != h.sourcePort || q.header.destinationPort != h.destinationPort)
      std::abort();
  }
  return 0;
}
