// Errors and warnings found while loading a configuration, each with file:line:column and
// the key path (`backends.web.servers[1].weight`), formatted the way compilers print them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace tandem::appliance {

struct Location {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
};

enum class Severity { Error, Warning };

struct Diagnostic {
  Severity severity = Severity::Error;
  Location location;
  std::string path;     // key path, empty for file-level problems
  std::string message;  // what is wrong and what is expected

  // "tandem.yaml:12:7: error: backends.web.servers[1].weight: expected ... "
  std::string format() const;
};

class Diagnostics {
 public:
  void error(Location loc, std::string path, std::string message);
  void warning(Location loc, std::string path, std::string message);

  const std::vector<Diagnostic>& all() const { return items_; }
  size_t errorCount() const;
  size_t warningCount() const { return items_.size() - errorCount(); }
  // Sorted by file position so the output reads top to bottom.
  std::vector<Diagnostic> sorted() const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace tandem::appliance
