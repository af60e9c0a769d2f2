#include "appliance/config/condition_parser.h"

#include <gtest/gtest.h>

namespace tandem::appliance {
namespace {

using proxy::Condition;

// Renders a condition in fully parenthesised prefix form for comparison.
std::string render(const Condition& c) {
  switch (c.op) {
    case Condition::Op::Acl:
      return c.acl;
    case Condition::Op::Not:
      return "!" + render(c.operands[0]);
    default: {
      std::string s = c.op == Condition::Op::And ? "(and" : "(or";
      for (const auto& o : c.operands) s += " " + render(o);
      return s + ")";
    }
  }
}

std::string parse(const std::string& text) {
  ConditionError err;
  auto c = parseCondition(text, &err);
  return c ? render(*c) : "error@" + std::to_string(err.offset) + ": " + err.message;
}

TEST(ConditionParser, Words) {
  EXPECT_EQ(parse("a and not b or c"), "(or (and a !b) c)");
}
TEST(ConditionParser, HAProxySymbols) {
  EXPECT_EQ(parse("a !b || c"), "(or (and a !b) c)");
}
TEST(ConditionParser, ImplicitAndBindsTighterThanOr) {
  EXPECT_EQ(parse("is_post is_api or x"), "(or (and is_post is_api) x)");
}
TEST(ConditionParser, Parentheses) {
  EXPECT_EQ(parse("a and (b or c)"), "(and a (or b c))");
}
TEST(ConditionParser, SingleName) {
  EXPECT_EQ(parse("ssl_fc"), "ssl_fc");
}
TEST(ConditionParser, DoubleNegation) {
  EXPECT_EQ(parse("not !a"), "!!a");
}
TEST(ConditionParser, ErrorsCarryOffsets) {
  EXPECT_EQ(parse("a and"),
            "error@5: expected an ACL name, 'not' or '(' but found 'end of expression'");
  EXPECT_EQ(parse("(a or b"), "error@7: missing ')' for '(' at offset 0");
  EXPECT_EQ(parse("a ) b"), "error@2: unexpected ')'");
  EXPECT_EQ(parse("a $ b"), "error@2: unexpected character '$'");
  EXPECT_EQ(parse(""), "error@0: expected an ACL name, 'not' or '(' but found 'end of expression'");
}
TEST(ConditionParser, CollectsNames) {
  ConditionError err;
  auto c = parseCondition("a and (not b or c)", &err);
  ASSERT_TRUE(c);
  std::vector<std::string> names;
  collectAclNames(*c, &names);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
}  // namespace tandem::appliance
