#include "health/server_tracker.h"

namespace tandem::health {

CheckStatus checkStatus(const CheckResult& r) {
  using L = CheckResult::Layer;
  switch (r.layer) {
    case L::L4:
      return r.ok ? CheckStatus::L4Ok : r.timedOut ? CheckStatus::L4Tout : CheckStatus::L4Con;
    case L::L6:
      return r.ok ? CheckStatus::L6Ok : r.timedOut ? CheckStatus::L6Tout : CheckStatus::L6Rsp;
    case L::L7:
      if (r.ok) return CheckStatus::L7Ok;
      if (r.timedOut) return CheckStatus::L7Tout;
      // An HTTP answer whose status is not accepted, or any other wrong answer.
      return r.code > 0 && r.reason.find("wrong status") != std::string::npos ? CheckStatus::L7Sts
                                                                              : CheckStatus::L7Rsp;
  }
  return CheckStatus::None;
}

ServerTracker::ServerTracker(ServerHealth& health, int rise, int fall)
    : health_(health), rise_(rise), fall_(fall) {
  if (health_.state() == ServerState::Maint) admin_ = AdminState::Maint;
  if (health_.state() == ServerState::Drain) admin_ = AdminState::Drain;
}

ServerState ServerTracker::derived() const {
  if (admin_ == AdminState::Maint) return ServerState::Maint;
  if (admin_ == AdminState::Drain) return ServerState::Drain;
  if (up_) return consecutive_ > 0 ? ServerState::GoingDown : ServerState::Up;
  return consecutive_ > 0 ? ServerState::GoingUp : ServerState::Down;
}

std::optional<Transition> ServerTracker::apply(ServerState to, std::string reason, Duration d) {
  ServerState from = health_.state();
  if (from == to) return std::nullopt;
  health_.setState(to);
  return Transition{from, to, std::move(reason), d};
}

std::optional<Transition> ServerTracker::onResult(const CheckResult& r) {
  if (up_) {
    if (r.ok) {
      consecutive_ = 0;
    } else if (++consecutive_ >= fall_) {
      up_ = false;
      consecutive_ = 0;
    }
  } else {
    if (!r.ok) {
      consecutive_ = 0;
    } else if (++consecutive_ >= rise_) {
      up_ = true;
      consecutive_ = 0;
    }
  }
  return apply(derived(), r.reason, r.duration);
}

std::optional<Transition> ServerTracker::setAdmin(AdminState s, const std::string& why) {
  admin_ = s;
  return apply(derived(), why, Duration(0));
}

std::optional<Transition> ServerTracker::restore(bool checksUp, AdminState admin) {
  up_ = checksUp;
  consecutive_ = 0;
  admin_ = admin;
  return apply(derived(), "state carried over from the previous worker", Duration(0));
}

}  // namespace tandem::health
