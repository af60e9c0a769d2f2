// The VRRP history file the agent writes and `tandem status` reads: one line per transition,
// the reason last, the last kTransitionsKept kept.
#include "vrrp/transition_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace tandem::vrrp {
namespace {

TEST(TransitionLogTest, ALineRoundTripsWithSpacesInTheReason) {
  TransitionRecord r{1764644525123, "BACKUP", "MASTER", 150,
                     "no advertisement from a master within Master_Down_Interval"};
  std::string line = formatTransition(r);
  EXPECT_EQ(line.rfind("1764644525123 BACKUP MASTER 150 no advertisement", 0), 0u) << line;
  EXPECT_EQ(parseTransition(line), r);
  EXPECT_FALSE(parseTransition("not a record"));
  EXPECT_FALSE(parseTransition("1 BACKUP MASTER 300 too high a priority"));
  TransitionRecord multiline{1, "MASTER", "FAULT", 0, "two\nlines"};
  EXPECT_EQ(parseTransition(formatTransition(multiline))->reason, "two lines");
}

TEST(TransitionLogTest, TheFileKeepsTheLastTransitionsInOrder) {
  std::string path = "/tmp/tandem-transition-log-" + std::to_string(::getpid());
  std::remove(path.c_str());
  for (int i = 0; i < static_cast<int>(kTransitionsKept) + 5; ++i)
    ASSERT_TRUE(appendTransition(path, {i, "BACKUP", "MASTER", 100, "event " + std::to_string(i)}));
  auto all = readTransitions(path);
  ASSERT_EQ(all.size(), kTransitionsKept);
  EXPECT_EQ(all.front().reason, "event 5");
  EXPECT_EQ(all.back().reason, "event " + std::to_string(kTransitionsKept + 4));
  std::remove(path.c_str());
  EXPECT_TRUE(readTransitions(path).empty()) << "no file: no history";
}

}  // namespace
}  // namespace tandem::vrrp
