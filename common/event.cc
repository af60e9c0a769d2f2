#include "common/event.h"

#include <event2/thread.h>

#include <mutex>

namespace tandem {

timeval toTimeval(Duration d) {
  int64_t us = d.count() < 0 ? 0 : d.count();
  return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

EventBasePtr makeThreadSafeEventBase() {
  static std::once_flag once;
  std::call_once(once, [] { evthread_use_pthreads(); });
  return EventBasePtr(event_base_new());
}

Event::~Event() {
  if (assigned_) event_del(&event_);
}

void Event::assign(event_base* base, int fd, short what, Callback callback) {
  if (assigned_) event_del(&event_);
  callback_ = std::move(callback);
  event_assign(&event_, base, fd, what, dispatch, this);
  assigned_ = true;
}

void Event::retarget(int fd, short what) {
  event_base* base = event_get_base(&event_);
  event_del(&event_);
  event_assign(&event_, base, fd, what, dispatch, this);
}

void Event::add() {
  event_add(&event_, nullptr);
}

void Event::add(Duration after) {
  timeval tv = toTimeval(after);
  event_add(&event_, &tv);
}

void Event::add(const timeval* after) {
  event_add(&event_, after);
}

void Event::remove() {
  if (assigned_) event_del(&event_);
}

void Event::activate(short what) {
  event_active(&event_, what, 0);
}

bool Event::pending() const {
  return assigned_ && event_pending(&event_, EV_READ | EV_WRITE | EV_SIGNAL | EV_TIMEOUT, nullptr);
}

void Event::dispatch(evutil_socket_t, short what, void* self) {
  // The callback may end its owner and so this event (a server connection released inside its
  // own callback): nothing here touches the event after it returns. Owners with more to do
  // after a callback defer their deletion instead (Worker::retire).
  LoopCallbackContext& context = LoopCallbackContext::current();
  ++context.callback;
  ++context.depth;
  struct Leave {
    LoopCallbackContext& context;
    ~Leave() { --context.depth; }
  } leave{context};
  static_cast<Event*>(self)->callback_(what);
}

}  // namespace tandem
