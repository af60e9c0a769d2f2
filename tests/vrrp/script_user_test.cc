// vrrp/script_user: which scripts the agent (root) may run, and as whom.
#include "vrrp/script_user.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace tandem::vrrp {
namespace {

namespace fs = std::filesystem;

// A private directory under /tmp (sticky, so fine) holding one script, removed at the end.
class ScriptDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tandem-script-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    script_ = dir_ + "/chk.sh";
    std::ofstream(script_) << "#!/bin/sh\nexit 0\n";
    ::chmod(script_.c_str(), 0755);
    ::chmod(dir_.c_str(), 0755);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_, script_;
};

TEST_F(ScriptDir, RootOwnedScriptInRootOwnedDirectoriesIsAccepted) {
  ASSERT_EQ(::geteuid(), 0u) << "the project's tests run as root";
  EXPECT_EQ(scriptSecurityProblem(script_), "");
  EXPECT_EQ(scriptSecurityProblem(script_ + " --flag \"$1\""), "");
  EXPECT_EQ(scriptSecurityProblem("exec " + script_), "");
}

TEST_F(ScriptDir, WorldWritableScriptIsRefusedWithItsPathAndTheFix) {
  ::chmod(script_.c_str(), 0777);
  std::string why = scriptSecurityProblem(script_);
  EXPECT_NE(why.find(script_ + " is writable by everyone"), std::string::npos) << why;
  EXPECT_NE(why.find("chmod go-w " + script_), std::string::npos) << why;
}

TEST_F(ScriptDir, WritableDirectoryAboveTheScriptIsRefused) {
  ::chmod(dir_.c_str(), 0777);  // anyone could replace chk.sh
  EXPECT_NE(scriptSecurityProblem(script_).find(dir_ + " is writable by everyone"),
            std::string::npos);
  ::chmod(dir_.c_str(), 01777);  // sticky, like /tmp: only the owner may replace an entry
  EXPECT_EQ(scriptSecurityProblem(script_), "");
}

TEST_F(ScriptDir, ScriptOwnedByAnotherUserOrWritableByItsGroupIsRefused) {
  ASSERT_EQ(::chown(script_.c_str(), 65534, 0), 0);
  EXPECT_NE(scriptSecurityProblem(script_).find("is owned by"), std::string::npos);
  ASSERT_EQ(::chown(script_.c_str(), 0, 65534), 0);
  ::chmod(script_.c_str(), 0775);
  EXPECT_NE(scriptSecurityProblem(script_).find("writable by group"), std::string::npos);
  ASSERT_EQ(::chown(script_.c_str(), 0, 0), 0);
  EXPECT_EQ(scriptSecurityProblem(script_), "");  // group root may write: only root is in it
}

TEST_F(ScriptDir, FileThatIsNotExecutableIsRefused) {
  ::chmod(script_.c_str(), 0644);
  EXPECT_NE(scriptSecurityProblem(script_).find("not an executable"), std::string::npos);
}

TEST_F(ScriptDir, LinkToAnUnsafeTargetIsRefused) {
  std::string target = dir_ + "/real.sh";
  std::ofstream(target) << "#!/bin/sh\n";
  ::chmod(target.c_str(), 0777);
  std::string link = dir_ + "/link.sh";
  fs::create_symlink(target, link);
  EXPECT_NE(scriptSecurityProblem(link).find(target), std::string::npos);
}

TEST(ScriptProgram, FirstWordOnPathShellSyntaxAndBuiltins) {
  EXPECT_EQ(scriptProgram("/usr/bin/test -e /x"), "/usr/bin/test");
  std::string t = scriptProgram("test -e /x");
  EXPECT_TRUE(t == "/usr/bin/test" || t == "/bin/test") << t;
  EXPECT_EQ(scriptProgram("exit 1"), "");
  EXPECT_EQ(scriptProgram("FOO=1 /bin/true"), "");
  EXPECT_EQ(scriptProgram("$HOME/x"), "");
  EXPECT_EQ(scriptProgram("no-such-program-anywhere"), "no-such-program-anywhere");
  EXPECT_NE(scriptSecurityProblem("no-such-program-anywhere").find("no program"),
            std::string::npos);
  EXPECT_NE(scriptSecurityProblem("./chk.sh").find("relative path"), std::string::npos);
  EXPECT_NE(scriptSecurityProblem("/nonexistent/chk.sh").find("No such file"), std::string::npos);
}

TEST(ScriptUser, ResolvesNamesAndFallsBackToRootWithAWarning) {
  std::string error, warning;
  auto nobody = resolveScriptUser("nobody", "", &error, &warning);
  ASSERT_TRUE(nobody) << error;
  EXPECT_EQ(nobody->uid, 65534u);
  EXPECT_EQ(nobody->name, "nobody");
  auto grouped = resolveScriptUser("nobody", "root", &error, &warning);
  ASSERT_TRUE(grouped);
  EXPECT_EQ(grouped->gid, 0u);
  EXPECT_FALSE(resolveScriptUser("no-such-user-xyz", "", &error, &warning));
  EXPECT_NE(error.find("no user 'no-such-user-xyz'"), std::string::npos);
  EXPECT_FALSE(resolveScriptUser("nobody", "no-such-group-xyz", &error, &warning));
  EXPECT_NE(error.find("no group"), std::string::npos);
  warning.clear();
  auto fallback = resolveScriptUser("", "", &error, &warning);
  ASSERT_TRUE(fallback);
  if (::getpwnam(kDefaultScriptUser)) {
    EXPECT_EQ(fallback->name, kDefaultScriptUser);
    EXPECT_EQ(warning, "");
  } else {
    EXPECT_EQ(fallback->uid, 0u);
    EXPECT_NE(warning.find("run as root"), std::string::npos);
  }
}

}  // namespace
}  // namespace tandem::vrrp
