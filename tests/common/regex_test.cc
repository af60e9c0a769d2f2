#include "common/regex.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(Regex, SearchesUnanchored) {
  auto re = Regex::compile("^/api/v[2-9]/", false, nullptr);
  ASSERT_TRUE(re);
  EXPECT_TRUE(re->search("/api/v2/users"));
  EXPECT_FALSE(re->search("/api/v1/users"));
  auto body = Regex::compile("\"status\":\\s*\"ok\"", false, nullptr);
  ASSERT_TRUE(body);
  EXPECT_TRUE(body->search("{\"a\":1, \"status\": \"ok\"}"));
}

TEST(Regex, Caseless) {
  auto re = Regex::compile("mobile", true, nullptr);
  ASSERT_TRUE(re);
  EXPECT_TRUE(re->search("Mozilla (Mobile)"));
}

TEST(Regex, CopiesShareCompiledCode) {
  auto re = Regex::compile("a+b", false, nullptr);
  ASSERT_TRUE(re);
  Regex copy = *re;
  EXPECT_TRUE(copy.search("xaab"));
  EXPECT_EQ(copy.pattern(), "a+b");
}

TEST(Regex, ReportsPcre2MessageAndOffset) {
  std::string why;
  EXPECT_FALSE(Regex::compile("(abc", false, &why));
  EXPECT_EQ(why, "missing closing parenthesis at offset 4");
  EXPECT_FALSE(Regex::compile("a{2,1}", false, &why));
  EXPECT_NE(why.find("offset"), std::string::npos);
}

}  // namespace
}  // namespace tandem
