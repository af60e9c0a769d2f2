#include "common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/sinks/systemd_sink.h>
#include <syslog.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <mutex>

namespace tandem::logging {
namespace {

constexpr std::array<std::pair<Component, const char*>, 5> kComponents = {{
    {Component::Proxy, "proxy"},
    {Component::Health, "health"},
    {Component::Vrrp, "vrrp"},
    {Component::Supervisor, "supervisor"},
    {Component::Config, "config"},
}};

const char* componentName(Component c) {
  for (const auto& [comp, name] : kComponents)
    if (comp == c) return name;
  return "tandem";
}

bool startedByJournal() {
  // systemd sets JOURNAL_STREAM=<dev>:<inode> for the stderr it connects to the journal.
  return std::getenv("JOURNAL_STREAM") != nullptr;
}

std::once_flag defaultOnce;

void ensureDefault() {
  std::call_once(defaultOnce, [] {
    if (!spdlog::get("proxy")) setup(Config{Target::Stderr});
  });
}

}  // namespace

std::optional<spdlog::level::level_enum> parseLevel(std::string_view n) {
  using spdlog::level::level_enum;
  struct Name {
    std::string_view name;
    level_enum level;
  };
  static constexpr Name kNames[] = {
      {"emerg", level_enum::critical}, {"alert", level_enum::critical},
      {"crit", level_enum::critical},  {"critical", level_enum::critical},
      {"err", level_enum::err},        {"error", level_enum::err},
      {"warning", level_enum::warn},   {"warn", level_enum::warn},
      {"notice", level_enum::info},    {"info", level_enum::info},
      {"debug", level_enum::debug},    {"trace", level_enum::trace},
      {"off", level_enum::off},
  };
  for (const auto& e : kNames)
    if (e.name == n) return e.level;
  return std::nullopt;
}

std::optional<Target> parseTarget(std::string_view n) {
  if (n == "auto") return Target::Auto;
  if (n == "stderr") return Target::Stderr;
  if (n == "syslog") return Target::Syslog;
  if (n == "journal") return Target::Journal;
  return std::nullopt;
}

std::optional<int> parseFacility(std::string_view n) {
  struct Name {
    std::string_view name;
    int facility;
  };
  static constexpr Name kNames[] = {
      {"kern", LOG_KERN},     {"user", LOG_USER},     {"mail", LOG_MAIL},
      {"daemon", LOG_DAEMON}, {"auth", LOG_AUTH},     {"syslog", LOG_SYSLOG},
      {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
      {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
      {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
  };
  for (const auto& e : kNames)
    if (e.name == n) return e.facility;
  return std::nullopt;
}

void setup(const Config& config) {
  Target target = config.target;
  if (target == Target::Auto) target = startedByJournal() ? Target::Journal : Target::Stderr;

  spdlog::sink_ptr sink;
  std::string pattern;
  switch (target) {
    case Target::Journal:
      sink = std::make_shared<spdlog::sinks::systemd_sink_mt>(config.ident);
      pattern = "[%n] %v";
      break;
    case Target::Syslog:
      sink = std::make_shared<spdlog::sinks::syslog_sink_mt>(
          config.ident, LOG_PID, parseFacility(config.facility).value_or(LOG_DAEMON), true);
      pattern = "[%n] %v";
      break;
    default:
      if (isatty(STDERR_FILENO))
        sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
      else
        sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
      pattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v";
      break;
  }
  sink->set_pattern(pattern);
  for (const auto& [comp, name] : kComponents) {
    // get() hands loggers out by reference, and components keep them: a logger that exists is
    // changed in place, never replaced (a reload replacing it left them pointing at freed ones).
    if (auto existing = spdlog::get(name)) {
      existing->sinks().assign(1, sink);
      existing->set_level(config.level);
      existing->flush_on(spdlog::level::warn);
      continue;
    }
    auto logger = std::make_shared<spdlog::logger>(name, sink);
    logger->set_level(config.level);
    logger->flush_on(spdlog::level::warn);
    spdlog::register_logger(logger);
  }
}

spdlog::logger& get(Component component) {
  ensureDefault();
  auto logger = spdlog::get(componentName(component));
  return *logger;
}

}  // namespace tandem::logging
