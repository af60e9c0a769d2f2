// systemd's notify protocol (Type=notify): READY=1 once the node serves, RELOADING=1 and READY=1
// around a reload, STOPPING=1, STATUS= lines, and WATCHDOG=1 at half of WatchdogSec from the
// supervisor's own loop (a hung supervisor gets restarted). Without NOTIFY_SOCKET every call
// is a no-op, so the same binary runs under systemd, in the lab and in tests.
#pragma once

#include <cstdint>
#include <string>

#include "common/event.h"

namespace tandem::appliance {

class ServiceNotifier {
 public:
  explicit ServiceNotifier(event_base* base);
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  void ready(const std::string& status);
  void reloading();
  void stopping();
  void status(const std::string& status);
  bool watchdogEnabled() const { return watchdogUs_ > 0; }

 private:
  void onWatchdog();
  void send(const std::string& message);

  Timer watchdog_;
  uint64_t watchdogUs_ = 0;
};

}  // namespace tandem::appliance
