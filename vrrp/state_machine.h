// The VRRP state machine of one virtual router, exactly as RFC 5798 §6.4 writes it (RFC 3768
// §6.4 for v2), plus keepalived's FAULT state and preempt_delay. Pure: it is told the time and
// returns what to do (send, take or release the addresses, arm or cancel timers); the agent does
// the I/O. Every branch carries its RFC paragraph.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "common/address.h"
#include "vrrp/config.h"
#include "vrrp/packet.h"
#include "vrrp/timers.h"

namespace tandem::vrrp {

enum class State { Initialize, Backup, Master, Fault };
const char* toString(State s);

struct Actions {
  bool sendAdvert = false;        // an advertisement with the current priority
  bool sendPriorityZero = false;  // resignation (§6.4.3: shutdown, or FAULT)
  bool takeAddresses = false;     // add the virtual addresses and announce them (GARP/NA)
  bool releaseAddresses = false;
  bool reannounce = false;  // won against another master: announce the addresses again
  std::optional<Micros> masterDownTimer;  // (re)arm after this long
  bool cancelMasterDown = false;
  std::optional<Micros> adverTimer;
  bool cancelAdver = false;
  std::optional<State> newState;
};

struct MachineParams {
  int version = 3;
  uint8_t priority = 100;  // configured; effective priority may move with tracking
  Micros advertInterval{1000000};
  bool preempt = true;
  Micros preemptDelay{0};
  InitialState initial = InitialState::Backup;
  IpAddress primaryAddress;  // this node's address on the interface (tie-break)
};

class StateMachine {
 public:
  explicit StateMachine(const MachineParams& p);

  Actions startup(Micros now);
  Actions shutdown();
  Actions onAdvert(const Advertisement& a, const IpAddress& sender, Micros now);
  Actions onMasterDownTimer();
  Actions onAdverTimer();
  // Tracking changed the effective priority (scripts, interfaces, proxy liveness).
  Actions setPriority(uint8_t effective);
  Actions enterFault();
  Actions leaveFault(Micros now);

  State state() const { return state_; }
  uint8_t priority() const { return priority_; }
  Micros masterAdverInterval() const { return masterAdverInterval_; }
  Micros skewTime() const;
  Micros masterDownInterval() const;

 private:
  Actions becomeMaster();
  Actions becomeBackup();
  bool preemptAllowed(Micros now) const;

  MachineParams p_;
  State state_ = State::Initialize;
  uint8_t priority_;
  Micros masterAdverInterval_;
  Micros startedAt_{0};
};

}  // namespace tandem::vrrp
