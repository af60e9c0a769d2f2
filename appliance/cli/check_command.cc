#include "appliance/cli/check_command.h"
#include "appliance/config/config_reference.h"

#include <algorithm>
#include <map>
#include <ostream>
#include <tuple>
#include <utility>
#include <vector>

#include "appliance/cli/cli.h"
#include "appliance/config/config_loader.h"
#include "appliance/config/config_summary.h"

namespace tandem::appliance {

int runCheck(const CheckOptions& options, std::ostream& out, std::ostream& err) {
  if (options.reference) {
    out << reference::markdown();
    return kExitOk;
  }
  if (!options.explain.empty()) {
    std::string why;
    std::string text = reference::explain(options.explain, &why);
    if (text.empty()) {
      err << "tandem check --explain " << options.explain << ": " << why << "\n";
      return kExitInvalid;
    }
    out << text;
    return kExitOk;
  }
  // A file for the pair is checked as each of its nodes will load it. What is wrong for every
  // node (the shared part) is said once; what is wrong for some is said with their names.
  std::vector<std::string> nodes;
  if (options.node.empty()) nodes = nodeNames(options.configPath);
  if (nodes.empty()) nodes.push_back(options.node);
  std::vector<LoadResult> results;
  std::map<std::string, std::vector<std::string>> nodesOf;  // formatted diagnostic -> nodes
  std::vector<std::pair<Diagnostic, std::string>> order;    // first seen, for sorting
  for (const auto& name : nodes) {
    results.push_back(loadConfigFile(options.configPath, nullptr, NodeChoice{name}));
    for (const auto& d : results.back().diagnostics.sorted()) {
      std::string text = d.format();
      auto& seen = nodesOf[text];
      if (seen.empty()) order.emplace_back(d, text);
      seen.push_back(results.back().node);
    }
  }
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    const Location &x = a.first.location, &y = b.first.location;
    return std::tie(x.file, x.line, x.column) < std::tie(y.file, y.line, y.column);
  });
  bool perNode = !results.front().nodes.empty();
  size_t errors = 0, warnings = 0;
  for (const auto& [d, text] : order) {
    (d.severity == Severity::Error ? errors : warnings)++;
    if (options.quiet && d.severity == Severity::Warning) continue;
    const auto& seen = nodesOf[text];
    if (!perNode || seen.size() == nodes.size()) {
      err << text << "\n";
      continue;
    }
    std::string names;
    for (const auto& n : seen) names += (names.empty() ? "" : ", ") + n;
    err << text << " (node " << names << ")\n";
  }
  if (errors > 0) {
    err << options.configPath << ": " << errors << (errors == 1 ? " error" : " errors");
    if (warnings) err << ", " << warnings << (warnings == 1 ? " warning" : " warnings");
    err << "; configuration is invalid\n";
    return kExitInvalid;
  }
  if (options.dump) {
    for (const auto& each : results) {
      if (perNode) out << "node " << each.node << ":\n";
      out << summarizeConfig(*each.config);
    }
  }
  if (!options.quiet) {
    out << "Configuration file is valid";
    if (perNode) {
      std::string names;
      for (const auto& each : results) names += (names.empty() ? "" : ", ") + each.node;
      out << (results.size() == 1 ? " for node " : " for nodes ") << names;
    }
    if (warnings) out << " (" << warnings << (warnings == 1 ? " warning)" : " warnings)");
    out << "\n";
  }
  return kExitOk;
}

}  // namespace tandem::appliance
