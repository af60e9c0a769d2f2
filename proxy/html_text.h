// Text for HTML pages the proxy writes itself (the stats page).
#pragma once

#include <string>
#include <string_view>

namespace tandem::proxy {

// Escapes the characters that would end a text node or an attribute value.
inline std::string htmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace tandem::proxy
