// The proxy's shared, read-mostly state built once from proxy::Config: frontends with compiled
// ACLs and routes, backends with their servers. Worker threads read it; per-server counters and
// health are atomics, so the request path takes no lock.
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/node_status.h"
#include "health/saved_state.h"
#include "health/server_health.h"
#include "proxy/access_log.h"
#include "proxy/access_log_writer.h"
#include "proxy/acl.h"
#include "proxy/config.h"
#include "proxy/rate_limiter.h"
#include "proxy/stats_history.h"
#include "proxy/tls_client_context.h"
#include "proxy/tls_context.h"
#include "proxy/traffic_counters.h"

namespace tandem::proxy {

// The admin state a server's configuration gives it: `disabled` is MAINT, `drain` is DRAIN.
inline health::AdminState configuredAdmin(const Server& s) {
  return s.disabled ? health::AdminState::Maint
         : s.drain  ? health::AdminState::Drain
                    : health::AdminState::Ready;
}

// Raises a high-water mark to `now` if it is higher (the max columns: sessions, queue).
inline void raiseMax(std::atomic<uint32_t>& max, uint32_t now) {
  uint32_t seen = max.load(std::memory_order_relaxed);
  while (now > seen && !max.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
}

// The reason phrase HAProxy uses for an HTTP status ("Service Unavailable").
const char* reasonPhrase(int status);

struct ServerRuntime {
  const Server* config = nullptr;
  size_t index = 0;  // in its backend
  size_t id = 0;     // across all backends (its block in WorkerCounters)
  sockaddr_storage address{};
  socklen_t addressLength = 0;
  health::ServerHealth health;
  std::atomic<uint32_t> active{0};  // connections in use, across threads (for maxconn/leastconn)
  std::atomic<uint64_t> served{0};  // requests or TCP sessions sent to it
  std::atomic<uint32_t> maxActive{0};
  std::unique_ptr<TlsClientContext> tls;  // ssl: true
  std::atomic<int64_t> lastTlsFailureLogUs{INT64_MIN / 2};

  // Takes a connection slot; false when the server is at `max` (0: unlimited).
  bool acquireSlot(uint32_t max) {
    uint32_t cur = active.load(std::memory_order_relaxed);
    do {
      if (max && cur >= max) return false;
    } while (!active.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
    raiseMax(maxActive, cur + 1);
    return true;
  }

  void releaseSlot() { active.fetch_sub(1, std::memory_order_relaxed); }
};

struct RequestRule {
  const HttpRequestRule* config;
  CompiledCondition when;
};

struct ResponseRule {
  const HttpResponseRule* config;
  CompiledCondition when;
};

struct BackendRuntime;

struct Route {
  BackendRuntime* backend;
  CompiledCondition when;
};

// The HTTP rules of one section (a frontend or a backend): its ACLs and the http_request /
// http_response rules that test them. A backend's rules run after the frontend's, on the
// backend the request was routed to; its response rules run before the frontend's (HAProxy).
struct HttpRules {
  std::vector<std::string> aclNames;  // index -> name, for conditions
  std::vector<CompiledAcl> acls;
  std::vector<RequestRule> request;
  std::vector<ResponseRule> response;

  HttpRules() = default;
  HttpRules(const std::map<std::string, Acl>& acls, const std::vector<HttpRequestRule>& request,
            const std::vector<HttpResponseRule>& response);
  bool empty() const { return request.empty() && response.empty(); }
};

struct BackendRuntime {
  const Backend* config = nullptr;
  size_t index = 0;
  std::vector<std::unique_ptr<ServerRuntime>> servers;
  HttpRules rules;
  std::atomic<uint32_t> queued{0};  // streams waiting for a maxconn slot, across workers
  std::atomic<uint32_t> maxQueued{0};
  // A server of it sends the request's Host as its TLS SNI: the transaction keeps the name.
  bool sniFromHost = false;
  // A server of it sends the client's own SNI: a TCP stream connects once the client's
  // handshake gave it.
  bool sniFromClient = false;
  // Streams using this backend now, queued ones included (HAProxy's beconn).
  std::atomic<uint32_t> streams{0};
  std::atomic<uint32_t> maxStreams{0};
  uint32_t fullconn = 0;  // configured, or derived from the frontends' maxconn at build

  // A server's connection limit now (HAProxy's dynamic maxconn): maxconn, or with minconn a
  // share of it that grows with the backend's load until `fullconn` streams use it.
  uint32_t serverLimit(const ServerRuntime& s) const {
    uint32_t max = s.config->maxconn, min = s.config->minconn;
    if (!max || !min || min >= max || !fullconn) return max;
    uint64_t load = streams.load(std::memory_order_relaxed);
    if (load >= fullconn) return max;
    uint64_t share = (load * max + fullconn - 1) / fullconn;  // rounded up
    return static_cast<uint32_t>(std::max<uint64_t>(min, share));
  }
};

// A stream's place in its backend's `streams` count: taken when the stream is given a backend,
// given back when it leaves it (next request, end of the stream) — whatever path it leaves by.
class BackendUse {
 public:
  BackendUse() = default;
  BackendUse(const BackendUse&) = delete;
  BackendUse& operator=(const BackendUse&) = delete;
  ~BackendUse() { reset(); }
  BackendUse& operator=(BackendRuntime* be) {
    if (be != backend_) {
      reset();
      backend_ = be;
      if (backend_)
        raiseMax(backend_->maxStreams,
                 backend_->streams.fetch_add(1, std::memory_order_relaxed) + 1);
    }
    return *this;
  }
  void reset() {
    if (backend_) backend_->streams.fetch_sub(1, std::memory_order_relaxed);
    backend_ = nullptr;
  }
  BackendRuntime* get() const { return backend_; }
  BackendRuntime* operator->() const { return backend_; }
  BackendRuntime& operator*() const { return *backend_; }
  explicit operator bool() const { return backend_ != nullptr; }

 private:
  BackendRuntime* backend_ = nullptr;
};

struct FrontendRuntime {
  const Frontend* config = nullptr;
  size_t index = 0;  // its block in WorkerCounters
  HttpRules rules;
  std::vector<Route> routes;  // use_backend, tested with the frontend's ACLs
  BackendRuntime* defaultBackend = nullptr;
  std::map<std::string, std::unique_ptr<RateLimiter>> rateLimiters;  // by table name
  std::atomic<uint32_t> connections{0};
  std::atomic<uint32_t> maxConnections{0};
  AccessLogWriter* accessLog = nullptr;  // where this frontend's lines go; null: no access log
  LogFormat accessLogFormat;             // what a line says
  std::atomic<uint64_t> logSequence{0};  // lines this frontend had to write, for sampling
  // Whether the next line is written (`sample`); counts it.
  bool sampleLogLine() {
    const AccessLog& log = config->log;
    if (!log.sampleSize) return true;
    uint32_t at = static_cast<uint32_t>(logSequence.fetch_add(1, std::memory_order_relaxed) %
                                        log.sampleSize) +
                  1;
    for (const auto& [from, to] : log.sampleRanges)
      if (at >= from && at <= to) return true;
    return false;
  }
  // Renders a record in this frontend's format and hands it to its writer (with the journal's
  // structured fields when the target takes them).
  void writeLog(const AccessLogRecord& r) const {
    std::string line = accessLogFormat.render(r, config->log.json);
    accessLog->submit(line, accessLog->structured() ? journalFields(r) : std::string());
  }
  // TLS termination, by bind (only binds with `crt:` have one).
  std::map<const Bind*, std::unique_ptr<TlsContext>> tls;
  const TlsContext* tlsFor(const Bind& bind) const {
    auto it = tls.find(&bind);
    return it == tls.end() ? nullptr : it->second.get();
  }
};

// Error responses: a configured errorfile, or a built-in page with HAProxy's wording.
class ErrorPages {
 public:
  explicit ErrorPages(const std::map<int, std::string>& files);
  // A complete HTTP/1.1 response that closes the connection.
  const std::string& response(int status) const;

 private:
  std::map<int, std::string> pages_;
};

class Runtime {
 public:
  // Builds everything; on failure (a server name that does not resolve, say) returns null
  // and sets *error.
  static std::unique_ptr<Runtime> build(const Config& config, std::string* error);

  const Config& config() const { return config_; }
  std::vector<std::unique_ptr<FrontendRuntime>>& frontends() { return frontends_; }
  std::vector<std::unique_ptr<BackendRuntime>>& backends() { return backends_; }
  const ErrorPages& errors() const { return errors_; }
  // The access log writers, by destination and header (metrics read their counters).
  const std::map<std::string, std::unique_ptr<AccessLogWriter>>& accessLogs() const {
    return accessLogs_;
  }
  std::atomic<uint32_t>& connections() { return connections_; }
  int64_t startedAtUs() const { return startedAtUs_; }  // steady clock, when built
  // Per-second samples for rates and the stats page's plots (worker 0 takes them).
  StatsHistory& history() { return history_; }
  // A worker's traffic counters, made when the worker is (before the threads start).
  WorkerCounters& addWorkerCounters();
  // The workers' counters added up.
  TrafficTotals totals(const FrontendRuntime& fe) const;
  TrafficTotals totals(const BackendRuntime& be) const;
  TrafficTotals totals(const ServerRuntime& s) const;
  // By names (the admin socket, the stats page); null when there is no such server.
  ServerRuntime* findServer(std::string_view backend, std::string_view server);

  // Unchecked servers have no health monitor to report their state: the state an admin gives
  // one goes to this hook (the supervisor's channel), so `tandem status` and the VRRP weight
  // read what the proxy itself routes by. Set once, before the worker threads start.
  using StateHook = std::function<void(const health::SavedServerState&)>;
  void setUncheckedStateHook(StateHook hook) { uncheckedStateHook_ = std::move(hook); }
  void reportUnchecked(const health::SavedServerState& s) const {
    if (uncheckedStateHook_) uncheckedStateHook_(s);
  }
  // Every change of a server's state with its reason, checked or not (the supervisor keeps
  // the last ones for `tandem status`). Set once, before the worker threads start.
  using TransitionHook = std::function<void(const std::string& backend, const std::string& server,
                                            const health::Transition&)>;
  void setTransitionHook(TransitionHook hook) { transitionHook_ = std::move(hook); }
  void reportTransition(const std::string& backend, const std::string& server,
                        const health::Transition& t) const {
    if (transitionHook_) transitionHook_(backend, server, t);
  }
  // The node around this worker as the supervisor last told it (the pair, reloads, restarts);
  // null when it never did (`tandem proxy` on its own). Any thread.
  void setNodeStatus(NodeStatus node) {
    auto shared = std::make_shared<const NodeStatus>(std::move(node));
    std::lock_guard lock(nodeMutex_);
    node_ = std::move(shared);
  }
  std::shared_ptr<const NodeStatus> nodeStatus() const {
    std::lock_guard lock(nodeMutex_);
    return node_;
  }
  // What an unchecked server's state looks like to the supervisor (and to the next worker).
  static health::SavedServerState uncheckedState(const std::string& backend,
                                                 const ServerRuntime& server);

 private:
  explicit Runtime(const Config& c) : config_(c), errors_(c.errorFiles) {}
  Config config_;
  std::vector<std::unique_ptr<FrontendRuntime>> frontends_;
  std::vector<std::unique_ptr<BackendRuntime>> backends_;
  ErrorPages errors_;
  std::map<std::string, std::unique_ptr<AccessLogWriter>> accessLogs_;  // by target
  std::atomic<uint32_t> connections_{0};
  size_t serverCount_ = 0;
  int64_t startedAtUs_ = health::steadyNowUs();
  StatsHistory history_;
  std::vector<std::unique_ptr<WorkerCounters>> workerCounters_;
  StateHook uncheckedStateHook_;
  TransitionHook transitionHook_;
  mutable std::mutex nodeMutex_;  // the scrape path only, never the data path
  std::shared_ptr<const NodeStatus> node_;
};

}  // namespace tandem::proxy
