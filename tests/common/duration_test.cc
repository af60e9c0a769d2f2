#include "common/duration.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

using namespace std::chrono_literals;

std::optional<Duration> ms(const char* s) {
  return parseDuration(s, DefaultUnit::Milliseconds, nullptr);
}
std::optional<Duration> sec(const char* s) {
  return parseDuration(s, DefaultUnit::Seconds, nullptr);
}

TEST(Duration, Units) {
  EXPECT_EQ(ms("100us"), Duration(100));
  EXPECT_EQ(ms("500ms"), 500ms);
  EXPECT_EQ(ms("5s"), 5s);
  EXPECT_EQ(ms("3m"), 3min);
  EXPECT_EQ(ms("1h"), 1h);
  EXPECT_EQ(ms("2d"), 48h);
}
TEST(Duration, BareNumberUsesTheDefaultUnit) {
  EXPECT_EQ(ms("5000"), 5s);
  EXPECT_EQ(sec("2"), 2s);
}
TEST(Duration, Fractions) {
  EXPECT_EQ(ms("1.5s"), 1500ms);
  EXPECT_EQ(sec("0.1"), 100ms);
  EXPECT_EQ(ms("40.95s"), 40950ms);
}
TEST(Duration, Rejects) {
  std::string why;
  for (const char* bad : {"", "s", "5x", "-1", "1..2s", ".5s", "5 s", "5S", "1e3"}) {
    EXPECT_FALSE(parseDuration(bad, DefaultUnit::Milliseconds, &why)) << bad;
  }
  EXPECT_NE(why.find("expected a duration"), std::string::npos);
  EXPECT_FALSE(ms("99999999999999999999s"));
}
TEST(Duration, Formats) {
  EXPECT_EQ(formatDuration(1500ms), "1500ms");
  EXPECT_EQ(formatDuration(120s), "2m");
  EXPECT_EQ(formatDuration(Duration(7)), "7us");
  EXPECT_EQ(formatDuration(Duration(0)), "0us");
}
TEST(Size, Parses) {
  EXPECT_EQ(parseSize("16384", nullptr), 16384u);
  EXPECT_EQ(parseSize("16k", nullptr), 16384u);
  EXPECT_EQ(parseSize("1m", nullptr), 1048576u);
  EXPECT_EQ(parseSize("2G", nullptr), 2147483648u);
  EXPECT_FALSE(parseSize("k", nullptr));
  EXPECT_FALSE(parseSize("12kb", nullptr));
  EXPECT_FALSE(parseSize("-1", nullptr));
}

}  // namespace
}  // namespace tandem
