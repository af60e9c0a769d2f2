// Runs the real `tandem` binary as a user would and checks output and exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr
};

CommandResult tandem(const std::string& args) {
  CommandResult r;
  std::string cmd = std::string(TANDEM_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

const std::string kExamples = std::string(TANDEM_SOURCE_DIR) + "/examples/";

class CheckCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tandem-check-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& text) {
    auto f = dir_ / "t.yaml";
    std::ofstream(f) << text;
    return f.string();
  }
  std::filesystem::path dir_;
};

TEST_F(CheckCommand, ValidExampleExitsZero) {
  CommandResult r = tandem("check -c " + kExamples + "minimal.yaml");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Configuration file is valid"), std::string::npos);
}

TEST_F(CheckCommand, FullExampleExitsZero) {
  CommandResult r = tandem("check -q -c " + kExamples + "tandem.yaml");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, "") << "quiet mode prints nothing for a valid file";
}

TEST_F(CheckCommand, InvalidFileExitsOneWithCountAndLocations) {
  std::string f =
      write("global:\n  threds: 2\nbackends:\n  a:\n    servers: [{ name: s, address: x }]\n");
  CommandResult r = tandem("check -c " + f);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(f + ":2:3: error: global.threds: unknown key 'threds' (did you mean "
                              "'threads'?)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(f + ":5:35: error: backends.a.servers[0].address"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("2 errors, 1 warning; configuration is invalid"), std::string::npos)
      << r.output;
}

TEST_F(CheckCommand, MissingFileExitsOne) {
  CommandResult r = tandem("check -c " + (dir_ / "absent.yaml").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("cannot open configuration file"), std::string::npos);
}

TEST_F(CheckCommand, UsageErrorsExitTwo) {
  EXPECT_EQ(tandem("check").status, 2);
  EXPECT_EQ(tandem("frobnicate").status, 2);
  EXPECT_EQ(tandem("").status, 2);
  EXPECT_EQ(tandem("check -c x --bogus").status, 2);
}

TEST_F(CheckCommand, HelpAndVersionExitZero) {
  CommandResult h = tandem("--help");
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.output.find("check"), std::string::npos);
  CommandResult v = tandem("--version");
  EXPECT_EQ(v.status, 0);
  EXPECT_NE(v.output.find("tandem "), std::string::npos);
}

TEST_F(CheckCommand, QuietHidesWarningsButNotErrors) {
  std::string f = write(
      "frontends:\n  w: { bind: \"127.0.0.1:8080\", default_backend: b }\n"
      "backends:\n  b: { servers: [] }\n");
  CommandResult loud = tandem("check -c " + f);
  EXPECT_EQ(loud.status, 0);
  EXPECT_NE(loud.output.find("warning: backends.b: backend 'b' has no servers"), std::string::npos)
      << loud.output;
  CommandResult quiet = tandem("check -q -c " + f);
  EXPECT_EQ(quiet.status, 0);
  EXPECT_EQ(quiet.output, "");
}

TEST_F(CheckCommand, DumpPrintsAnOutline) {
  CommandResult r = tandem("check --dump -c " + kExamples + "minimal.yaml");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("server app1 127.0.0.1:9001"), std::string::npos) << r.output;
}

}  // namespace
