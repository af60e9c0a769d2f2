#include "health/saved_state.h"

#include <gtest/gtest.h>

namespace tandem::health {
namespace {

TEST(SavedState, LinesRoundTripWithTheConfiguredAdminState) {
  SavedServerState s{"app", "s1", false, AdminState::Drain, 7, 3, AdminState::Maint};
  std::string line = formatSavedState(s);
  EXPECT_EQ(line, "app s1 down drain 7 3 maint");
  EXPECT_EQ(parseSavedState(line), s);
}

TEST(SavedState, ALineFromAWorkerWithoutTheConfiguredStateStillParses) {
  auto s = parseSavedState("app s1 up maint 1 1");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->configAdmin);
  EXPECT_EQ(s->adminFor(AdminState::Ready), AdminState::Maint);  // carried, as before
  EXPECT_FALSE(parseSavedState("app s1 up maint 1 1 sideways"));
  EXPECT_FALSE(parseSavedState("app s1 up maint 1 1 ready extra"));
}

// The state set at run time survives a reload of an unchanged line; a line changed in the file
// (disabled or drain added or removed) wins over it.
TEST(SavedState, TheFileWinsOnlyWhenItsAdminStateChanged) {
  SavedServerState s{"app", "s1", true, AdminState::Ready, 1, 1, AdminState::Maint};
  EXPECT_EQ(s.adminFor(AdminState::Maint), AdminState::Ready);  // set ready at run time
  EXPECT_EQ(s.adminFor(AdminState::Drain), AdminState::Drain);  // file now says drain
  s = {"app", "s1", true, AdminState::Ready, 1, 1, AdminState::Ready};
  EXPECT_EQ(s.adminFor(AdminState::Maint), AdminState::Maint);  // disabled added
}

}  // namespace
}  // namespace tandem::health
