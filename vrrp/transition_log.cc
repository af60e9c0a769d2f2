#include "vrrp/transition_log.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace tandem::vrrp {

std::string historyPath(const std::string& stateDir, const std::string& instance) {
  return stateDir + "/vrrp-" + instance + ".history";
}

std::string formatTransition(const TransitionRecord& r) {
  std::string reason;
  for (char c : r.reason) reason += c == '\n' || c == '\r' ? ' ' : c;
  return std::to_string(r.wallMs) + " " + r.from + " " + r.to + " " + std::to_string(r.priority) +
         " " + reason;
}

std::optional<TransitionRecord> parseTransition(std::string_view line) {
  std::istringstream in{std::string(line)};
  TransitionRecord r;
  if (!(in >> r.wallMs >> r.from >> r.to >> r.priority)) return std::nullopt;
  if (r.priority < 0 || r.priority > 255) return std::nullopt;
  std::getline(in, r.reason);
  if (!r.reason.empty() && r.reason.front() == ' ') r.reason.erase(0, 1);
  return r;
}

std::vector<TransitionRecord> readTransitions(const std::string& path) {
  std::vector<TransitionRecord> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (auto r = parseTransition(line)) out.push_back(std::move(*r));
  return out;
}

bool appendTransition(const std::string& path, const TransitionRecord& r) {
  std::vector<TransitionRecord> all = readTransitions(path);
  all.push_back(r);
  size_t from = all.size() > kTransitionsKept ? all.size() - kTransitionsKept : 0;
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    for (size_t i = from; i < all.size(); ++i) out << formatTransition(all[i]) << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace tandem::vrrp
