#include "appliance/supervisor/service_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

namespace tandem::appliance {

ServiceNotifier::ServiceNotifier(event_base* base) {
  watchdog_.assign(base, [this] { onWatchdog(); });
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdogUs_ = usec;
    onWatchdog();
  }
}

void ServiceNotifier::send(const std::string& message) {
  sd_notify(0, message.c_str());
}

void ServiceNotifier::ready(const std::string& status) {
  send("READY=1\nSTATUS=" + status);
}

void ServiceNotifier::reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t us =
      static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(us) + "\nSTATUS=reloading");
}

void ServiceNotifier::stopping() {
  send("STOPPING=1\nSTATUS=stopping");
}

void ServiceNotifier::status(const std::string& status) {
  send("STATUS=" + status);
}

void ServiceNotifier::onWatchdog() {
  send("WATCHDOG=1");
  watchdog_.arm(Duration(static_cast<Duration::rep>(watchdogUs_ / 2)));
}

}  // namespace tandem::appliance
