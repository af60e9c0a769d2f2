#include "vrrp/state_machine.h"

#include <cstring>

namespace tandem::vrrp {

const char* toString(State s) {
  switch (s) {
    case State::Initialize:
      return "INIT";
    case State::Backup:
      return "BACKUP";
    case State::Master:
      return "MASTER";
    case State::Fault:
      return "FAULT";
  }
  return "?";
}

StateMachine::StateMachine(const MachineParams& p)
    : p_(p), priority_(p.priority), masterAdverInterval_(p.advertInterval) {}

Micros StateMachine::skewTime() const {
  return p_.version == 2 ? skewTimeV2(priority_) : skewTimeV3(priority_, masterAdverInterval_);
}

Micros StateMachine::masterDownInterval() const {
  return vrrp::masterDownInterval(p_.version, priority_, masterAdverInterval_);
}

bool StateMachine::preemptAllowed(Micros now) const {
  // keepalived's preempt_delay: after start-up, a lower-priority master is left alone this long.
  return p_.preempt && now - startedAt_ >= p_.preemptDelay;
}

Actions StateMachine::becomeMaster() {
  // RFC 5798 §6.4.1 / §6.4.2: send an ADVERTISEMENT, broadcast gratuitous ARP (or unsolicited
  // NA) for each address, set the Adver_Timer to Advertisement_Interval, go to Master.
  Actions a;
  a.sendAdvert = true;
  a.takeAddresses = true;
  a.cancelMasterDown = true;
  a.adverTimer = p_.advertInterval;
  a.newState = State::Master;
  state_ = State::Master;
  return a;
}

Actions StateMachine::becomeBackup() {
  // RFC 5798 §6.4.1: Master_Adver_Interval = Advertisement_Interval, Master_Down_Timer =
  // Master_Down_Interval, go to Backup.
  Actions a;
  masterAdverInterval_ = p_.advertInterval;
  a.masterDownTimer = masterDownInterval();
  a.cancelAdver = true;
  a.newState = State::Backup;
  state_ = State::Backup;
  return a;
}

Actions StateMachine::startup(Micros now) {
  startedAt_ = now;
  // RFC 5798 §6.4.1: "If the Priority = 255 (i.e., the router owns the IPvX address(es)
  // associated with the virtual router)" go straight to Master. keepalived's `state MASTER`
  // does the same for a configured initial master.
  if (priority_ == 255 || p_.initial == InitialState::Master) return becomeMaster();
  return becomeBackup();
}

Actions StateMachine::shutdown() {
  Actions a;
  if (state_ == State::Master) {
    // RFC 5798 §6.4.3: cancel the Adver_Timer, send an ADVERTISEMENT with Priority = 0.
    a.sendPriorityZero = true;
    a.releaseAddresses = true;
  }
  a.cancelAdver = true;
  a.cancelMasterDown = true;
  a.newState = State::Initialize;
  state_ = State::Initialize;
  return a;
}

Actions StateMachine::onMasterDownTimer() {
  // RFC 5798 §6.4.2: "If the Master_Down_Timer fires" -> Master.
  if (state_ != State::Backup) return {};
  return becomeMaster();
}

Actions StateMachine::onAdverTimer() {
  // RFC 5798 §6.4.3: "If the Adver_Timer fires": send an ADVERTISEMENT, reset the timer.
  if (state_ != State::Master) return {};
  Actions a;
  a.sendAdvert = true;
  a.adverTimer = p_.advertInterval;
  return a;
}

Actions StateMachine::onAdvert(const Advertisement& adv, const IpAddress& sender, Micros now) {
  Actions a;
  if (state_ == State::Backup) {
    if (adv.priority == 0) {
      // RFC 5798 §6.4.2: "If the Priority in the ADVERTISEMENT is zero, then: Set the
      // Master_Down_Timer to Skew_Time".
      a.masterDownTimer = skewTime();
      return a;
    }
    if (!preemptAllowed(now) || adv.priority >= priority_) {
      // RFC 5798 §6.4.2: "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT is
      // greater than or equal to the local Priority": Master_Adver_Interval = the
      // advertisement's interval, recompute Master_Down_Interval, reset Master_Down_Timer.
      if (p_.version == 3) masterAdverInterval_ = Micros(int64_t{adv.maxAdverIntervalCs} * 10000);
      a.masterDownTimer = masterDownInterval();
      return a;
    }
    // RFC 5798 §6.4.2: "Else (Priority is less than the local Priority and Preempt_Mode is
    // True): Discard the ADVERTISEMENT" -- the Master_Down_Timer runs out and we take over.
    return a;
  }
  if (state_ == State::Master) {
    if (adv.priority == 0) {
      // RFC 5798 §6.4.3: "If the Priority in the ADVERTISEMENT is zero, then: Send an
      // ADVERTISEMENT, reset the Adver_Timer".
      a.sendAdvert = true;
      a.adverTimer = p_.advertInterval;
      return a;
    }
    bool higher = adv.priority > priority_;
    // RFC 5798 §6.4.3: equal priorities: "the primary IPvX address of the sender is greater
    // than the local primary IPvX address" (compared as unsigned integers).
    bool tieLost = adv.priority == priority_ &&
                   std::memcmp(sender.bytes.data(), p_.primaryAddress.bytes.data(),
                               sender.family == AF_INET ? 4 : 16) > 0;
    if (higher || tieLost) {
      // Cancel Adver_Timer, take the sender's interval, arm Master_Down_Timer, go to Backup.
      if (p_.version == 3) masterAdverInterval_ = Micros(int64_t{adv.maxAdverIntervalCs} * 10000);
      // One last advertisement on the way out (not in the RFC, harmless to it): the winner may
      // not have heard us at all (a split brain healing), and hearing a lower master is what
      // makes it announce its addresses again, so hosts and switches forget our MAC now.
      a.sendAdvert = true;
      a.cancelAdver = true;
      a.releaseAddresses = true;
      a.masterDownTimer = masterDownInterval();
      a.newState = State::Backup;
      state_ = State::Backup;
      return a;
    }
    // "Else: Discard the ADVERTISEMENT" -- but answer at once so the other master (a healed
    // split brain) sees us now rather than at our next timer, and announce the addresses again:
    // switches and hosts may have learned the other master's MAC meanwhile (keepalived's most
    // reported failure after a split brain).
    a.sendAdvert = true;
    a.reannounce = true;
    a.adverTimer = p_.advertInterval;
    return a;
  }
  return a;  // Initialize / Fault: adverts are ignored
}

Actions StateMachine::setPriority(uint8_t effective) {
  priority_ = effective;
  Actions a;
  // A master announces its new priority right away so a better backup can preempt now.
  if (state_ == State::Master) {
    a.sendAdvert = true;
    a.adverTimer = p_.advertInterval;
  }
  return a;
}

Actions StateMachine::enterFault() {
  Actions a;
  if (state_ == State::Master) {
    a.sendPriorityZero = true;  // hand over at Skew_Time instead of Master_Down_Interval
    a.releaseAddresses = true;
  }
  a.cancelAdver = true;
  a.cancelMasterDown = true;
  a.newState = State::Fault;
  state_ = State::Fault;
  return a;
}

Actions StateMachine::leaveFault(Micros now) {
  if (state_ != State::Fault) return {};
  state_ = State::Initialize;
  startedAt_ = now - p_.preemptDelay;  // no new preempt delay after a fault
  if (priority_ == 255) return becomeMaster();
  return becomeBackup();
}

}  // namespace tandem::vrrp
