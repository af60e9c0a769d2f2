// Durations and sizes as operators write them in HAProxy and keepalived configs:
// "5s", "500ms", "3m", "1h", "2d", "100us"; sizes "16k", "1m", "2g".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem {

using Duration = std::chrono::microseconds;

// The unit a bare number means: HAProxy timeouts are milliseconds, keepalived intervals seconds.
enum class DefaultUnit { Milliseconds, Seconds };

// Parses a duration; on failure returns nullopt and sets *error to what was expected.
std::optional<Duration> parseDuration(std::string_view text, DefaultUnit bare, std::string* error);

// Parses a byte size ("16384", "16k", "1m", "2g"; binary multiples like HAProxy's).
std::optional<uint64_t> parseSize(std::string_view text, std::string* error);

// Formats a duration the shortest exact way ("1500ms", "2s", "100us").
std::string formatDuration(Duration d);

}  // namespace tandem
