// libFuzzer target: the `if:`/`unless:` condition parser on any text. It either parses (and
// every ACL name it collects is non-empty and appears in the text) or fails with an offset
// inside the text; never a crash, a hang or unbounded recursion.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "appliance/config/condition_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  tandem::appliance::ConditionError error;
  auto c = tandem::appliance::parseCondition(text, &error);
  if (!c) {
    if (error.offset > text.size() || error.message.empty()) std::abort();
    return 0;
  }
  std::vector<std::string> names;
  tandem::appliance::collectAclNames(*c, &names);
  for (const auto& n : names)
    if (n.empty() || text.find(n) == std::string::npos) std::abort();
  return 0;
}
