#include "vrrp/instance.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <chrono>
#include <cstring>

#include "common/logging.h"

namespace tandem::vrrp {
namespace {

MachineParams machineParams(const Instance& c) {
  MachineParams p;
  p.version = c.version;
  p.priority = c.priority;
  p.advertInterval = std::chrono::duration_cast<Micros>(c.advertInterval);
  p.preempt = c.preempt;
  p.preemptDelay = std::chrono::duration_cast<Micros>(c.preemptDelay);
  p.initial = c.initialState;
  return p;
}

std::vector<IpAddress> vipAddresses(const Instance& c) {
  std::vector<IpAddress> v;
  for (const auto& vip : c.virtualIps) v.push_back(vip.address.network);
  return v;
}

}  // namespace

VrrpInstance::VrrpInstance(event_base* base, const Instance& config, AddressManager& addresses,
                           StateHook hook)
    : base_(base),
      hook_(std::move(hook)),
      config_(config),
      addresses_(addresses),
      machine_(machineParams(config)) {
  masterDownEv_.assign(base_, [this] {
    apply(machine_.onMasterDownTimer(),
          masterDownAfterResign_
              ? "the master resigned (priority 0) and Skew_Time passed (RFC 5798 6.4.2)"
              : "no advertisement from a master within Master_Down_Interval (RFC 5798 6.4.2)");
  });
  adverEv_.assign(base_, [this] { apply(machine_.onAdverTimer(), "advertisement timer"); });
  garpEv_.assign(base_, [this] { onGarp(); });
}

Micros VrrpInstance::now() const {
  return std::chrono::duration_cast<Micros>(std::chrono::steady_clock::now().time_since_epoch());
}

uint64_t VrrpInstance::discarded(Discard why) const {
  auto it = discards_.find(why);
  return it == discards_.end() ? 0 : it->second;
}

bool VrrpInstance::start(std::string* error) {
  auto& log = logging::get(logging::Component::Vrrp);
  std::vector<IpAddress> vips = vipAddresses(config_);
  auto info = readInterface(config_.interface, vips, error);
  if (!info) return false;
  iface_ = *info;
  if (config_.unicastSource) {
    source_ = *config_.unicastSource;
  } else if (iface_.primaryV4) {
    source_ = *iface_.primaryV4;
  } else {
    *error = "interface " + iface_.name + " has no IPv4 address to send advertisements from";
    return false;
  }
  // Rebuild the state machine now that the primary address (the tie-breaker) is known.
  MachineParams p = machineParams(config_);
  p.primaryAddress = source_;
  machine_ = StateMachine(p);
  // A unicast configuration never joins the multicast group (no silent fallback).
  bool multicast = config_.unicastPeers.empty();
  socket_ = std::make_unique<VrrpSocket>(iface_, source_, multicast, error);
  if (!socket_->ok()) return false;
  garp_ = std::make_unique<GarpSender>(iface_.index, iface_.mac);
  rx_.version = config_.version;
  rx_.vrid = config_.virtualRouterId;
  rx_.dst = *IpAddress::parse(kVrrpGroupV4);
  rx_.advertIntSeconds = static_cast<uint8_t>(
      std::chrono::duration_cast<std::chrono::seconds>(config_.advertInterval).count());
  rx_.authType = config_.authType == AuthType::Pass ? 1 : 0;
  std::memcpy(rx_.authData.data(), config_.authPassword.data(),
              std::min<size_t>(8, config_.authPassword.size()));
  rx_.addresses = vips;
  // A crashed agent may have left our addresses behind: never start with a duplicate VIP.
  for (const auto& vip : config_.virtualIps) {
    if (addresses_.present(iface_.index, vip)) {
      std::string err;
      addresses_.remove(iface_.index, vip, &err);
      log.warn("VRRP_Instance({}) removed stale virtual address {} from {}", config_.name,
               vip.address.network.toString(), iface_.name);
    }
  }
  readEv_.assign(base_, socket_->fd(), EV_READ | EV_PERSIST, [this](short) { onReadable(); });
  readEv_.add();
  started_ = true;
  log.info("VRRP_Instance({}) started on {} from {} (vrid {}, priority {}, v{}, advert {}ms, {})",
           config_.name, iface_.name, source_.toString(), int(config_.virtualRouterId),
           int(config_.priority), config_.version,
           std::chrono::duration_cast<std::chrono::milliseconds>(config_.advertInterval).count(),
           multicast ? "multicast" : "unicast");
  apply(machine_.startup(now()), "started");
  return true;
}

void VrrpInstance::stop() {
  if (!started_) return;
  apply(machine_.shutdown(), "agent stopping");
  started_ = false;
  readEv_.remove();
}

namespace {
const char* discardKey(Discard d) {
  namespace r = discard_reason;
  switch (d) {
    case Discard::None:
      break;
    case Discard::Truncated:
      return r::kTruncated;
    case Discard::BadTtl:
      return r::kBadTtl;
    case Discard::BadVersion:
      return r::kBadVersion;
    case Discard::BadType:
      return r::kBadType;
    case Discard::BadChecksum:
      return r::kBadChecksum;
    case Discard::WrongVrid:
      return r::kWrongVrid;
    case Discard::IntervalMismatch:
      return r::kIntervalMismatch;
    case Discard::AuthMismatch:
      return r::kAuthMismatch;
    case Discard::AuthTypeMismatch:
      return r::kAuthTypeMismatch;
  }
  return "other";
}

int64_t unixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

VrrpInstanceStatus VrrpInstance::status() {
  VrrpInstanceStatus s;
  s.name = config_.name;
  s.interface = config_.interface;
  s.vrid = config_.virtualRouterId;
  s.state = toString(machine_.state());
  s.basePriority = config_.priority;
  s.effectivePriority = machine_.priority();
  s.advertsSent = advertsSent_;
  s.advertsReceived = advertsReceived_;
  s.priorityZeroSent = priorityZeroSent_;
  s.priorityZeroReceived = priorityZeroReceived_;
  s.becameMaster = becameMaster_;
  s.releasedMaster = releasedMaster_;
  for (const auto& [why, n] : discards_) s.discards[discardKey(why)] = n;
  s.transitions = transitions_;
  s.lastTransitionUnixMs = lastTransitionUnixMs_;
  for (const auto& vip : config_.virtualIps) {
    s.vips.push_back(vip.address.toString());
    int ifindex = iface_.index;
    if (!vip.device.empty()) ifindex = static_cast<int>(if_nametoindex(vip.device.c_str()));
    if (machine_.state() == State::Master && ifindex && addresses_.present(ifindex, vip))
      s.vipsHeld.push_back(vip.address.toString());
  }
  if (peerHeardUnixMs_) s.peer = peer_.toString();
  s.peerPriority = peerPriority_;
  s.peerHeardUnixMs = peerHeardUnixMs_;
  return s;
}

void VrrpInstance::sendAdvert(uint8_t priority) {
  ++advertsSent_;
  if (priority == 0) ++priorityZeroSent_;
  Advertisement a;
  a.version = config_.version;
  a.vrid = config_.virtualRouterId;
  a.priority = priority;
  a.maxAdverIntervalCs = static_cast<uint16_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.advertInterval).count() / 10);
  a.advertIntSeconds = rx_.advertIntSeconds;
  a.authType = rx_.authType;
  a.authData = rx_.authData;
  a.addresses = rx_.addresses;
  std::string err;
  if (config_.unicastPeers.empty()) {
    socket_->send(encode(a, source_, rx_.dst), rx_.dst, &err);
  } else {
    for (const auto& peer : config_.unicastPeers)
      socket_->send(encode(a, source_, peer), peer, &err);
  }
  if (!err.empty())
    logging::get(logging::Component::Vrrp).warn("VRRP_Instance({}) {}", config_.name, err);
}

void VrrpInstance::takeAddresses() {
  auto& log = logging::get(logging::Component::Vrrp);
  for (const auto& vip : config_.virtualIps) {
    std::string err;
    int ifindex = iface_.index;
    if (!vip.device.empty()) ifindex = static_cast<int>(if_nametoindex(vip.device.c_str()));
    if (!addresses_.add(ifindex, vip, &err)) log.error("VRRP_Instance({}) {}", config_.name, err);
  }
  // Announce now, again after master_delay (keepalived's default 5 GARPs, 5 more after 5 s).
  garpBurstsLeft_ = 1;
  garpBurst();
}

void VrrpInstance::releaseAddresses() {
  garpEv_.cancel();
  for (const auto& vip : config_.virtualIps) {
    std::string err;
    int ifindex = iface_.index;
    if (!vip.device.empty()) ifindex = static_cast<int>(if_nametoindex(vip.device.c_str()));
    if (!addresses_.remove(ifindex, vip, &err))
      logging::get(logging::Component::Vrrp).error("VRRP_Instance({}) {}", config_.name, err);
  }
}

void VrrpInstance::garpBurst() {
  std::string err;
  for (int i = 0; i < config_.garp.masterRepeat; ++i)
    for (const auto& vip : config_.virtualIps)
      if (vip.address.network.family == AF_INET) garp_->send(vip.address.network, &err);
  Micros next{0};
  if (garpBurstsLeft_ > 0) {
    --garpBurstsLeft_;
    next = std::chrono::duration_cast<Micros>(config_.garp.masterDelay);
  } else {
    next = std::chrono::duration_cast<Micros>(config_.garp.masterRefresh);
  }
  if (next.count() > 0) garpEv_.arm(next);
}

void VrrpInstance::onGarp() {
  if (machine_.state() == State::Master) garpBurst();
}

void VrrpInstance::apply(const Actions& a, const std::string& why) {
  auto& log = logging::get(logging::Component::Vrrp);
  State before = a.newState ? previousState_ : machine_.state();
  if (a.cancelAdver) adverEv_.cancel();
  if (a.cancelMasterDown) masterDownEv_.cancel();
  // Resign first, then release: the backup's Skew_Time starts as early as possible.
  if (a.sendPriorityZero) sendAdvert(0);
  if (a.releaseAddresses) releaseAddresses();
  if (a.sendAdvert) sendAdvert(machine_.priority());
  if (a.takeAddresses) takeAddresses();
  if (a.reannounce && now().count() - lastReannounceUs_ > 1000000) {
    lastReannounceUs_ = now().count();  // at most once a second against a stuck peer
    std::string err;
    for (int i = 0; i < config_.garp.masterRepeat; ++i)
      for (const auto& vip : config_.virtualIps)
        if (vip.address.network.family == AF_INET) garp_->send(vip.address.network, &err);
    log.info("VRRP_Instance({}) re-announced its addresses after seeing another master",
             config_.name);
  }
  if (a.masterDownTimer) {
    masterDownAfterResign_ = false;
    masterDownEv_.arm(*a.masterDownTimer);
  }
  if (a.adverTimer) adverEv_.arm(*a.adverTimer);
  if (a.newState) {
    ++transitions_[std::string(toString(before)) + "->" + toString(*a.newState)];
    lastTransitionUnixMs_ = unixMs();
    if (*a.newState == State::Master) ++becameMaster_;
    if (before == State::Master) ++releasedMaster_;
    log.info("VRRP_Instance({}) Entering {} STATE ({})", config_.name, toString(*a.newState), why);
    if (hook_) hook_(config_, before, *a.newState, machine_.priority(), why);
  }
  previousState_ = machine_.state();
}

void VrrpInstance::setTracking(uint8_t priority, bool fault, const std::string& why) {
  if (!started_) return;
  auto& log = logging::get(logging::Component::Vrrp);
  if (fault) {
    if (machine_.state() != State::Fault) {
      log.warn("VRRP_Instance({}) {}: going to FAULT", config_.name, why);
      apply(machine_.enterFault(), why);
    }
    return;
  }
  if (priority != machine_.priority()) {
    std::string change = "effective priority " + std::to_string(machine_.priority()) + " -> " +
                         std::to_string(priority) + (why.empty() ? "" : " (" + why + ")");
    log.info("VRRP_Instance({}) {}", config_.name, change);
    apply(machine_.setPriority(priority), change);
  }
  if (machine_.state() == State::Fault) {
    log.info("VRRP_Instance({}) fault cleared", config_.name);
    apply(machine_.leaveFault(now()), "fault cleared");
  }
}

void VrrpInstance::onReadable() {
  auto& log = logging::get(logging::Component::Vrrp);
  for (int i = 0; i < 16; ++i) {
    auto pkt = socket_->receive();
    if (!pkt) return;
    if (pkt->src == source_) continue;
    const auto& peers = config_.unicastPeers;
    if (!peers.empty()) {
      bool known = false;
      for (const auto& p : peers) known |= p == pkt->src;
      if (!known) continue;  // unicast: only configured peers count
    }
    ReceiveContext ctx = rx_;
    ctx.ttl = pkt->ttl;
    ctx.src = pkt->src;
    ctx.dst = pkt->dst;
    Discard why;
    auto r = decode(pkt->payload.data(), pkt->payload.size(), ctx, &why);
    if (!r) {
      ++discards_[why];
      // Rate-limited: one line per reason per 10 s, with the running count.
      int64_t t = now().count();
      if (why != Discard::WrongVrid && t - lastDiscardLogUs_[why] > 10000000) {
        lastDiscardLogUs_[why] = t;
        log.warn("VRRP_Instance({}) discarded advertisement from {}: {} ({} so far)", config_.name,
                 pkt->src.toString(), toString(why), discards_[why]);
      }
      continue;
    }
    ++advertsReceived_;
    if (r->advert.priority == 0) ++priorityZeroReceived_;
    peer_ = pkt->src;
    peerPriority_ = r->advert.priority;
    peerHeardUnixMs_ = unixMs();
    if (r->addressMismatch)
      log.warn("VRRP_Instance({}) advertisement from {} lists other virtual addresses",
               config_.name, pkt->src.toString());
    if (machine_.state() == State::Master && r->advert.priority != 0 &&
        r->advert.priority <= machine_.priority())
      log.warn(
          "VRRP_Instance({}) another MASTER seen: {} with priority {} (ours {}); resolving "
          "by RFC 5798 §6.4.3",
          config_.name, pkt->src.toString(), int(r->advert.priority), int(machine_.priority()));
    Actions actions = machine_.onAdvert(r->advert, pkt->src, now());
    apply(actions, r->advert.priority == 0
                       ? "the master " + pkt->src.toString() + " resigned (priority 0)"
                       : "advertisement from " + pkt->src.toString() + " with priority " +
                             std::to_string(r->advert.priority) + " (ours " +
                             std::to_string(machine_.priority()) + ")");
    // Only a priority-0 advert shortens Master_Down_Timer to Skew_Time; the takeover's log line
    // says which of the two ran out.
    if (actions.masterDownTimer && r->advert.priority == 0) masterDownAfterResign_ = true;
  }
}

}  // namespace tandem::vrrp
