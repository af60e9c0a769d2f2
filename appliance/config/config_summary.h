// A human-readable outline of a loaded configuration (`tandem check --dump`).
#pragma once

#include <string>

#include "appliance/config/config.h"

namespace tandem::appliance {

std::string summarizeConfig(const Config& config);

}  // namespace tandem::appliance
