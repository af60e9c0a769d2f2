// The configuration text a supervised child runs, handed over as a sealed memfd. A child
// restarted after a crash runs the generation the supervisor validated, never whatever the file
// says at that moment (an edit not yet reloaded, or a broken one, must not reach a restart).
#pragma once

#include <optional>
#include <string>

#include "common/fd.h"

namespace tandem::appliance {

// A read-only (sealed) memfd holding `text`; an invalid fd + *error when the kernel refuses.
UniqueFd writeConfigSnapshot(const std::string& text, std::string* error);
// The whole text of a snapshot (read from offset 0, so one fd may be read more than once).
std::optional<std::string> readConfigSnapshot(int fd, std::string* error);

}  // namespace tandem::appliance
