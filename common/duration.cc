#include "common/duration.h"

#include <charconv>

namespace tandem {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t micros;
};

// Longest suffixes first so "ms" is not read as "m".
constexpr Unit kDurationUnits[] = {
    {"us", 1},       {"ms", 1000},        {"s", 1000000},
    {"m", 60000000}, {"h", 3600000000LL}, {"d", 86400000000LL},
};

}  // namespace

std::optional<Duration> parseDuration(std::string_view text, DefaultUnit bare, std::string* error) {
  auto fail = [&]() -> std::optional<Duration> {
    if (error)
      *error = "expected a duration such as 500ms, 5s, 3m, 1h, 1d or a bare number of " +
               std::string(bare == DefaultUnit::Seconds ? "seconds" : "milliseconds");
    return std::nullopt;
  };
  if (text.empty()) return fail();
  // Whole part and optional fraction ("1.5s"), then a unit.
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  std::string_view number = text.substr(0, i);
  std::string_view suffix = text.substr(i);
  if (number.empty() || number.front() == '.' || number.back() == '.') return fail();
  if (number.find('.') != number.rfind('.')) return fail();

  int64_t unit = bare == DefaultUnit::Seconds ? 1000000 : 1000;
  if (!suffix.empty()) {
    bool found = false;
    for (const auto& u : kDurationUnits) {
      if (suffix == u.suffix) {
        unit = u.micros;
        found = true;
        break;
      }
    }
    if (!found) return fail();
  }
  size_t dot = number.find('.');
  std::string_view whole = number.substr(0, dot);
  uint64_t w = 0;
  auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), w);
  if (ec != std::errc() || p != whole.data() + whole.size()) return fail();
  if (w > static_cast<uint64_t>(INT64_MAX / unit)) {
    if (error) *error = "duration is too large";
    return std::nullopt;
  }
  int64_t micros = static_cast<int64_t>(w) * unit;
  if (dot != std::string_view::npos) {
    std::string_view frac = number.substr(dot + 1);
    int64_t scale = unit;
    for (char c : frac) {
      scale /= 10;
      if (scale == 0) break;  // finer than a microsecond: drop
      micros += (c - '0') * scale;
    }
  }
  return Duration(micros);
}

std::optional<uint64_t> parseSize(std::string_view text, std::string* error) {
  auto fail = [&]() -> std::optional<uint64_t> {
    if (error) *error = "expected a size such as 16384, 16k, 1m or 1g";
    return std::nullopt;
  };
  if (text.empty()) return fail();
  uint64_t mult = 1;
  char last = static_cast<char>(std::tolower(static_cast<unsigned char>(text.back())));
  if (last == 'k' || last == 'm' || last == 'g') {
    mult = last == 'k' ? 1024ULL : last == 'm' ? 1024ULL * 1024 : 1024ULL * 1024 * 1024;
    text.remove_suffix(1);
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) return fail();
  if (v > UINT64_MAX / mult) return fail();
  return v * mult;
}

std::string formatDuration(Duration d) {
  int64_t us = d.count();
  for (auto it = std::rbegin(kDurationUnits); it != std::rend(kDurationUnits); ++it) {
    if (us != 0 && us % it->micros == 0)
      return std::to_string(us / it->micros) + std::string(it->suffix);
  }
  return std::to_string(us) + "us";
}

}  // namespace tandem
