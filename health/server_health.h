// The live state of one server, shared by every proxy thread: the health checker and the admin
// interface write it, the load balancers read it. One source of truth, lock-free to read.
// Besides the state and weight, what the metrics and the stats page show of its checks: the
// last result (HAProxy's check status, e.g. L7STS/500, and duration), failed checks, UP→DOWN
// transitions, when the state last changed and how long it was down.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "common/duration.h"
#include "health/server_state.h"

namespace tandem::health {

// HAProxy's check statuses (its `check_status` names), the ones our checks can end in.
enum class CheckStatus : uint8_t {
  None,    // no check ran yet (HAProxy: INI / UNK)
  L4Ok,    // connected (a TCP check)
  L4Tout,  // the connection timed out
  L4Con,   // refused or failed
  L6Ok,    // TLS handshake done
  L6Tout,  // the TLS handshake timed out
  L6Rsp,   // the TLS handshake failed
  L7Ok,    // the application answered as expected
  L7Tout,  // no complete answer in time
  L7Rsp,   // an answer that is not what was expected (invalid, no match, an error packet)
  L7Sts,   // an HTTP status that is not accepted
};

std::string_view toString(CheckStatus s);  // "L7OK", ...; "" for None

inline int64_t steadyNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class ServerHealth {
 public:
  explicit ServerHealth(ServerState initial = ServerState::Up, int weight = 1)
      : state_(initial), weight_(weight) {}

  ServerState state() const { return state_.load(std::memory_order_relaxed); }
  // The weight the load balancer uses now (slowstart ramps it; admin may set it).
  int effectiveWeight() const { return weight_.load(std::memory_order_relaxed); }
  bool usable() const { return isUsable(state()) && effectiveWeight() > 0; }

  // A new state at `atUs` (steady clock): keeps the time of the change, the downtime and the
  // UP→DOWN count. Written by one thread at a time (the server's checker, or an admin command
  // on the loop that owns it).
  void setState(ServerState s, int64_t atUs = steadyNowUs());
  void setEffectiveWeight(int w) { weight_.store(w, std::memory_order_relaxed); }

  // One finished check: its status, the layer-7 code if any (an HTTP status), its duration.
  void recordCheck(CheckStatus status, int code, Duration duration);
  CheckStatus lastCheckStatus() const { return lastStatus_.load(std::memory_order_relaxed); }
  int lastCheckCode() const { return lastCode_.load(std::memory_order_relaxed); }
  int64_t lastCheckDurationUs() const { return lastDurationUs_.load(std::memory_order_relaxed); }
  uint64_t checkFailures() const { return checkFailures_.load(std::memory_order_relaxed); }
  uint64_t upDownTransitions() const { return upDown_.load(std::memory_order_relaxed); }
  // When the state last changed (steady clock µs), -1 if never since start.
  int64_t lastChangeUs() const { return lastChangeUs_.load(std::memory_order_relaxed); }
  // Time spent DOWN (checks failed: DOWN, and DOWN going up) up to `nowUs`.
  int64_t downtimeUs(int64_t nowUs = steadyNowUs()) const;

 private:
  std::atomic<ServerState> state_;
  std::atomic<int> weight_;
  std::atomic<CheckStatus> lastStatus_{CheckStatus::None};
  std::atomic<int> lastCode_{0};
  std::atomic<int64_t> lastDurationUs_{0};
  std::atomic<uint64_t> checkFailures_{0};
  std::atomic<uint64_t> upDown_{0};
  std::atomic<int64_t> lastChangeUs_{-1};
  std::atomic<int64_t> downSinceUs_{-1};  // while down: since when
  std::atomic<int64_t> downtimeUs_{0};    // down periods that ended
};

}  // namespace tandem::health
