#include "proxy/stats_history.h"

#include <algorithm>
#include <cstdio>

#include "proxy/runtime.h"

namespace tandem::proxy {

void StatsHistory::push(Series& s, double v) {
  s.perSecond.push_back(v);
  if (s.perSecond.size() > kSeconds) s.perSecond.erase(s.perSecond.begin());
  s.max = std::max(s.max, v);
}

void StatsHistory::advance(Tracked& t, const Totals& now, double totalMs) {
  if (t.primed) {
    push(t.section.sessions, static_cast<double>(now.sessions - t.last.sessions));
    push(t.section.requests, static_cast<double>(now.requests - t.last.requests));
    push(t.section.errors, static_cast<double>(now.errors - t.last.errors));
    push(t.section.totalMs, totalMs);
  }
  t.last = now;
  t.primed = true;
}

void StatsHistory::sample(Runtime& rt) {
  std::lock_guard<std::mutex> lock(mu_);
  frontends_.resize(rt.frontends().size());
  backends_.resize(rt.backends().size());
  for (size_t i = 0; i < rt.frontends().size(); ++i) {
    const FrontendRuntime& fe = *rt.frontends()[i];
    TrafficTotals t = rt.totals(fe);
    frontends_[i].section.name = fe.config->name;
    advance(frontends_[i], {t.sessions, t.httpRequests, t.responses[4]}, 0);
  }
  for (size_t i = 0; i < rt.backends().size(); ++i) {
    const BackendRuntime& be = *rt.backends()[i];
    TrafficTotals t = rt.totals(be);
    backends_[i].section.name = be.config->name;
    advance(backends_[i], {t.sessions, t.httpRequests, t.responses[4]}, t.totalMs);
  }
}

std::vector<StatsHistory::Section> StatsHistory::frontends() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Section> out;
  for (const auto& t : frontends_) out.push_back(t.section);
  return out;
}

std::vector<StatsHistory::Section> StatsHistory::backends() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Section> out;
  for (const auto& t : backends_) out.push_back(t.section);
  return out;
}

std::string svgPlot(const std::vector<double>& values, const std::string& label, int width,
                    int height) {
  double top = 0;
  for (double v : values) top = std::max(top, v);
  if (top <= 0) top = 1;
  std::string points;
  size_t n = values.size();
  char buf[64];
  for (size_t i = 0; i < n; ++i) {
    double x = n > 1 ? static_cast<double>(i) * width / static_cast<double>(n - 1) : 0;
    double y = height - 1 - values[i] / top * (height - 2);
    std::snprintf(buf, sizeof buf, "%s%.1f,%.1f", i ? " " : "", x, y);
    points += buf;
  }
  std::string out = "<svg role=\"img\" width=\"" + std::to_string(width) + "\" height=\"" +
                    std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " +
                    std::to_string(height) + "\"><title>";
  for (char c : label)
    out += c == '<' ? std::string("&lt;") : c == '&' ? "&amp;" : std::string(1, c);
  out += "</title><polyline fill=\"none\" stroke=\"#2060c0\" stroke-width=\"1.5\" points=\"" +
         points + "\"/></svg>";
  return out;
}

}  // namespace tandem::proxy
