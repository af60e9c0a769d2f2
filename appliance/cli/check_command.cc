#include "appliance/cli/check_command.h"
#include "appliance/config/config_reference.h"

#include <ostream>

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
  LoadResult r = loadConfigFile(options.configPath);
  for (const auto& d : r.diagnostics.sorted()) {
    if (options.quiet && d.severity == Severity::Warning) continue;
    err << d.format() << "\n";
  }
  size_t errors = r.diagnostics.errorCount();
  size_t warnings = r.diagnostics.warningCount();
  if (errors > 0) {
    err << options.configPath << ": " << errors << (errors == 1 ? " error" : " errors");
    if (warnings) err << ", " << warnings << (warnings == 1 ? " warning" : " warnings");
    err << "; configuration is invalid\n";
    return kExitInvalid;
  }
  if (options.dump) out << summarizeConfig(*r.config);
  if (!options.quiet) {
    out << "Configuration file is valid";
    if (warnings) out << " (" << warnings << (warnings == 1 ? " warning)" : " warnings)");
    out << "\n";
  }
  return kExitOk;
}

}  // namespace tandem::appliance
