#include "health/server_health.h"

namespace tandem::health {

std::string_view toString(CheckStatus s) {
  switch (s) {
    case CheckStatus::None:
      return "";
    case CheckStatus::L4Ok:
      return "L4OK";
    case CheckStatus::L4Tout:
      return "L4TOUT";
    case CheckStatus::L4Con:
      return "L4CON";
    case CheckStatus::L6Ok:
      return "L6OK";
    case CheckStatus::L6Tout:
      return "L6TOUT";
    case CheckStatus::L6Rsp:
      return "L6RSP";
    case CheckStatus::L7Ok:
      return "L7OK";
    case CheckStatus::L7Tout:
      return "L7TOUT";
    case CheckStatus::L7Rsp:
      return "L7RSP";
    case CheckStatus::L7Sts:
      return "L7STS";
  }
  return "";
}

namespace {
bool checksDown(ServerState s) {
  return s == ServerState::Down || s == ServerState::GoingUp;
}
}  // namespace

void ServerHealth::setState(ServerState s, int64_t atUs) {
  ServerState from = state_.exchange(s, std::memory_order_relaxed);
  if (from == s) return;
  lastChangeUs_.store(atUs, std::memory_order_relaxed);
  // HAProxy's chkdown: checks took a server that was taking traffic DOWN.
  if (s == ServerState::Down && isUsable(from)) upDown_.fetch_add(1, std::memory_order_relaxed);
  bool wasDown = checksDown(from), isDown = checksDown(s);
  if (!wasDown && isDown) downSinceUs_.store(atUs, std::memory_order_relaxed);
  if (wasDown && !isDown) {
    int64_t since = downSinceUs_.exchange(-1, std::memory_order_relaxed);
    if (since >= 0) downtimeUs_.fetch_add(atUs - since, std::memory_order_relaxed);
  }
}

void ServerHealth::recordCheck(CheckStatus status, int code, Duration duration) {
  lastStatus_.store(status, std::memory_order_relaxed);
  lastCode_.store(code, std::memory_order_relaxed);
  lastDurationUs_.store(duration.count(), std::memory_order_relaxed);
  bool ok =
      status == CheckStatus::L4Ok || status == CheckStatus::L6Ok || status == CheckStatus::L7Ok;
  if (!ok) checkFailures_.fetch_add(1, std::memory_order_relaxed);
}

int64_t ServerHealth::downtimeUs(int64_t nowUs) const {
  int64_t total = downtimeUs_.load(std::memory_order_relaxed);
  int64_t since = downSinceUs_.load(std::memory_order_relaxed);
  if (since >= 0 && nowUs > since) total += nowUs - since;
  return total;
}

}  // namespace tandem::health
