#define PCRE2_CODE_UNIT_WIDTH 8
#include "common/regex.h"

#include <pcre2.h>

namespace tandem {
namespace {

struct MatchDataFree {
  void operator()(pcre2_match_data* md) const { pcre2_match_data_free(md); }
};

// Match data is scratch space; one per thread keeps search() lock-free and allocation-free.
pcre2_match_data* threadMatchData() {
  thread_local std::unique_ptr<pcre2_match_data, MatchDataFree> md(
      pcre2_match_data_create(1, nullptr));
  return md.get();
}

}  // namespace

void Regex::CodeFree::operator()(pcre2_real_code_8* code) const {
  pcre2_code_free(code);
}

std::optional<Regex> Regex::compile(std::string_view pattern, bool caseless, std::string* error) {
  int errcode = 0;
  PCRE2_SIZE erroffset = 0;
  uint32_t options = PCRE2_UTF | (caseless ? PCRE2_CASELESS : 0);
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &errcode, &erroffset, nullptr);
  if (!code) {
    if (error) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(errcode, msg, sizeof(msg));
      *error =
          std::string(reinterpret_cast<char*>(msg)) + " at offset " + std::to_string(erroffset);
    }
    return std::nullopt;
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // best effort: falls back to the interpreter
  return Regex(std::string(pattern), std::shared_ptr<pcre2_real_code_8>(code, CodeFree{}));
}

bool Regex::search(std::string_view subject) const {
  int rc = pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
                       0, threadMatchData(), nullptr);
  return rc >= 0;
}

}  // namespace tandem
