// One running virtual router: the state machine wired to its socket, timers, addresses and
// gratuitous ARP. Defaults are chosen against keepalived's field failures: a new master always
// announces itself (GARP burst, a second burst after garp.master_delay, and a refresh every
// garp.master_refresh), and a unicast instance never falls back to multicast.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/event.h"
#include "common/node_status.h"
#include "vrrp/address_manager.h"
#include "vrrp/config.h"
#include "vrrp/garp.h"
#include "vrrp/interface.h"
#include "vrrp/packet.h"
#include "vrrp/state_machine.h"
#include "vrrp/vrrp_socket.h"

namespace tandem::vrrp {

class VrrpInstance {
 public:
  // A transition: from, to, the priority after it and why (one line, for the history).
  using StateHook = std::function<void(const Instance&, State from, State to, uint8_t priority,
                                       const std::string& why)>;

  VrrpInstance(event_base* base, const Instance& config, AddressManager& addresses,
               StateHook hook = nullptr);
  VrrpInstance(const VrrpInstance&) = delete;
  VrrpInstance& operator=(const VrrpInstance&) = delete;

  // Opens the socket, removes stale virtual addresses a crashed agent may have left, and starts
  // the election. false (and *error) when the interface or socket is unusable.
  bool start(std::string* error);
  // Leaves: a master sends priority 0 (the backup takes over after Skew_Time) and releases.
  void stop();
  State state() const { return machine_.state(); }
  const Instance& config() const { return config_; }
  int ifindex() const { return iface_.index; }
  // Tracking result: the effective priority and whether something demands FAULT; `why` says
  // what (the fault's cause, or the weights that move the priority).
  void setTracking(uint8_t priority, bool fault, const std::string& why);
  const std::string& name() const { return config_.name; }
  uint64_t discarded(Discard why) const;
  // Role, priorities, counters and the peer last heard, for metrics and the stats page.
  VrrpInstanceStatus status();

 private:
  void onReadable();
  void onGarp();
  // Carries out the machine's actions; `why` names the event, for a state change's history.
  void apply(const Actions& a, const std::string& why);
  void sendAdvert(uint8_t priority);
  void takeAddresses();
  void releaseAddresses();
  void garpBurst();
  Micros now() const;

  event_base* base_;
  StateHook hook_;
  State previousState_ = State::Initialize;  // before the last apply(): a transition's "from"
  Instance config_;
  AddressManager& addresses_;
  StateMachine machine_;
  InterfaceInfo iface_;
  IpAddress source_;
  std::unique_ptr<VrrpSocket> socket_;
  std::unique_ptr<GarpSender> garp_;
  ReceiveContext rx_;
  // After socket_: they leave the loop before the socket closes.
  Event readEv_;
  Timer masterDownEv_;
  Timer adverEv_;
  Timer garpEv_;
  bool masterDownAfterResign_ = false;  // Master_Down_Timer armed at Skew_Time by priority 0
  int garpBurstsLeft_ = 0;              // the delayed second burst
  int64_t lastReannounceUs_ = 0;
  bool started_ = false;
  std::map<Discard, uint64_t> discards_;
  // Since this instance started (a reload that changes it starts it anew: counters restart).
  uint64_t advertsSent_ = 0;
  uint64_t advertsReceived_ = 0;
  uint64_t priorityZeroSent_ = 0;
  uint64_t priorityZeroReceived_ = 0;
  uint64_t becameMaster_ = 0;
  uint64_t releasedMaster_ = 0;
  std::map<std::string, uint64_t> transitions_;  // "FROM->TO"
  int64_t lastTransitionUnixMs_ = 0;
  IpAddress peer_;  // the last valid advertisement's sender
  int peerPriority_ = -1;
  int64_t peerHeardUnixMs_ = 0;
  std::map<Discard, int64_t> lastDiscardLogUs_;
};

}  // namespace tandem::vrrp
