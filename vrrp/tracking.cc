#include "vrrp/tracking.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>

#include "common/logging.h"

namespace tandem::vrrp {

uint8_t effectivePriority(uint8_t configured, int weightSum) {
  if (configured == 255) return 255;
  return static_cast<uint8_t>(std::clamp(int{configured} + weightSum, 1, 254));
}

TrackScriptRunner::TrackScriptRunner(event_base* base, const TrackScript& script, ScriptUser user,
                                     Changed changed)
    : base_(base),
      script_(script),
      user_(std::move(user)),
      changed_(std::move(changed)),
      child_(base) {
  timer_.assign(base_, [this] { onTimer(); });
}

void TrackScriptRunner::start() {
  onTimer();
}

void TrackScriptRunner::onTimer() {
  if (!child_.running()) {
    bool started = child_.start(script_.command, {}, user_, script_.timeout,
                                [this](int code) { result(code); });
    if (!started) result(-1);
  }
  timer_.arm(script_.interval);
}

void TrackScriptRunner::result(int code) {
  bool success = code == 0;
  if (success == ok_) {
    streak_ = 0;
    return;
  }
  if (++streak_ < (success ? script_.rise : script_.fall)) return;
  streak_ = 0;
  ok_ = success;
  logging::get(logging::Component::Vrrp)
      .info("VRRP_Script({}) {}", script_.name, ok_ ? "succeeded" : "failed");
  changed_(script_.name, ok_);
}

LinkMonitor::LinkMonitor(event_base* base, Changed changed)
    : base_(base), changed_(std::move(changed)) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK;
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return;
  fd_ = std::move(fd);
  ev_.assign(base_, fd_.get(), EV_READ | EV_PERSIST, [this](short) { onReadable(); });
  ev_.add();
}

void LinkMonitor::onReadable() {
  alignas(nlmsghdr) char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
    if (n <= 0) return;
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(n));
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) continue;
      auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(h));
      bool up = h->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_UP) &&
                (ifi->ifi_flags & IFF_RUNNING);
      changed_(ifi->ifi_index, up);
    }
  }
}

}  // namespace tandem::vrrp
