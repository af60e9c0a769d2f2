#include "common/http_response.h"

#include <cctype>
#include <cstdlib>

namespace tandem::http {
namespace {

bool startsWithName(std::string_view line, std::string_view lowerName) {
  if (line.size() < lowerName.size()) return false;
  for (size_t i = 0; i < lowerName.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) != lowerName[i]) return false;
  return true;
}

struct Framing {
  size_t headEnd = std::string_view::npos;  // offset of the blank line's "\r\n\r\n"
  bool chunked = false;
  std::optional<size_t> contentLength;
};

Framing framing(std::string_view raw) {
  Framing f;
  f.headEnd = raw.find("\r\n\r\n");
  if (f.headEnd == std::string_view::npos) return f;
  std::string_view head = raw.substr(0, f.headEnd);
  for (size_t pos = head.find("\r\n"); pos != std::string_view::npos;) {
    size_t next = head.find("\r\n", pos + 2);
    std::string_view line =
        head.substr(pos + 2, next == std::string_view::npos ? head.npos : next - pos - 2);
    if (startsWithName(line, "content-length:"))
      f.contentLength = std::strtoul(std::string(line.substr(15)).c_str(), nullptr, 10);
    else if (startsWithName(line, "transfer-encoding:") &&
             line.find("chunked") != std::string_view::npos)
      f.chunked = true;
    pos = next;
  }
  return f;
}

std::string dechunk(std::string_view body) {
  std::string out;
  while (!body.empty()) {
    size_t eol = body.find("\r\n");
    if (eol == std::string_view::npos) break;
    size_t n = std::strtoul(std::string(body.substr(0, eol)).c_str(), nullptr, 16);
    if (n == 0) break;
    body.remove_prefix(eol + 2);
    out.append(body.substr(0, n));
    if (body.size() < n + 2) break;
    body.remove_prefix(n + 2);
  }
  return out;
}

}  // namespace

std::optional<int> responseStatus(std::string_view raw) {
  if (raw.size() < 12 || raw.compare(0, 7, "HTTP/1.") != 0 || raw[8] != ' ') return std::nullopt;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(raw[i]))) return std::nullopt;
    status = status * 10 + (raw[i] - '0');
  }
  if (status < 100 || status > 599) return std::nullopt;
  return status;
}

bool responseComplete(std::string_view raw) {
  Framing f = framing(raw);
  if (f.headEnd == std::string_view::npos) return false;
  int status = responseStatus(raw).value_or(0);
  if ((status >= 100 && status < 200) || status == 204 || status == 304) return true;
  size_t bodyStart = f.headEnd + 4;
  if (f.chunked)
    return raw.find("\r\n0\r\n\r\n", f.headEnd) != std::string_view::npos ||
           raw.compare(bodyStart, 5, "0\r\n\r\n") == 0;
  if (f.contentLength) return raw.size() >= bodyStart + *f.contentLength;
  return false;  // delimited by the close
}

std::string responseBody(std::string_view raw) {
  Framing f = framing(raw);
  if (f.headEnd == std::string_view::npos) return {};
  std::string_view body = raw.substr(f.headEnd + 4);
  return f.chunked ? dechunk(body) : std::string(body);
}

}  // namespace tandem::http
