#include "proxy/worker.h"

#include <event2/thread.h>

#include "common/logging.h"
#include "proxy/listener.h"
#include "proxy/session.h"
#include "proxy/socket_util.h"

namespace tandem::proxy {

Worker::Worker(Runtime& runtime, int index)
    : runtime_(runtime), index_(index), base_(event_base_new()), pool_(*this) {
  for (auto& be : runtime_.backends()) balancers_.push_back(std::make_unique<LoadBalancer>(*be));
  event_assign(&stopEv_, base_, -1, 0, onStopEvent, this);
  event_assign(&graceEv_, base_, -1, 0, onGraceTimer, this);
}

Worker::~Worker() {
  join();
  sessions_.clear();
  listeners_.clear();
  pool_.closeAll();
  event_del(&stopEv_);
  event_del(&graceEv_);
  // Destroy the pool's events before the base.
  event_base_free(base_);
}

bool Worker::openListeners(std::string* error) {
  for (auto& fe : runtime_.frontends()) {
    for (const auto& bind : fe->config->binds) {
      if (bind.ssl) {
        *error = "frontend " + fe->config->name + " bind " + bind.endpoint.toString() +
                 ": TLS termination is not implemented yet";
        return false;
      }
      UniqueFd fd = makeListenSocket(bind.endpoint, bind.backlog, bind.v6only, error);
      if (!fd) {
        *error = "frontend " + fe->config->name + ": " + *error;
        return false;
      }
      listeners_.push_back(std::make_unique<Listener>(*this, *fe, bind, std::move(fd)));
    }
  }
  return true;
}

void Worker::startThread() {
  thread_ = std::thread([this] { event_base_dispatch(base_); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

const timeval* Worker::timeout(Duration d) {
  int64_t us = d.count();
  auto it = timeouts_.find(us);
  if (it != timeouts_.end()) return it->second;
  timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  const timeval* common = event_base_init_common_timeout(base_, &tv);
  timeouts_[us] = common;
  return common;
}

std::unique_ptr<HttpParser> Worker::acquireRequestParser() {
  if (parsers_.empty()) return std::make_unique<HttpParser>(HttpParser::Kind::Request);
  std::unique_ptr<HttpParser> p = std::move(parsers_.back());
  parsers_.pop_back();
  return p;
}

void Worker::releaseRequestParser(std::unique_ptr<HttpParser>& parser) {
  if (!parser) return;
  parser->reset();
  if (parsers_.size() < 1024) parsers_.push_back(std::move(parser));
  parser.reset();
}

void Worker::adopt(std::unique_ptr<Session> session) {
  Session* s = session.get();
  sessions_.push_back(std::move(session));
  s->slot = std::prev(sessions_.end());
  s->start();
  if (s->dead()) destroy(s);
}

void Worker::destroy(Session* session) {
  sessions_.erase(session->slot);
  sessionClosed();
}

void Worker::sessionClosed() {
  if (stopping_) return maybeExit();
  for (auto& l : listeners_)
    if (l->paused()) l->resume();
}

void Worker::requestStop(Duration grace) {
  graceMicros_.store(grace.count());
  event_active(&stopEv_, 0, 0);  // thread-safe with evthread_use_pthreads()
}

void Worker::onStopEvent(evutil_socket_t, short, void* arg) {
  static_cast<Worker*>(arg)->beginStop();
}

void Worker::onGraceTimer(evutil_socket_t, short, void* arg) {
  auto* w = static_cast<Worker*>(arg);
  if (!w->sessions_.empty())
    logging::get(logging::Component::Proxy)
        .warn("worker {}: grace period over, closing {} remaining connection(s)", w->index_,
              w->sessions_.size());
  w->sessions_.clear();
  event_base_loopbreak(w->base_);
}

void Worker::beginStop() {
  if (stopping_) return;
  stopping_ = true;
  for (auto& l : listeners_) l->close();
  pool_.closeAll();
  // Idle keep-alive connections close now; busy ones after their current response.
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    Session* s = it->get();
    ++it;
    s->stopWhenIdle();
    if (s->dead()) sessions_.erase(s->slot);
  }
  Duration grace(graceMicros_.load());
  timeval tv{static_cast<time_t>(grace.count() / 1000000),
             static_cast<suseconds_t>(grace.count() % 1000000)};
  event_add(&graceEv_, &tv);
  maybeExit();
}

void Worker::maybeExit() {
  if (stopping_ && sessions_.empty()) event_base_loopbreak(base_);
}

}  // namespace tandem::proxy
