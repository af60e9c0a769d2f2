// What moves an instance's priority or puts it in FAULT, keepalived's rules:
//   vrrp_script with weight > 0: added while the script succeeds;
//   weight < 0: added (subtracted) while it fails; weight 0: failing means FAULT;
//   a tracked interface (and the instance's own) going down means FAULT.
// Effective priority = configured + the applicable weights, kept within 1..254 (an address
// owner at 255 is never moved).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/event.h"
#include "common/fd.h"
#include "vrrp/child_process.h"
#include "vrrp/config.h"

namespace tandem::vrrp {

uint8_t effectivePriority(uint8_t configured, int weightSum);

// Runs one vrrp_script every interval; reports OK/failing after rise/fall consecutive results.
class TrackScriptRunner {
 public:
  using Changed = std::function<void(const std::string& name, bool ok)>;
  TrackScriptRunner(event_base* base, const TrackScript& script, ScriptUser user, Changed changed);
  void start();
  bool ok() const { return ok_; }
  // Starts from a known verdict instead of OK (the previous version of this script, on reload).
  void assume(bool ok) { ok_ = ok; }
  const TrackScript& script() const { return script_; }
  const ScriptUser& user() const { return user_; }

 private:
  void onTimer();
  void result(int code);

  event_base* base_;
  TrackScript script_;
  ScriptUser user_;
  Changed changed_;
  ChildProcess child_;
  Timer timer_;     // after child_: disarmed before a running check is killed
  bool ok_ = true;  // keepalived starts scripts as OK... after `rise` they are trusted
  int streak_ = 0;
};

// Link up/down of every interface, from rtnetlink multicast (no polling).
class LinkMonitor {
 public:
  using Changed = std::function<void(int ifindex, bool up)>;
  LinkMonitor(event_base* base, Changed changed);
  bool ok() const { return fd_.valid(); }

 private:
  void onReadable();
  event_base* base_;
  Changed changed_;
  UniqueFd fd_;
  Event ev_;  // after fd_: leaves the loop before the socket closes
};

}  // namespace tandem::vrrp
