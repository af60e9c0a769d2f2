// What went through each frontend, backend and server (HAProxy's stot, bin/bout, req_tot,
// hrsp_Nxx, dreq, ereq, econ, eresp, wretr, wredis and its qtime/ctime/rtime/ttime averages),
// kept per worker thread: the worker that serves a stream is the only writer of its block, so
// counting costs a plain add (no locked instruction, no cache line shared between threads), and
// a reader (the stats page, the Prometheus exporter) adds the workers' blocks up.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace tandem::proxy {

// A counter one thread writes and any thread reads. Relaxed load + store rather than fetch_add:
// with a single writer nothing is lost, and x86 compiles it to a plain add.
class WorkerCounter {
 public:
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// HAProxy's sliding average over the last kWindow samples (its swrate): the sum form
// `sum = sum - sum / N + v`, read as sum / N; until N samples, a plain mean.
class SlidingAverage {
 public:
  static constexpr uint64_t kWindow = 1024;
  void add(uint64_t v) {
    uint64_t n = samples_.load(std::memory_order_relaxed);
    uint64_t sum = sum_.load(std::memory_order_relaxed);
    sum = n < kWindow ? sum + v : sum - sum / kWindow + v;
    sum_.store(sum, std::memory_order_relaxed);
    samples_.store(n + 1, std::memory_order_relaxed);
  }
  // (sum, weight): the average is sum / weight; weight 0 when nothing was added.
  std::pair<uint64_t, uint64_t> state() const {
    uint64_t n = samples_.load(std::memory_order_relaxed);
    return {sum_.load(std::memory_order_relaxed), n < kWindow ? n : kWindow};
  }

 private:
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> samples_{0};
};

// Upper bounds (seconds) of the request-time histogram buckets, +Inf after the last.
inline constexpr std::array<double, 12> kTimeBucketsSeconds = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

// HTTP status classes: 1xx..5xx and anything else (HAProxy's hrsp_other).
inline size_t statusClass(int status) {
  return status >= 100 && status < 600 ? static_cast<size_t>(status / 100 - 1) : 5;
}

struct TrafficCounters {
  // Frontend: client connections accepted. Backend: streams given to it (HTTP: requests;
  // TCP: connections). Server: see ServerRuntime::served.
  WorkerCounter sessions;
  WorkerCounter bytesIn;   // frontend: read from clients; backend/server: sent to servers
  WorkerCounter bytesOut;  // sent to clients (frontend), for this backend/server's responses
  WorkerCounter httpRequests;
  std::array<WorkerCounter, 6> responses;  // by statusClass()
  WorkerCounter denied;                    // refused by a deny rule of this section
  WorkerCounter rateLimited;               // refused by a rate limit (frontends)
  WorkerCounter requestErrors;             // invalid requests (frontends)
  WorkerCounter connectErrors;             // failed connection attempts (backend/server)
  WorkerCounter responseErrors;  // server closed, reset or timed out before its response ended
  WorkerCounter retries;         // connection attempts after the first
  WorkerCounter redispatches;    // retries that went to another server
  // HTTP/2 client connections (frontends), as HAProxy's h2 stats module counts them.
  struct H2 {
    WorkerCounter connections;       // h2_total_connections
    WorkerCounter streams;           // h2_headers_rcvd: requests begun
    WorkerCounter rstReceived;       // h2_rst_stream_rcvd: streams the client cancelled
    WorkerCounter rstSent;           // h2_rst_stream_resp
    WorkerCounter goawaySent;        // h2_goaway_resp
    WorkerCounter streamErrors;      // h2_detected_strm_protocol_errors: malformed requests
    WorkerCounter connectionErrors;  // h2_detected_conn_protocol_errors
    WorkerCounter floods;  // connections ended for abuse (rapid reset, CONTINUATION flood...)
  } h2;
  // Times of the requests that reached a server, milliseconds (HAProxy's qtime/ctime/rtime/
  // ttime), and a histogram of the total time.
  SlidingAverage queueMs, connectMs, responseMs, totalMs;
  std::array<WorkerCounter, kTimeBucketsSeconds.size() + 1> totalTimeBuckets;  // not cumulative
  WorkerCounter totalTimeSumUs;

  void addTotalTime(int64_t us) {
    size_t i = 0;
    while (i < kTimeBucketsSeconds.size() && static_cast<double>(us) > kTimeBucketsSeconds[i] * 1e6)
      ++i;
    totalTimeBuckets[i].add();
    totalTimeSumUs.add(static_cast<uint64_t>(us));
  }
};

// One worker's counters: a block per frontend, backend and server (by Runtime's indexes).
class WorkerCounters {
 public:
  WorkerCounters(size_t frontends, size_t backends, size_t servers)
      : frontends_(std::make_unique<TrafficCounters[]>(frontends)),
        backends_(std::make_unique<TrafficCounters[]>(backends)),
        servers_(std::make_unique<TrafficCounters[]>(servers)) {}
  TrafficCounters& frontend(size_t i) { return frontends_[i]; }
  TrafficCounters& backend(size_t i) { return backends_[i]; }
  TrafficCounters& server(size_t id) { return servers_[id]; }
  const TrafficCounters& frontend(size_t i) const { return frontends_[i]; }
  const TrafficCounters& backend(size_t i) const { return backends_[i]; }
  const TrafficCounters& server(size_t id) const { return servers_[id]; }

 private:
  std::unique_ptr<TrafficCounters[]> frontends_, backends_, servers_;
};

// The sum over the workers, as plain numbers (what a page or a scrape shows).
struct TrafficTotals {
  uint64_t sessions = 0, bytesIn = 0, bytesOut = 0, httpRequests = 0;
  std::array<uint64_t, 6> responses{};
  uint64_t denied = 0, rateLimited = 0, requestErrors = 0, connectErrors = 0, responseErrors = 0;
  uint64_t retries = 0, redispatches = 0;
  struct H2 {
    uint64_t connections = 0, streams = 0, rstReceived = 0, rstSent = 0, goawaySent = 0,
             streamErrors = 0, connectionErrors = 0, floods = 0;
  } h2;
  // Sliding averages in milliseconds (0 with no sample), the workers' windows weighed by size.
  double queueMs = 0, connectMs = 0, responseMs = 0, totalMs = 0;
  std::array<uint64_t, kTimeBucketsSeconds.size() + 1> totalTimeBuckets{};
  uint64_t totalTimeSumUs = 0;

  void add(const TrafficCounters& c);
  // Ends a sum: turns the accumulated averages into means.
  void finish();

 private:
  std::array<std::pair<uint64_t, uint64_t>, 4> averages_{};
};

inline void TrafficTotals::add(const TrafficCounters& c) {
  sessions += c.sessions.get();
  bytesIn += c.bytesIn.get();
  bytesOut += c.bytesOut.get();
  httpRequests += c.httpRequests.get();
  for (size_t i = 0; i < responses.size(); ++i) responses[i] += c.responses[i].get();
  denied += c.denied.get();
  rateLimited += c.rateLimited.get();
  requestErrors += c.requestErrors.get();
  connectErrors += c.connectErrors.get();
  responseErrors += c.responseErrors.get();
  retries += c.retries.get();
  redispatches += c.redispatches.get();
  h2.connections += c.h2.connections.get();
  h2.streams += c.h2.streams.get();
  h2.rstReceived += c.h2.rstReceived.get();
  h2.rstSent += c.h2.rstSent.get();
  h2.goawaySent += c.h2.goawaySent.get();
  h2.streamErrors += c.h2.streamErrors.get();
  h2.connectionErrors += c.h2.connectionErrors.get();
  h2.floods += c.h2.floods.get();
  const SlidingAverage* avgs[] = {&c.queueMs, &c.connectMs, &c.responseMs, &c.totalMs};
  for (size_t i = 0; i < 4; ++i) {
    auto [sum, weight] = avgs[i]->state();
    averages_[i].first += sum;
    averages_[i].second += weight;
  }
  for (size_t i = 0; i < totalTimeBuckets.size(); ++i)
    totalTimeBuckets[i] += c.totalTimeBuckets[i].get();
  totalTimeSumUs += c.totalTimeSumUs.get();
}

inline void TrafficTotals::finish() {
  double* out[] = {&queueMs, &connectMs, &responseMs, &totalMs};
  for (size_t i = 0; i < 4; ++i)
    *out[i] = averages_[i].second ? static_cast<double>(averages_[i].first) /
                                        static_cast<double>(averages_[i].second)
                                  : 0;
}

}  // namespace tandem::proxy
