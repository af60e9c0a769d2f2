// libevent, wrapped once: an event owns its callback (any callable, usually a lambda on `this`)
// and leaves the loop when it is destroyed, so no component needs static trampolines, void*
// casts or a matching event_del in its destructor. Neither copied nor moved: libevent keeps the
// event's address while it is pending.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>
#include <sys/time.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "common/duration.h"

namespace tandem {

timeval toTimeval(Duration d);

struct EventBaseFree {
  void operator()(event_base* b) const { event_base_free(b); }
};
// Owns a loop. Declare it before the events that use it: they must go first.
using EventBasePtr = std::unique_ptr<event_base, EventBaseFree>;

// A loop that other threads may wake (Event::activate from another thread): libevent's pthread
// locking is switched on, once per process, before the base is made.
EventBasePtr makeThreadSafeEventBase();

// The named per-thread context of a loop thread: which event callback runs now. Clocks read
// during one callback may reuse one reading (LoopTimeSource); a reading taken outside any
// callback is never reused.
struct LoopCallbackContext {
  uint64_t callback = 0;  // bumped as each callback starts
  int depth = 0;          // > 0 while one runs
  static LoopCallbackContext& current() {
    static thread_local LoopCallbackContext context;
    return context;
  }
};

class Event {
 public:
  using Callback = std::function<void(short what)>;

  Event() = default;
  // An fd's readiness (EV_READ/EV_WRITE, usually with EV_PERSIST), a signal (EV_SIGNAL with the
  // signal number as fd), or with fd -1 and no flags, a timer / a manual trigger.
  Event(event_base* base, int fd, short what, Callback callback) {
    assign(base, fd, what, std::move(callback));
  }
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  void assign(event_base* base, int fd, short what, Callback callback);
  // The same callback on another fd or for other readiness flags (removed first). Safe inside
  // the event's own callback, which assign() is not (it replaces the running callback).
  void retarget(int fd, short what);
  bool assigned() const { return assigned_; }
  // Pending with no timeout (an fd or signal event), or armed for `after` (replacing the
  // previous deadline), or with a common timeout from event_base_init_common_timeout.
  void add();
  void add(Duration after);
  void add(const timeval* after);
  void remove();
  // Runs the callback from the loop as if `what` happened. Thread-safe once libevent's pthread
  // support is on (a way to wake another thread's loop).
  void activate(short what = 0);
  bool pending() const;

 private:
  static void dispatch(evutil_socket_t, short what, void* self);
  struct event event_ {};
  Callback callback_;
  bool assigned_ = false;
};

// A one-shot timer: Event with a callback that takes nothing.
class Timer {
 public:
  Timer() = default;
  Timer(event_base* base, std::function<void()> callback) { assign(base, std::move(callback)); }
  // The event's own callback only points back here (small enough to be stored inline): one
  // allocation per timer at most, the callback's.
  void assign(event_base* base, std::function<void()> callback) {
    callback_ = std::move(callback);
    event_.assign(base, -1, 0, [this](short) { callback_(); });
  }
  void arm(Duration after) { event_.add(after); }
  void arm(const timeval* after) { event_.add(after); }
  void cancel() { event_.remove(); }
  bool armed() const { return event_.pending(); }

 private:
  std::function<void()> callback_;
  Event event_;
};

}  // namespace tandem
