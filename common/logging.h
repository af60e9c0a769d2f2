// One logging setup for the whole binary: per-component spdlog loggers ("proxy", "health",
// "vrrp", "supervisor", "config") that share sinks chosen from `global.log`.
#pragma once

#include <spdlog/spdlog.h>

#include <optional>
#include <string>
#include <string_view>

namespace tandem::logging {

enum class Target {
  Auto,     // journal when started by systemd (JOURNAL_STREAM), else stderr
  Stderr,   // human format, coloured on a terminal
  Syslog,   // syslog(3) with the configured facility
  Journal,  // native journal fields (priority, identifier)
};

struct Config {
  Target target = Target::Auto;
  spdlog::level::level_enum level = spdlog::level::info;
  std::string facility = "daemon";
  std::string ident = "tandem";

  bool operator==(const Config&) const = default;
};

enum class Component { Proxy, Health, Vrrp, Supervisor, Config };

// Parses names operators know from HAProxy/syslog: emerg alert crit err warning notice info debug
// (plus spdlog's trace/warn/error/critical/off).
std::optional<spdlog::level::level_enum> parseLevel(std::string_view name);
std::optional<Target> parseTarget(std::string_view name);
// Syslog facility number (LOG_LOCAL0 ...) for a name such as "local0" or "daemon".
std::optional<int> parseFacility(std::string_view name);

// Sets every component logger's sink and level for `config`. May be called again (a reload)
// where no other thread logs meanwhile (the supervisor, the agent): loggers are changed in
// place, so the references get() returned stay valid.
void setup(const Config& config);

// The logger of one component; valid before setup() too (stderr, info).
spdlog::logger& get(Component component);

}  // namespace tandem::logging
