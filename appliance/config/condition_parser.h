// Parses `if:`/`unless:` expressions over ACL names into proxy::Condition.
// Grammar (HAProxy's implicit AND and `!`/`||` are accepted beside the words):
//   expr   := term (("or" | "||") term)*
//   term   := factor (("and" | "&&")? factor)*
//   factor := ("not" | "!") factor | "(" expr ")" | ACL_NAME
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config.h"

namespace tandem::appliance {

struct ConditionError {
  std::string message;
  size_t offset = 0;  // byte offset in the expression
};

std::optional<proxy::Condition> parseCondition(std::string_view text, ConditionError* error);

// Every ACL name the condition refers to, in order of appearance.
void collectAclNames(const proxy::Condition& c, std::vector<std::string>* out);

}  // namespace tandem::appliance
