#include "vrrp/timers.h"

#include <gtest/gtest.h>

namespace tandem::vrrp {
namespace {

using namespace std::chrono_literals;

// Figures from RFC 5798 §6.1 arithmetic (and the table in the field notes).
TEST(Timers, SkewTimeV3) {
  EXPECT_EQ(skewTimeV3(100, 1s), Micros(609375));  // (256-100)/256 s
  EXPECT_EQ(skewTimeV3(254, 10ms), Micros(78));    // 2/256 of 10 ms
}
TEST(Timers, SkewTimeV2IsIndependentOfTheInterval) {
  EXPECT_EQ(skewTimeV2(100), Micros(609375));
  EXPECT_EQ(skewTimeV2(255), Micros(3906));
}
TEST(Timers, MasterDownInterval) {
  EXPECT_EQ(masterDownInterval(3, 100, 1s), Micros(3609375));    // 3.61 s
  EXPECT_EQ(masterDownInterval(3, 100, 100ms), Micros(360937));  // 0.361 s
  EXPECT_EQ(masterDownInterval(3, 254, 10ms), Micros(30078));    // 30.1 ms
  EXPECT_EQ(masterDownInterval(2, 100, 1s), Micros(3609375));
}

}  // namespace
}  // namespace tandem::vrrp
