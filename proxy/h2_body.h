// What both HTTP/2 sides send after a header block: the body an HttpStream wrote (unframed),
// as DATA, then its trailers as a last HEADERS frame (grpc-status). The client side sends a
// response this way, the server side (h2_upstream) a request.
#pragma once

#include <nghttp2/nghttp2.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::proxy {

// RFC 9113 §8.2.2: fields of an HTTP/1.1 connection, not of the message: never in HTTP/2.
bool h2ConnectionSpecific(std::string_view name);
// RFC 9113 §8.2.1: field names are sent in lowercase.
std::string asciiLowercase(std::string_view s);
// A field for nghttp2 (which copies it when the frame is submitted).
nghttp2_nv h2Field(std::string_view name, std::string_view value);

struct H2OutgoingBody {
  std::string data;
  size_t sent = 0;
  std::vector<std::pair<std::string, std::string>> trailers;  // lowercase names
  bool deferred = false;  // the data source waits for bytes (resume it when some come)

  size_t buffered() const { return data.size() - sent; }
  void append(const char* bytes, size_t length) { data.append(bytes, length); }
  // A trailer field as HTTP/1.1 carried it: connection-specific ones and TE are dropped.
  void addTrailer(std::string_view name, std::string_view value);
  // nghttp2's data source read: as much as is buffered; once `ended` and all is out, EOF,
  // with the trailers submitted (END_STREAM then goes on them). NGHTTP2_ERR_DEFERRED while
  // nothing is buffered and more is to come.
  ssize_t read(nghttp2_session* session, int32_t streamId, uint8_t* buf, size_t length,
               uint32_t* flags, bool ended);
};

}  // namespace tandem::proxy
