// Facts about a network interface the agent needs: index, MAC, primary IPv4, link state.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/address.h"

namespace tandem::vrrp {

struct InterfaceInfo {
  std::string name;
  int index = 0;
  std::array<uint8_t, 6> mac{};
  std::optional<IpAddress> primaryV4;  // the first IPv4 address that is not one of ours
  bool up = false;                     // IFF_UP and IFF_RUNNING (carrier)
};

// Reads the interface; nullopt (with *error) when it does not exist. Addresses listed in
// `exclude` (the virtual ones) never count as the primary address.
std::optional<InterfaceInfo> readInterface(const std::string& name,
                                           const std::vector<IpAddress>& exclude,
                                           std::string* error);

}  // namespace tandem::vrrp
