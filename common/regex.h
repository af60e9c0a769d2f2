// PCRE2 regular expressions for ACLs (`path_reg`, `hdr_reg`) and checks (`rstring`).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct pcre2_real_code_8;

namespace tandem {

class Regex {
 public:
  // Compiles with JIT when available. On failure returns nullopt and sets *error to PCRE2's
  // message with the offset of the offending character, e.g. "missing closing parenthesis at
  // offset 4".
  static std::optional<Regex> compile(std::string_view pattern, bool caseless, std::string* error);

  // True when the pattern matches anywhere in `subject` (unanchored search).
  bool search(std::string_view subject) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct CodeFree {
    void operator()(pcre2_real_code_8* code) const;
  };
  Regex(std::string pattern, std::shared_ptr<pcre2_real_code_8> code)
      : pattern_(std::move(pattern)), code_(std::move(code)) {}

  std::string pattern_;
  std::shared_ptr<pcre2_real_code_8> code_;  // shared: compiled code is immutable and copyable
};

}  // namespace tandem
