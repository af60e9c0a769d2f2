#include "proxy/worker.h"

#include <event2/thread.h>

#include <future>

#include "common/logging.h"
#include "proxy/listener.h"
#include "proxy/master_channel.h"
#include "proxy/proxy_protocol.h"

#include <unistd.h>
#include "proxy/session.h"
#include "proxy/socket_util.h"

namespace tandem::proxy {

Worker::Worker(Runtime& runtime, int index)
    : runtime_(runtime),
      index_(index),
      base_(makeThreadSafeEventBase()),
      time_(std::make_unique<LoopTimeSource>(base_.get())),
      counters_(runtime.addWorkerCounters()),
      pool_(*this),
      h2Upstream_(*this) {
  connector_ = [loop = base_.get()](ServerRuntime& s, const ConnectOptions& options,
                                    int* error) -> TransportPtr {
    UniqueFd fd = connectNonBlocking(s.address, s.addressLength, error);
    if (!fd) return nullptr;
    if (!s.tls) return std::make_unique<RawTransport>(loop, std::move(fd));
    SslPtr ssl = s.tls->connect(fd.get(), options.sni);
    if (!ssl) {
      *error = ENOMEM;
      return nullptr;
    }
    std::string preface;
    if (options.preface) preface = std::exchange(*options.preface, std::string());
    return TlsTransport::connect(loop, std::move(fd), std::move(ssl), std::move(preface));
  };
  for (auto& be : runtime_.backends()) balancers_.push_back(std::make_unique<LoadBalancer>(*be));
  queues_.resize(runtime_.backends().size());
  event_base* b = base_.get();
  reapEv_.assign(b, -1, 0, [this](short) {
    retired_.clear();
    retiredHeaders_.clear();
  });
  queueEv_.assign(b, -1, 0, [this](short) { serveQueues(); });
  handoffEv_.assign(b, -1, 0, [this](short) { onHandoffs(); });
  taskEv_.assign(b, -1, 0, [this](short) { onTasks(); });
  stopEv_.assign(b, -1, 0, [this](short) { beginStop(); });
  graceTimer_.assign(b, [this] { onGraceOver(); });
  historyTimer_.assign(b, [this] {
    runtime_.history().sample(runtime_);
    if (!stopping_) historyTimer_.arm(std::chrono::seconds(1));
  });
}

Worker::~Worker() {
  join();
  health_.reset();
  // Sessions and pooled connections use this worker's buffers, pool and loop: they go first.
  sessions_.clear();
  retired_.clear();
  pendingHeaders_.clear();
  retiredHeaders_.clear();
  listeners_.clear();
  pool_.closeAll();
  h2Upstream_.closeAll();
  for (const Handoff& h : handoffs_) ::close(h.fd);
}

bool Worker::openListeners(std::string* error, MasterChannel* master) {
  for (auto& fe : runtime_.frontends()) {
    for (const auto& bind : fe->config->binds) {
      UniqueFd fd;
      if (master) {
        fd = master->takeListenSocket(listenKey(bind, index_));
        // listen() again applies this configuration's backlog to the inherited socket.
        if (fd) ::listen(fd.get(), bind.backlog);
      }
      if (!fd) fd = makeListenSocket(bind.endpoint, bind.backlog, bind.v6only, error);
      if (!fd) {
        *error = "frontend " + fe->config->name + ": " + *error;
        return false;
      }
      listeners_.push_back(std::make_unique<Listener>(*this, *fe, bind, std::move(fd)));
    }
  }
  return true;
}

void Worker::startHealthChecks(int workerCount, const std::vector<health::SavedServerState>& saved,
                               health::HealthMonitor::StateHook onState) {
  std::vector<health::CheckTarget> targets;
  std::vector<health::BackendMembers> members;
  size_t k = 0;
  for (auto& be : runtime_.backends()) {
    health::BackendMembers bm{be->config->name, {}};
    for (auto& s : be->servers) {
      bm.members.push_back({s->config->name, s->config->backup, &s->health});
      if (!s->config->check.enabled) continue;
      if (static_cast<int>(k++ % static_cast<size_t>(workerCount)) != index_) continue;
      health::CheckTarget t;
      t.backend = be->config->name;
      t.server = s->config->name;
      t.backup = s->config->backup;
      t.address = s->address;
      t.addressLength = s->addressLength;
      t.config = be->config->check ? &*be->config->check : nullptr;
      t.timeout = be->config->check ? be->config->check->timeout : be->config->timeouts.check;
      t.params = s->config->check;
      // A server that takes a PROXY header on every connection takes one from its checks too
      // (HAProxy needs check-send-proxy for that): LOCAL / UNKNOWN, the check speaks for itself.
      if (s->config->sendProxy == Server::SendProxy::V1) t.params.preface = "PROXY UNKNOWN\r\n";
      if (s->config->sendProxy == Server::SendProxy::V2) t.params.preface = encodeProxyV2Local();
      // TLS checks speak to the server as requests do: its CAs, client certificate, fixed SNI.
      if (t.params.ssl && s->tls) {
        const Server::Tls& tls = s->config->tls;
        std::string sni = tls.sniSource == Server::Tls::Sni::Fixed ? tls.sni : std::string();
        t.params.tlsConnect = [ctx = s->tls.get(), sni](int fd) {
          return ctx->connect(fd, sni).release();
        };
      }
      t.health = &s->health;
      t.weight = s->config->weight;
      t.configWeight = s->config->weight;
      t.configAdmin = configuredAdmin(*s->config);
      t.slowstart = s->config->slowstart;
      targets.push_back(std::move(t));
    }
    members.push_back(std::move(bm));
  }
  if (targets.empty()) return;
  // A server that leaves or rejoins rotation changes what queued requests can get: let every
  // worker's waiters for that backend try again (503 at once when nothing is usable any more).
  auto hook = [this](const std::string& backend, const health::Transition&) {
    for (auto& be : runtime_.backends())
      if (be->config->name == backend && be->queued.load(std::memory_order_relaxed) > 0) {
        for (Worker* w : peers_) w->queueEv_.activate();
      }
  };
  health_ =
      std::make_unique<health::HealthMonitor>(base(), std::move(targets), std::move(members), hook);
  for (const auto& st : saved) health_->restore(st);
  health_->setStateHook(std::move(onState));
  health_->setTransitionHook(
      [this](const std::string& backend, const std::string& server, const health::Transition& t) {
        runtime_.reportTransition(backend, server, t);
      });
  health_->start();
}

void Worker::startThread() {
  if (index_ == 0) historyTimer_.arm(std::chrono::seconds(1));
  thread_ = std::thread([this] {
    // Until stopped, even with nothing registered yet (a worker with no listener and no check
    // still runs the tasks posted to it).
    event_base_loop(base(), EVLOOP_NO_EXIT_ON_EMPTY);
    // Tasks posted while the loop was ending still run (their callers are waiting), and any
    // posted from now on run on the caller.
    std::vector<std::function<void()>> last;
    {
      std::lock_guard<std::mutex> lock(taskMu_);
      loopDone_ = true;
      last.swap(tasks_);
    }
    for (auto& t : last) t();
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
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

void Worker::enqueue(BackendRuntime& backend, Session* session) {
  auto& q = queues_[backend.index];
  session->queueSlot_ = q.insert(q.end(), session);
  session->queuedOn_ = &backend;
  raiseMax(backend.maxQueued, backend.queued.fetch_add(1, std::memory_order_relaxed) + 1);
}

void Worker::dequeue(Session* session) {
  BackendRuntime* be = session->queuedOn_;
  if (!be) return;
  queues_[be->index].erase(session->queueSlot_);
  session->queuedOn_ = nullptr;
  be->queued.fetch_sub(1, std::memory_order_relaxed);
}

void Worker::slotFreed(BackendRuntime& backend) {
  if (backend.queued.load(std::memory_order_relaxed) == 0) return;
  // Deferred to the loop: the releasing session is in the middle of its own callback.
  if (!queues_[backend.index].empty()) {
    queueEv_.activate();
    return;
  }
  for (Worker* w : peers_)
    if (w != this) w->queueEv_.activate();  // thread-safe (makeThreadSafeEventBase)
}

void Worker::serveQueues() {
  for (auto& q : queues_) {
    while (!q.empty()) {
      Session* s = q.front();
      if (!s->retryFromQueue()) break;  // still no slot: keep FIFO order
    }
  }
}

void Worker::runOnLoop(const std::function<void()>& fn) {
  if (!thread_.joinable() || std::this_thread::get_id() == thread_.get_id()) {
    fn();
    return;
  }
  std::promise<void> done;
  {
    std::unique_lock<std::mutex> lock(taskMu_);
    if (loopDone_) {
      lock.unlock();
      fn();  // the loop has ended: nothing runs on it any more
      return;
    }
    tasks_.push_back([&] {
      fn();
      done.set_value();
    });
  }
  taskEv_.activate();
  done.get_future().wait();
}

void Worker::post(std::function<void()> fn) {
  {
    std::unique_lock<std::mutex> lock(taskMu_);
    if (!loopDone_) {
      tasks_.push_back(std::move(fn));
      lock.unlock();
      taskEv_.activate();
      return;
    }
  }
  // The loop has ended (the worker is stopping): the task is dropped. Running it here, on the
  // caller's thread, would touch this worker's state (its health monitor) from another thread.
}

bool Worker::requestAdminState(const std::string& backend, const std::string& server,
                               health::AdminState state, const std::string& why) {
  ServerRuntime* sr = runtime_.findServer(backend, server);
  if (!sr) return false;
  struct Pending {
    std::atomic<size_t> left;
    std::atomic<bool> found{false};
  };
  auto pending = std::make_shared<Pending>();
  pending->left = peers_.size();
  for (Worker* w : peers_) {
    w->post([w, pending, sr, backend, server, state, why, rt = &runtime_] {
      if (auto* m = w->healthMonitor())
        if (m->setAdminState(backend, server, state, why)) pending->found = true;
      // The last worker to look: nobody checks this server, its state is only the admin's.
      if (pending->left.fetch_sub(1) == 1 && !pending->found)
        setUncheckedServerState(*rt, *sr, backend, server, state, why);
    });
  }
  return true;
}

void setUncheckedServerState(const Runtime& runtime, ServerRuntime& sr, const std::string& backend,
                             const std::string& server, health::AdminState state,
                             const std::string& why) {
  health::ServerState before = sr.health.state();
  health::ServerState after = state == health::AdminState::Maint   ? health::ServerState::Maint
                              : state == health::AdminState::Drain ? health::ServerState::Drain
                                                                   : health::ServerState::Up;
  sr.health.setState(after);
  if (before == after) return;
  logging::get(logging::Component::Health)
      .warn("Server {}/{} is {} (was {}), reason: {}.", backend, server, toString(after),
            toString(before), why);
  runtime.reportUnchecked(Runtime::uncheckedState(backend, sr));
  runtime.reportTransition(backend, server, health::Transition{before, after, why});
}

void Worker::onTasks() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(taskMu_);
    batch.swap(tasks_);
  }
  for (auto& t : batch) t();
}

Worker* Worker::leastLoadedPeer() {
  Worker* best = this;
  for (Worker* w : peers_)
    if (!w->stopping_ && w->load() + 1 < best->load()) best = w;
  return best;
}

void Worker::handoff(const Handoff& h) {
  {
    std::lock_guard<std::mutex> lock(handoffMu_);
    handoffs_.push_back(h);
  }
  handoffEv_.activate();
}

void Worker::onHandoffs() {
  std::vector<Handoff> batch;
  {
    std::lock_guard<std::mutex> lock(handoffMu_);
    batch.swap(handoffs_);
  }
  for (const Handoff& h : batch) {
    if (stopping_) {
      ::close(h.fd);
      continue;
    }
    accepted(*h.frontend, *h.bind, UniqueFd(h.fd), h.peer);
  }
}

void Worker::accepted(FrontendRuntime& frontend, const Bind& bind, UniqueFd fd,
                      const sockaddr_storage& peer) {
  if (!expectsProxyHeader(bind, peer)) {
    if (auto s = makeSession(*this, frontend, bind, std::move(fd), peer)) adopt(std::move(s));
    return;
  }
  auto pending = std::make_unique<PendingHeader>();
  PendingHeader* raw = pending.get();
  raw->frontend = &frontend;
  raw->bind = &bind;
  raw->peer = peer;
  pendingHeaders_.push_back(std::move(pending));
  raw->slot = std::prev(pendingHeaders_.end());
  raw->wait = std::make_unique<ProxyHeaderWait>(
      base(), std::move(fd), frontend.config->timeouts.client,
      [this, raw](std::optional<ProxyHeader> header, const std::string& why) {
        onProxyHeader(raw, std::move(header), why);
      });
}

void Worker::onProxyHeader(PendingHeader* p, std::optional<ProxyHeader> header,
                           const std::string& why) {
  UniqueFd fd = p->wait->takeFd();
  if (header && !stopping_) {
    if (auto s = makeSession(*this, *p->frontend, *p->bind, std::move(fd), p->peer, &*header))
      adopt(std::move(s));
  } else if (!why.empty()) {
    // HAProxy counts a bad PROXY header as a failed request of the frontend, and logs it.
    counters_.frontend(p->frontend->index).requestErrors.add();
    int64_t now = time_->nowUs();
    if (now - lastProxyHeaderLogUs_ > 1'000'000) {  // one line a second at most, per worker
      lastProxyHeaderLogUs_ = now;
      logging::get(logging::Component::Proxy)
          .warn("frontend {}: connection from {}:{} closed: {}", p->frontend->config->name,
                peerAddress(p->peer).toString(), peerPort(p->peer), why);
    }
  }
  // Deleted after this callback (the wait is inside its own callback now).
  retiredHeaders_.push_back(std::move(*p->slot));
  pendingHeaders_.erase(p->slot);
  reapEv_.activate();
}

void Worker::adopt(std::unique_ptr<Session> session) {
  load_.fetch_add(1, std::memory_order_relaxed);
  Session* s = session.get();
  sessions_.push_back(std::move(session));
  s->slot_ = std::prev(sessions_.end());
  s->start();
}

void Worker::retire(Session* session) {
  load_.fetch_sub(1, std::memory_order_relaxed);
  retired_.push_back(std::move(*session->slot_));
  sessions_.erase(session->slot_);
  reapEv_.activate();
  sessionClosed();
}

void Worker::sessionClosed() {
  if (stopping_) return maybeExit();
  for (auto& l : listeners_)
    if (l->paused()) l->resume();
}

void Worker::requestStop(Duration grace, bool closeIdle) {
  graceMicros_.store(grace.count());
  closeIdleOnStop_.store(closeIdle);
  stopEv_.activate();  // thread-safe: the base is (makeThreadSafeEventBase)
}

void Worker::onGraceOver() {
  if (!sessions_.empty())
    logging::get(logging::Component::Proxy)
        .warn("worker {}: grace period over, closing {} remaining connection(s)", index_,
              sessions_.size());
  sessions_.clear();
  event_base_loopbreak(base());
}

void Worker::closeListeners() {
  for (auto& l : listeners_) l->close();
}

void Worker::beginStop() {
  if (stopping_) return;
  stopping_.store(true, std::memory_order_relaxed);
  health_.reset();  // no more checks while draining
  for (auto& l : listeners_) l->close();
  pool_.closeAll();
  pendingHeaders_.clear();  // connections that never said who they are for: closed now
  // Idle keep-alive connections close now; busy ones after their current response.
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    Session* s = it->get();
    ++it;
    s->stopWhenIdle(closeIdleOnStop_.load());  // one that closes retires itself
  }
  graceTimer_.arm(Duration(graceMicros_.load()));
  maybeExit();
}

void Worker::maybeExit() {
  if (stopping_ && sessions_.empty()) event_base_loopbreak(base());
}

}  // namespace tandem::proxy
