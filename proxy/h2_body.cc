#include "proxy/h2_body.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>

#include "proxy/http_parser.h"

namespace tandem::proxy {

bool h2ConnectionSpecific(std::string_view name) {
  return iequals(name, "connection") || iequals(name, "keep-alive") ||
         iequals(name, "proxy-connection") || iequals(name, "transfer-encoding") ||
         iequals(name, "upgrade");
}

std::string asciiLowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

nghttp2_nv h2Field(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

void H2OutgoingBody::addTrailer(std::string_view name, std::string_view value) {
  if (h2ConnectionSpecific(name) || iequals(name, "te")) return;
  trailers.emplace_back(asciiLowercase(name), value);
}

ssize_t H2OutgoingBody::read(nghttp2_session* session, int32_t streamId, uint8_t* buf,
                             size_t length, uint32_t* flags, bool ended) {
  size_t n = std::min(length, buffered());
  std::memcpy(buf, data.data() + sent, n);
  sent += n;
  if (sent == data.size()) {
    data.clear();
    sent = 0;
  }
  if (buffered() == 0 && ended) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!trailers.empty()) {
      std::vector<nghttp2_nv> nva;
      nva.reserve(trailers.size());
      for (auto& [name, value] : trailers) nva.push_back(h2Field(name, value));
      if (nghttp2_submit_trailer(session, streamId, nva.data(), nva.size()) == 0)
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
  } else if (n == 0) {
    deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(n);
}

}  // namespace tandem::proxy
