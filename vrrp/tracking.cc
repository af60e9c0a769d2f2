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
  evtimer_assign(&timer_, base_, onTimer, this);
}

TrackScriptRunner::~TrackScriptRunner() {
  event_del(&timer_);
}

void TrackScriptRunner::start() {
  onTimer(-1, 0, this);
}

void TrackScriptRunner::onTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<TrackScriptRunner*>(arg);
  if (!self->child_.running()) {
    bool started = self->child_.start(self->script_.command, {}, self->user_, self->script_.timeout,
                                      [self](int code) { self->result(code); });
    if (!started) self->result(-1);
  }
  timeval tv{static_cast<time_t>(self->script_.interval.count() / 1000000),
             static_cast<suseconds_t>(self->script_.interval.count() % 1000000)};
  evtimer_add(&self->timer_, &tv);
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
  event_assign(&ev_, base_, fd_.get(), EV_READ | EV_PERSIST, onReadable, this);
  event_add(&ev_, nullptr);
}

LinkMonitor::~LinkMonitor() {
  if (fd_) event_del(&ev_);
}

void LinkMonitor::onReadable(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<LinkMonitor*>(arg);
  alignas(nlmsghdr) char buf[16384];
  for (;;) {
    ssize_t n = ::recv(self->fd_.get(), buf, sizeof(buf), 0);
    if (n <= 0) return;
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(n));
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) continue;
      auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(h));
      bool up = h->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_UP) &&
                (ifi->ifi_flags & IFF_RUNNING);
      self->changed_(ifi->ifi_index, up);
    }
  }
}

}  // namespace tandem::vrrp
