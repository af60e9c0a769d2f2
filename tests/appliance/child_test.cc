#include "appliance/supervisor/child.h"

#include <event2/event.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>

#include "common/event.h"

namespace tandem::appliance {
namespace {

// Each inherited descriptor lands on fd 3 + i in the child; the child side has room for eight
// (a fixed array: nothing is allocated between fork and exec). More is refused, not cut short.
TEST(Child, MoreInheritedDescriptorsThanItCanPassAreRefused) {
  EventBasePtr base(event_base_new());
  int exits = 0;
  siginfo_t last{};
  Child child(base.get(), "test child", [&](Child&, const siginfo_t& s) {
    ++exits;
    last = s;
  });
  std::vector<int> fds(9, STDIN_FILENO);
  std::string error;
  EXPECT_FALSE(child.start({"/bin/true"}, fds, &error));
  EXPECT_NE(error.find("9 descriptors to pass, at most 8"), std::string::npos) << error;
  EXPECT_FALSE(child.running());

  fds.resize(8);
  ASSERT_TRUE(child.start({"/bin/sh", "-c", "test -e /proc/self/fd/10 && exit 7"}, fds, &error))
      << error;
  while (exits == 0) event_base_loop(base.get(), EVLOOP_ONCE);
  // All eight arrived: the last one as fd 10.
  EXPECT_EQ(Child::describe(last), "exited with status 7");
}

}  // namespace
}  // namespace tandem::appliance
