// The live state of one server, shared by every proxy thread: the health checker and the admin
// interface write it, the load balancers read it. One source of truth, lock-free to read.
#pragma once

#include <atomic>
#include <cstdint>

#include "health/server_state.h"

namespace tandem::health {

class ServerHealth {
 public:
  explicit ServerHealth(ServerState initial = ServerState::Up, int weight = 1)
      : state_(initial), weight_(weight) {}

  ServerState state() const { return state_.load(std::memory_order_relaxed); }
  // The weight the load balancer uses now (slowstart ramps it; admin may set it).
  int effectiveWeight() const { return weight_.load(std::memory_order_relaxed); }
  bool usable() const { return isUsable(state()) && effectiveWeight() > 0; }

  void setState(ServerState s) { state_.store(s, std::memory_order_relaxed); }
  void setEffectiveWeight(int w) { weight_.store(w, std::memory_order_relaxed); }

 private:
  std::atomic<ServerState> state_;
  std::atomic<int> weight_;
};

}  // namespace tandem::health
