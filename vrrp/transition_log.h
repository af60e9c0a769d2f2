// Each VRRP instance's last transitions, kept in a file beside its state file
// (STATE_DIR/vrrp-NAME.history): when, from which state to which, at what priority and why — what
// `tandem status` shows to answer "why did the VIP move at 03:12?". The agent writes it; the
// supervisor reads it; both through this one definition.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::vrrp {

struct TransitionRecord {
  int64_t wallMs = 0;  // Unix time, milliseconds
  std::string from;    // INIT, BACKUP, MASTER, FAULT
  std::string to;
  int priority = 0;    // the effective priority after it
  std::string reason;  // one line

  bool operator==(const TransitionRecord&) const = default;
};

// How many transitions a history file keeps.
inline constexpr size_t kTransitionsKept = 32;

std::string historyPath(const std::string& stateDir, const std::string& instance);
// One line: "WALL_MS FROM TO PRIORITY REASON" (the reason last, spaces allowed).
std::string formatTransition(const TransitionRecord& r);
std::optional<TransitionRecord> parseTransition(std::string_view line);
// Adds `r` and keeps the last kTransitionsKept (rewritten through a rename: a reader never sees
// half a file). false when the file cannot be written.
bool appendTransition(const std::string& path, const TransitionRecord& r);
// The file's records, oldest first; lines that do not parse are skipped.
std::vector<TransitionRecord> readTransitions(const std::string& path);

}  // namespace tandem::vrrp
