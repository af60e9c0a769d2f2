// The data path's surroundings, faked for unit tests (Envoy's conn_manager_impl_test, Pingora's
// mock I/O): connections whose bytes the test writes and reads, a connector that opens such
// connections to servers, and a clock that moves only when the test says. Sessions, streams and
// server connections run unchanged on top, on a real Worker.
#pragma once

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/time_source.h"
#include "proxy/transport.h"
#include "proxy/worker.h"

namespace tandem::proxy::testing {

// The test's end of one connection.
struct FakePeer {
  std::string toProxy;          // what the proxy reads next
  bool eof = false;             // after toProxy: the end of the stream
  bool reset = false;           // reads and writes fail from now on
  std::string fromProxy;        // everything the proxy wrote
  size_t window = SIZE_MAX;     // bytes the proxy may still write before kAgain
  bool proxyShutWrite = false;  // the proxy sent FIN
  bool closed = false;          // the proxy closed the connection
  bool closedClean = false;     // ...saying everything was delivered
  int connectError = 0;         // a server connection: how its connect ends
  bool readWanted = false;
  bool writeWanted = false;
  std::vector<int> writePieces;  // per write call the proxy made: how many pieces it passed

  // What the proxy wrote and the test has not taken yet.
  std::string take() {
    std::string out = fromProxy.substr(taken_);
    taken_ = fromProxy.size();
    return out;
  }

 private:
  size_t taken_ = 0;
};

using FakePeerPtr = std::shared_ptr<FakePeer>;

class FakeNetwork;

class FakeTransport final : public Transport {
 public:
  FakeTransport(FakeNetwork& net, FakePeerPtr peer);
  ~FakeTransport() override;

  void wantRead(bool on) override { peer_->readWanted = on && !peer_->closed; }
  void wantWrite(bool on) override { peer_->writeWanted = on && !peer_->closed; }
  ssize_t read(IoBuffer& buf) override {
    if (peer_->closed || peer_->reset) return kError;
    if (peer_->toProxy.empty()) return peer_->eof ? 0 : kAgain;
    size_t n = std::min<size_t>(buf.space(), peer_->toProxy.size());
    std::memcpy(buf.end(), peer_->toProxy.data(), n);
    buf.produced(n);
    peer_->toProxy.erase(0, n);
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const iovec* iov, int count) override {
    if (peer_->closed || peer_->reset) return kError;
    peer_->writePieces.push_back(count);
    size_t taken = 0;
    for (int i = 0; i < count && peer_->window > 0; ++i) {
      size_t n = std::min(iov[i].iov_len, peer_->window);
      peer_->fromProxy.append(static_cast<const char*>(iov[i].iov_base), n);
      peer_->window -= n;
      taken += n;
    }
    return taken > 0 ? static_cast<ssize_t>(taken) : kAgain;
  }
  void shutdownWrite() override { peer_->proxyShutWrite = true; }
  void close(bool clean) override {
    if (peer_->closed) return;
    peer_->closed = true;
    peer_->closedClean = clean;
    peer_->readWanted = peer_->writeWanted = false;
  }
  int connectError() const override { return peer_->connectError; }

  // Readiness the proxy asked for and the peer's state allows.
  bool readable() const {
    return peer_->readWanted && (!peer_->toProxy.empty() || peer_->eof || peer_->reset);
  }
  bool writable() const {
    return peer_->writeWanted && (peer_->window > 0 || peer_->reset || peer_->connectError);
  }
  // The handler hears it; it may delete this transport on the way.
  void fireReadable() { handler_->onReadable(); }
  void fireWritable() { handler_->onWritable(); }
  bool hasHandler() const { return handler_ != nullptr; }

 private:
  FakeNetwork& net_;
  FakePeerPtr peer_;
};

// Every fake connection, and the worker's way to open one to a server.
class FakeNetwork {
 public:
  // Server connections of `worker` open here from now on.
  void attach(Worker& worker) {
    worker.setServerConnector(
        [this](ServerRuntime& s, const Worker::ConnectOptions&, int* error) -> TransportPtr {
          servers.push_back({s.config->name, std::make_shared<FakePeer>()});
          if (refuseConnects > 0) {
            --refuseConnects;
            servers.back().peer->closed = true;
            *error = ECONNREFUSED;
            return nullptr;
          }
          if (hangConnects > 0) {
            --hangConnects;
            servers.back().peer->window = 0;  // never turns writable: the connect never completes
          }
          return std::make_unique<FakeTransport>(*this, servers.back().peer);
        });
  }

  // A client connection: the test's end, and the transport for the session.
  std::pair<FakePeerPtr, TransportPtr> client() {
    auto peer = std::make_shared<FakePeer>();
    return {peer, std::make_unique<FakeTransport>(*this, peer)};
  }

  // Announces readiness (and runs the loop's deferred work: retired sessions, queues) until
  // nothing is ready; false when it did not settle within `maxSteps`.
  bool pump(event_base* loop, int maxSteps = 10000) {
    for (int step = 0; step < maxSteps; ++step) {
      FakeTransport* ready = nullptr;
      bool write = false;
      for (FakeTransport* t : live_) {
        if (!t->hasHandler()) continue;
        if (t->readable()) {
          ready = t;
          break;
        }
        if (t->writable()) {
          ready = t;
          write = true;
          break;
        }
      }
      if (ready) {
        write ? ready->fireWritable() : ready->fireReadable();
        continue;
      }
      event_base_loop(loop, EVLOOP_NONBLOCK);
      bool again = false;
      for (FakeTransport* t : live_) again |= t->hasHandler() && (t->readable() || t->writable());
      if (!again) return true;
    }
    return false;
  }

  struct ServerConnect {
    std::string server;  // the server's name
    FakePeerPtr peer;
  };
  std::vector<ServerConnect> servers;  // every connect, in order
  int refuseConnects = 0;              // the next N connects fail at once (ECONNREFUSED)
  int hangConnects = 0;                // the next N connects never complete
  size_t liveCount() const { return live_.size(); }

 private:
  friend class FakeTransport;
  std::vector<FakeTransport*> live_;
};

inline FakeTransport::FakeTransport(FakeNetwork& net, FakePeerPtr peer)
    : net_(net), peer_(std::move(peer)) {
  net_.live_.push_back(this);
}

inline FakeTransport::~FakeTransport() {
  std::erase(net_.live_, this);
}

// Time that moves only in advance(); timers fire in deadline order, each at its own time.
class ManualClock final : public TimeSource {
 public:
  int64_t nowUs() const override { return nowUs_; }
  // The test's monotonic start is 2026-12-01T10:00:00Z on the wall.
  int64_t wallUs() const override { return nowUs_ - kStartUs + kWallStartUs; }
  static constexpr int64_t kStartUs = 1'000'000'000;
  static constexpr int64_t kWallStartUs = 1'796'119'200'000'000;
  DeadlineTimerPtr makeTimer(std::function<void()> callback) override {
    return std::make_unique<Timer>(*this, std::move(callback));
  }
  void advance(Duration d) {
    int64_t target = nowUs_ + d.count();
    for (;;) {
      Timer* next = nullptr;
      for (Timer* t : timers_)
        if (t->armed_ && t->dueUs_ <= target && (!next || t->dueUs_ < next->dueUs_)) next = t;
      if (!next) break;
      nowUs_ = next->dueUs_;
      next->armed_ = false;
      next->callback_();  // may delete timers, arm others
    }
    nowUs_ = target;
  }

 private:
  class Timer final : public DeadlineTimer {
   public:
    Timer(ManualClock& clock, std::function<void()> callback)
        : clock_(clock), callback_(std::move(callback)) {
      clock_.timers_.push_back(this);
    }
    ~Timer() override { std::erase(clock_.timers_, this); }
    void arm(Duration after) override {
      armed_ = true;
      dueUs_ = clock_.nowUs_ + after.count();
    }
    void cancel() override { armed_ = false; }
    bool armed() const override { return armed_; }

   private:
    friend class ManualClock;
    ManualClock& clock_;
    std::function<void()> callback_;
    bool armed_ = false;
    int64_t dueUs_ = 0;
  };

  int64_t nowUs_ = kStartUs;
  std::vector<Timer*> timers_;
};

}  // namespace tandem::proxy::testing
