#include "proxy/sample_fetch.h"

namespace tandem::proxy {
namespace {

const std::string_view kFetches[] = {"ssl_c_used", "ssl_c_verify", "ssl_c_s_dn", "ssl_c_sha256"};

bool known(std::string_view name) {
  for (auto f : kFetches)
    if (f == name) return true;
  return false;
}

std::string fetch(std::string_view name, const PeerCertificate* cert) {
  bool has = cert && cert->presented;
  if (name == "ssl_c_used") return has ? "1" : "0";
  if (!has) return "";
  if (name == "ssl_c_verify") return std::to_string(cert->verifyResult);
  if (name == "ssl_c_s_dn") return cert->subject;
  if (name == "ssl_c_sha256") return cert->sha256;
  return "";
}

}  // namespace

bool fetchesKnown(std::string_view value, std::string* unknown) {
  for (size_t at = value.find("%["); at != std::string_view::npos; at = value.find("%[", at + 2)) {
    size_t end = value.find(']', at);
    std::string_view name =
        value.substr(at + 2, end == std::string_view::npos ? std::string_view::npos : end - at - 2);
    if (end == std::string_view::npos || !known(name)) {
      *unknown = std::string(name);
      return false;
    }
  }
  return true;
}

std::string expandFetches(std::string_view value, const PeerCertificate* cert) {
  std::string out;
  size_t from = 0;
  for (size_t at = value.find("%["); at != std::string_view::npos; at = value.find("%[", from)) {
    size_t end = value.find(']', at);
    if (end == std::string_view::npos) break;  // the loader refuses it; written as it is
    out.append(value.substr(from, at - from));
    for (char c : fetch(value.substr(at + 2, end - at - 2), cert))
      if (c != '\r' && c != '\n' && c != '\0') out += c;
    from = end + 1;
  }
  out.append(value.substr(from));
  return out;
}

}  // namespace tandem::proxy
