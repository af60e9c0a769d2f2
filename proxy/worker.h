// One worker thread: its own libevent loop, listening sockets (SO_REUSEPORT), sessions, server
// connection pool, load-balancer state and buffers. Workers share only the Runtime (read-only
// config plus atomic counters), so the request path takes no lock.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/duration.h"
#include "common/event.h"
#include "health/health_monitor.h"
#include "proxy/h2_upstream.h"
#include "proxy/http_parser.h"
#include "proxy/io_buffer.h"
#include "proxy/load_balancer.h"
#include "proxy/proxy_header_wait.h"
#include "proxy/runtime.h"
#include "proxy/server_connection.h"
#include "proxy/time_source.h"
#include "proxy/transport.h"

namespace tandem::proxy {

class Listener;
class MasterChannel;
class Session;

class Worker {
 public:
  Worker(Runtime& runtime, int index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Opens this worker's listening sockets, or takes them from the master process when it
  // handed them over; false (and *error) when a bind fails.
  bool openListeners(std::string* error, MasterChannel* master = nullptr);
  // Health checks of every `workerCount`-th checked server run on this worker's loop, starting
  // from the states a previous worker left (reload); `onState` hears every later change.
  void startHealthChecks(int workerCount, const std::vector<health::SavedServerState>& saved = {},
                         health::HealthMonitor::StateHook onState = nullptr);
  health::HealthMonitor* healthMonitor() { return health_.get(); }
  void startThread();
  void join();
  // Thread-safe: stop accepting, let in-flight requests finish within `grace`, then leave the
  // loop. Idle keep-alive connections close at once on a stop; on a reload (`closeIdle` false)
  // each is kept until its next request, answered with `Connection: close`, or its keep-alive
  // timeout: closing an idle connection races with a client sending on it.
  void requestStop(Duration grace, bool closeIdle = true);
  // No more accepts on this worker (its loop's thread; requestStop does it too).
  void closeListeners();

  event_base* base() const { return base_.get(); }
  // The clock and deadline timers of this worker's sessions and pooled connections.
  TimeSource& time() { return *time_; }
  // Opens a connection to a server: a transport on a connecting socket (writable once the
  // connect is done; connectError() says how it went), or null with *error (an errno).
  // A TLS server's transport takes the PROXY header (`preface`, sent in the clear before its
  // handshake) and leaves it empty; `sni` is the name its handshake sends.
  struct ConnectOptions {
    std::string_view sni;
    std::string* preface = nullptr;
  };
  using ServerConnector =
      std::function<TransportPtr(ServerRuntime& server, const ConnectOptions& options, int* error)>;
  TransportPtr connectTo(ServerRuntime& server, const ConnectOptions& options, int* error) {
    return connector_(server, options, error);
  }
  // Unit tests run sessions on a manual clock and fake connections: set before the first one.
  void setTimeSource(std::unique_ptr<TimeSource> time) { time_ = std::move(time); }
  void setServerConnector(ServerConnector connector) { connector_ = std::move(connector); }
  Runtime& runtime() { return runtime_; }
  BufferPool& buffers() { return buffers_; }
  WorkerCounters& counters() { return counters_; }
  ConnectionPool& connectionPool() { return pool_; }
  // HTTP/2 connections to `proto: h2` servers, shared by this worker's requests.
  H2Upstream& h2Upstream() { return h2Upstream_; }
  LoadBalancer& balancer(const BackendRuntime& be) { return *balancers_[be.index]; }
  Duration idleServerTimeout() const { return std::chrono::seconds(5); }
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  int index() const { return index_; }

  std::unique_ptr<HttpParser> acquireRequestParser();
  void releaseRequestParser(std::unique_ptr<HttpParser>& parser);

  // maxconn queues: FIFO per backend in each worker. A freed slot wakes the first waiter of this
  // worker, or pokes the other workers when only they have waiters.
  void enqueue(BackendRuntime& backend, Session* session);
  void dequeue(Session* session);
  void slotFreed(BackendRuntime& backend);
  void setPeers(std::vector<Worker*> peers) { peers_ = std::move(peers); }
  const std::vector<Worker*>& peers() const { return peers_; }

  // Accept balancing: SO_REUSEPORT spreads connections by a hash, which can leave one worker
  // with many more than another. A listener hands a new connection to the least loaded worker
  // when that one has at least two fewer sessions (HAProxy's listeners do the same).
  struct Handoff {
    int fd;
    sockaddr_storage peer;
    FrontendRuntime* frontend;
    const Bind* bind;
  };
  Worker* leastLoadedPeer();
  uint32_t load() const { return load_.load(std::memory_order_relaxed); }
  void handoff(const Handoff& h);  // thread-safe

  // Runs `fn` on this worker's loop and waits for it (from any other thread); runs it at once
  // when already on this worker's thread or before the thread started. For admin commands.
  void runOnLoop(const std::function<void()>& fn);
  // Queues `fn` on this worker's loop and returns at once (thread-safe; never waits, so two
  // workers posting to each other cannot deadlock). Dropped once the loop has ended.
  void post(std::function<void()> fn);

  // An administrative server state (ready/drain/maint) asked for from a worker thread (the
  // stats page): applied on whichever worker's health monitor checks the server, else set
  // directly (an unchecked server). Asynchronous; false when there is no such server.
  bool requestAdminState(const std::string& backend, const std::string& server,
                         health::AdminState state, const std::string& why);

  // A connection a listener accepted (or another worker handed over): a session now, or once
  // its PROXY header has come (accept_proxy).
  void accepted(FrontendRuntime& frontend, const Bind& bind, UniqueFd fd,
                const sockaddr_storage& peer);
  void adopt(std::unique_ptr<Session> session);
  // A session that closed leaves the worker's list now and is deleted once the current
  // callback is over (Envoy's deferredDelete).
  void retire(Session* session);
  size_t sessionCount() const { return sessions_.size(); }
  // A listener paused at maxconn resumes when a session of this worker closes.
  void sessionClosed();

 private:
  struct PendingHeader {
    std::unique_ptr<ProxyHeaderWait> wait;
    FrontendRuntime* frontend = nullptr;
    const Bind* bind = nullptr;
    sockaddr_storage peer{};
    std::list<std::unique_ptr<PendingHeader>>::iterator slot;
  };
  void onProxyHeader(PendingHeader* p, std::optional<ProxyHeader> header, const std::string& why);
  void onHandoffs();
  void onTasks();
  void serveQueues();
  void onGraceOver();
  void beginStop();
  void maybeExit();

  Runtime& runtime_;
  int index_;
  EventBasePtr base_;  // before every event of this worker: they go first
  std::unique_ptr<TimeSource> time_;
  WorkerCounters& counters_;  // this thread's block of the traffic counters (in the Runtime)
  Timer historyTimer_;        // worker 0: samples the runtime's StatsHistory every second
  ServerConnector connector_;
  BufferPool buffers_;
  std::vector<std::unique_ptr<HttpParser>> parsers_;  // idle request parsers
  ConnectionPool pool_;
  H2Upstream h2Upstream_;
  std::vector<std::unique_ptr<LoadBalancer>> balancers_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::list<std::unique_ptr<Session>> sessions_;
  std::vector<std::unique_ptr<Session>> retired_;               // closed, deleted by reapEv_
  std::list<std::unique_ptr<PendingHeader>> pendingHeaders_;    // waiting for a PROXY header
  std::vector<std::unique_ptr<PendingHeader>> retiredHeaders_;  // deleted by reapEv_
  int64_t lastProxyHeaderLogUs_ = 0;
  Event reapEv_;
  std::vector<std::list<Session*>> queues_;  // by backend index
  std::vector<Worker*> peers_;
  Event queueEv_;
  Event handoffEv_;
  std::mutex handoffMu_;
  std::vector<Handoff> handoffs_;
  std::atomic<uint32_t> load_{0};
  Event taskEv_;
  std::mutex taskMu_;
  std::vector<std::function<void()>> tasks_;
  Event stopEv_;
  Timer graceTimer_;
  std::atomic<int64_t> graceMicros_{0};
  std::atomic<bool> closeIdleOnStop_{true};
  std::atomic<bool> stopping_{false};  // read by other workers (accept balancing)
  bool loopDone_ = false;              // guarded by taskMu_: tasks now run on the caller
  std::unique_ptr<health::HealthMonitor> health_;
  std::thread thread_;
};

// An unchecked server's state is only the admin's: set it (log the change and report it through
// the runtime's unchecked-state hook) directly.
void setUncheckedServerState(const Runtime& runtime, ServerRuntime& server,
                             const std::string& backend, const std::string& serverName,
                             health::AdminState state, const std::string& why);

}  // namespace tandem::proxy
