// A small reader of one HTTP/1 response, for the clients Tandem itself is — health checks, the
// supervisor's liveness probe, failover drills — which ask one question and read one answer.
// (The proxy's own data path streams messages through llhttp: proxy/http_parser.h.)
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tandem::http {

// The status of the "HTTP/1.x NNN" line `raw` starts with; nullopt while fewer than 12 bytes
// are there or when they are not an HTTP/1 status line.
std::optional<int> responseStatus(std::string_view raw);
// Whether `raw` holds a whole response: a bodiless status (1xx, 204, 304), a Content-Length
// body or a chunked body up to its last chunk. A body that only the close ends never is.
bool responseComplete(std::string_view raw);
// The body after the head (npos-safe: empty when the head is not complete), de-chunked when
// the response is chunked.
std::string responseBody(std::string_view raw);

}  // namespace tandem::http
