#include "appliance/config/diagnostics.h"

#include <algorithm>

namespace tandem::appliance {

std::string Diagnostic::format() const {
  std::string out = location.file;
  if (location.line > 0) {
    out += ":" + std::to_string(location.line) + ":" + std::to_string(location.column);
  }
  out += severity == Severity::Error ? ": error: " : ": warning: ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

void Diagnostics::error(Location loc, std::string path, std::string message) {
  items_.push_back({Severity::Error, std::move(loc), std::move(path), std::move(message)});
}

void Diagnostics::warning(Location loc, std::string path, std::string message) {
  items_.push_back({Severity::Warning, std::move(loc), std::move(path), std::move(message)});
}

size_t Diagnostics::errorCount() const {
  return std::count_if(items_.begin(), items_.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

std::vector<Diagnostic> Diagnostics::sorted() const {
  std::vector<Diagnostic> out = items_;
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.location.file != b.location.file) return a.location.file < b.location.file;
    if (a.location.line != b.location.line) return a.location.line < b.location.line;
    return a.location.column < b.location.column;
  });
  return out;
}

}  // namespace tandem::appliance
