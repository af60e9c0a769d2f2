// libFuzzer target for the HTTP/1 parser: requests and responses fed in arbitrary pieces (the
// first input byte picks the split), the way bytes arrive from a socket. Spans must stay inside
// the input and parsing must never crash or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "proxy/http_parser.h"

using tandem::proxy::HttpParser;
using tandem::proxy::ParseEvent;

namespace {

void run(HttpParser::Kind kind, const char* data, size_t size, size_t step) {
  HttpParser p(kind);
  std::vector<char> buf(data, data + size);  // exact-size copy: ASan catches any overread
  size_t pos = 0;
  size_t fed = 0;
  while (pos < size) {
    fed = std::min(size, fed + step);
    while (pos < fed) {
      size_t consumed = 0;
      ParseEvent ev = p.execute(buf.data(), buf.data() + pos, fed - pos, &consumed);
      pos += consumed;
      if (ev == ParseEvent::Error) return;
      if (ev == ParseEvent::HeadComplete) {
        for (const auto& h : p.head().headers) {
          if (h.name.offset + h.name.length > size || h.value.offset + h.value.length > size)
            __builtin_trap();
        }
      }
      if (ev == ParseEvent::MessageComplete) p.reset();
      if (ev == ParseEvent::NeedMore) break;
    }
  }
  p.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t step = 1 + (data[0] % 64);
  bool response = data[1] & 1;
  run(response ? HttpParser::Kind::Response : HttpParser::Kind::Request,
      reinterpret_cast<const char*>(data + 2), size - 2, step);
  return 0;
}
