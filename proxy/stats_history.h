// The last minutes of traffic, one sample a second: HAProxy's current and highest rates
// (rate/rate_max, req_rate/req_rate_max) and the series the stats page plots (requests, 5xx
// responses and the average total time per frontend and backend). Worker 0 samples it every
// second; the pages read it from any worker, under a lock (once a second and per page view:
// never on the request path).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace tandem::proxy {

class Runtime;

class StatsHistory {
 public:
  static constexpr size_t kSeconds = 600;  // what the plots show

  // A series: one value per second (the oldest first), and its highest one-second value.
  struct Series {
    std::vector<double> perSecond;
    double max = 0;
  };
  struct Section {
    std::string name;
    Series sessions;  // new sessions per second (frontends: connections; backends: streams)
    Series requests;  // HTTP requests per second
    Series errors;    // 5xx responses per second
    Series totalMs;   // average total time (backends), ms
  };

  // Takes one sample of every frontend's and backend's counters (call once a second).
  void sample(Runtime& rt);
  // Copies, for a page. Empty until two samples were taken.
  std::vector<Section> frontends() const;
  std::vector<Section> backends() const;

 private:
  struct Totals {
    uint64_t sessions = 0, requests = 0, errors = 0;
  };
  struct Tracked {
    Section section;
    Totals last;
    bool primed = false;
  };
  static void push(Series& s, double v);
  static void advance(Tracked& t, const Totals& now, double totalMs);
  mutable std::mutex mu_;
  std::vector<Tracked> frontends_, backends_;
};

// A small inline SVG line plot of `values` (no script, no external resource): `label` names it
// for screen readers, `width`/`height` in CSS pixels.
std::string svgPlot(const std::vector<double>& values, const std::string& label, int width,
                    int height);

}  // namespace tandem::proxy
