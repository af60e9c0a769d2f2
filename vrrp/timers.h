// VRRP timer arithmetic as pure functions, each named after its RFC definition.
#pragma once

#include <chrono>
#include <cstdint>

namespace tandem::vrrp {

using Centiseconds = std::chrono::duration<int64_t, std::centi>;
using Micros = std::chrono::microseconds;

// RFC 5798 §6.1 (VRRPv3): Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256.
Micros skewTimeV3(uint8_t priority, Micros masterAdverInterval);

// RFC 3768 §6.1 (VRRPv2): Skew_Time = (256 - Priority) / 256 seconds.
Micros skewTimeV2(uint8_t priority);

// RFC 5798 §6.1 / RFC 3768 §6.1: Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time.
Micros masterDownInterval(int version, uint8_t priority, Micros masterAdverInterval);

}  // namespace tandem::vrrp
