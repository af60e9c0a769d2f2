// The access log writer's bookkeeping: lines written to a file in order, a failing target's
// lines dropped and counted (never a blocked caller).
#include "proxy/access_log_writer.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace tandem::proxy {
namespace {

TEST(AccessLogWriter, FileLinesArriveInOrderAndAreCounted) {
  char path[] = "/tmp/tandem-writer-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  AccessLog log;
  log.target = path;
  std::string error;
  auto writer = AccessLogWriter::open(log, &error);
  ASSERT_TRUE(writer) << error;
  for (int i = 0; i < 1000; ++i) writer->submit("line " + std::to_string(i));
  writer->flush();
  EXPECT_EQ(writer->written(), 1000u);
  EXPECT_EQ(writer->dropped(), 0u);
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) EXPECT_EQ(line, "line " + std::to_string(n++));
  EXPECT_EQ(n, 1000);
  ::unlink(path);
}

// /dev/full takes nothing (ENOSPC): every line is lost, and said to be.
TEST(AccessLogWriter, AFailingTargetDropsAndCountsItsLines) {
  AccessLog log;
  log.target = "/dev/full";
  std::string error;
  auto writer = AccessLogWriter::open(log, &error);
  ASSERT_TRUE(writer) << error;
  for (int i = 0; i < 5; ++i) writer->submit("lost");
  writer->flush();
  EXPECT_EQ(writer->written(), 0u);
  EXPECT_EQ(writer->dropped(), 5u);
}

TEST(AccessLogWriter, AnUnopenableFileIsAnErrorAtStart) {
  AccessLog log;
  log.target = "/nonexistent-dir/access.log";
  std::string error;
  EXPECT_FALSE(AccessLogWriter::open(log, &error));
  EXPECT_NE(error.find("/nonexistent-dir/access.log"), std::string::npos) << error;
}

}  // namespace
}  // namespace tandem::proxy
