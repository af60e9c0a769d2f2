// The supervisor's built-in liveness probe of the local proxy worker: every `interval`, a TCP
// connect (or an HTTP request; any complete status line counts) to the proxy's own listener,
// bounded by `timeout`. `fall` failures in a row mark the proxy down, `rise` successes up.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <string>

#include "appliance/config/config.h"
#include "common/event.h"
#include "common/fd.h"

namespace tandem::appliance {

class ProxyProbe {
 public:
  // Told when the verdict changes, with the reason of the last probe.
  using Changed = std::function<void(bool up, const std::string& reason)>;

  ProxyProbe(event_base* base, const ProbeConfig& config, Endpoint target, Changed onChange);
  ProxyProbe(const ProxyProbe&) = delete;
  ProxyProbe& operator=(const ProxyProbe&) = delete;

  // Starts probing. From "down", the proxy must prove it serves (rise) before it counts as up;
  // a probe replaced on reload starts from the verdict of the one before.
  void start(bool initiallyUp = false);
  void stop();
  // Probes at once (e.g. when a new worker reports ready) instead of at the next interval.
  void probeNow();
  bool up() const { return up_; }
  const Endpoint& target() const { return target_; }

 private:
  void onSocket(short what);
  void begin();
  void finish(bool ok, const std::string& reason);

  event_base* base_;
  ProbeConfig config_;
  Endpoint target_;
  Changed onChange_;
  bool running_ = false;
  UniqueFd fd_;
  // After fd_: they leave the loop before the socket closes.
  Timer tick_;
  Event io_;  // on fd_ while a probe is in flight
  bool connected_ = false;
  std::string reply_;
  bool up_ = false;
  int count_ = 0;  // consecutive results against the current verdict
};

}  // namespace tandem::appliance
