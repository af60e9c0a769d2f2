#include "common/logging.h"

#include <gtest/gtest.h>
#include <syslog.h>

namespace tandem::logging {
namespace {

TEST(Logging, ParsesSyslogAndSpdlogLevelNames) {
  EXPECT_EQ(parseLevel("notice"), spdlog::level::info);
  EXPECT_EQ(parseLevel("warning"), spdlog::level::warn);
  EXPECT_EQ(parseLevel("err"), spdlog::level::err);
  EXPECT_EQ(parseLevel("emerg"), spdlog::level::critical);
  EXPECT_EQ(parseLevel("debug"), spdlog::level::debug);
  EXPECT_FALSE(parseLevel("verbose"));
}

TEST(Logging, ParsesTargetsAndFacilities) {
  EXPECT_EQ(parseTarget("journal"), Target::Journal);
  EXPECT_EQ(parseTarget("auto"), Target::Auto);
  EXPECT_FALSE(parseTarget("file"));
  EXPECT_EQ(parseFacility("local0"), LOG_LOCAL0);
  EXPECT_EQ(parseFacility("daemon"), LOG_DAEMON);
  EXPECT_FALSE(parseFacility("local9"));
}

TEST(Logging, EveryComponentHasItsOwnNamedLoggerAtTheConfiguredLevel) {
  setup(Config{Target::Stderr, spdlog::level::warn});
  EXPECT_EQ(get(Component::Proxy).name(), "proxy");
  EXPECT_EQ(get(Component::Health).name(), "health");
  EXPECT_EQ(get(Component::Vrrp).name(), "vrrp");
  EXPECT_EQ(get(Component::Supervisor).name(), "supervisor");
  EXPECT_EQ(get(Component::Vrrp).level(), spdlog::level::warn);
  // Setting up again (a reload) changes the loggers in place: a reference a component kept
  // from get() stays the same live logger (it was left pointing at a freed one).
  spdlog::logger& kept = get(Component::Vrrp);
  setup(Config{Target::Syslog, spdlog::level::debug});
  EXPECT_EQ(&get(Component::Vrrp), &kept);
  EXPECT_EQ(kept.level(), spdlog::level::debug);
  EXPECT_EQ(kept.sinks().size(), 1u);
}

}  // namespace
}  // namespace tandem::logging
