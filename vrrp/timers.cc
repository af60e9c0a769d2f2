#include "vrrp/timers.h"

namespace tandem::vrrp {

Micros skewTimeV3(uint8_t priority, Micros masterAdverInterval) {
  return Micros(((256 - priority) * masterAdverInterval.count()) / 256);
}

Micros skewTimeV2(uint8_t priority) {
  return Micros(((256 - priority) * 1000000LL) / 256);
}

Micros masterDownInterval(int version, uint8_t priority, Micros masterAdverInterval) {
  Micros skew = version == 2 ? skewTimeV2(priority) : skewTimeV3(priority, masterAdverInterval);
  return 3 * masterAdverInterval + skew;
}

}  // namespace tandem::vrrp
