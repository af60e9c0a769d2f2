// Prometheus text exposition format 0.0.4, as the stats frontend writes it.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace tandem::proxy {

// Prometheus text format 0.0.4: one family at a time, HELP and TYPE first.
class Exposition {
 public:
  Exposition() { o_.precision(15); }  // Unix times in seconds keep their milliseconds
  void family(const char* name, const char* type, const char* help) {
    name_ = name;
    o_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  // One sample of the current family; `labels` is `k="v",...` (escaped), `suffix` for
  // histogram series (_bucket, _sum, _count).
  template <typename V>
  void sample(const std::string& labels, V value, const char* suffix = "") {
    o_ << name_ << suffix;
    if (!labels.empty()) o_ << "{" << labels << "}";
    o_ << " " << value << "\n";
  }
  std::string str() const { return o_.str(); }

 private:
  std::ostringstream o_;
  const char* name_ = "";
};

inline std::string label(const char* key, std::string_view value) {
  // Label values escape backslash, double quote and newline.
  std::string out = std::string(key) + "=\"";
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out + "\"";
}

}  // namespace tandem::proxy
