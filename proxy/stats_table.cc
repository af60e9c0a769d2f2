#include "proxy/stats_table.h"

#include <algorithm>
#include <cstdio>

#include "proxy/runtime.h"

namespace tandem::proxy {
namespace {

const std::vector<std::string_view> kColumns = {"pxname",
                                                "svname",
                                                "qcur",
                                                "qmax",
                                                "scur",
                                                "smax",
                                                "slim",
                                                "stot",
                                                "bin",
                                                "bout",
                                                "dreq",
                                                "dresp",
                                                "ereq",
                                                "econ",
                                                "eresp",
                                                "wretr",
                                                "wredis",
                                                "status",
                                                "weight",
                                                "act",
                                                "bck",
                                                "chkfail",
                                                "chkdown",
                                                "lastchg",
                                                "downtime",
                                                "qlimit",
                                                "pid",
                                                "iid",
                                                "sid",
                                                "throttle",
                                                "lbtot",
                                                "tracked",
                                                "type",
                                                "rate",
                                                "rate_lim",
                                                "rate_max",
                                                "check_status",
                                                "check_code",
                                                "check_duration",
                                                "hrsp_1xx",
                                                "hrsp_2xx",
                                                "hrsp_3xx",
                                                "hrsp_4xx",
                                                "hrsp_5xx",
                                                "hrsp_other",
                                                "hanafail",
                                                "req_rate",
                                                "req_rate_max",
                                                "req_tot",
                                                "cli_abrt",
                                                "srv_abrt",
                                                "comp_in",
                                                "comp_out",
                                                "comp_byp",
                                                "comp_rsp",
                                                "lastsess",
                                                "last_chk",
                                                "last_agt",
                                                "qtime",
                                                "ctime",
                                                "rtime",
                                                "ttime",
                                                "agent_status",
                                                "agent_code",
                                                "agent_duration",
                                                "check_desc",
                                                "agent_desc",
                                                "check_rise",
                                                "check_fall",
                                                "check_health",
                                                "agent_rise",
                                                "agent_fall",
                                                "agent_health",
                                                "addr",
                                                "cookie",
                                                "mode",
                                                "algo",
                                                "conn_rate",
                                                "conn_rate_max",
                                                "conn_tot",
                                                "intercepted",
                                                "dcon",
                                                "dses",
                                                "wrew",
                                                "connect",
                                                "reuse",
                                                "cache_lookups",
                                                "cache_hits",
                                                "srv_icur",
                                                "src_ilim",
                                                "qtime_max",
                                                "ctime_max",
                                                "rtime_max",
                                                "ttime_max",
                                                "eint",
                                                "idle_conn_cur",
                                                "safe_conn_cur",
                                                "used_conn_cur",
                                                "need_conn_est",
                                                "uweight",
                                                "agg_server_status",
                                                "agg_server_check_status",
                                                "agg_check_status"};

size_t columnIndex(std::string_view name) {
  auto it = std::find(kColumns.begin(), kColumns.end(), name);
  return static_cast<size_t>(it - kColumns.begin());
}

// Fills one line by column name.
class LineBuilder {
 public:
  LineBuilder(StatsLine::Type type, std::string proxy, std::string server) {
    line_.type = type;
    line_.proxy = std::move(proxy);
    line_.server = std::move(server);
    line_.fields.resize(kColumns.size());
    set("pxname", line_.proxy);
    set("svname", line_.server);
    set("type", static_cast<int>(type));
    set("pid", 1);
  }
  void set(std::string_view column, std::string value) {
    line_.fields[columnIndex(column)] = std::move(value);
  }
  template <typename N>
  void set(std::string_view column, N number) {
    set(column, std::to_string(number));
  }
  void set(std::string_view column, const char* value) { set(column, std::string(value)); }
  void traffic(const TrafficTotals& t, bool http) {
    set("bin", t.bytesIn);
    set("bout", t.bytesOut);
    if (!http) return;
    const char* codes[] = {"hrsp_1xx", "hrsp_2xx", "hrsp_3xx",
                           "hrsp_4xx", "hrsp_5xx", "hrsp_other"};
    for (size_t i = 0; i < 6; ++i) set(codes[i], t.responses[i]);
  }
  void times(const TrafficTotals& t) {
    set("qtime", static_cast<uint64_t>(t.queueMs));
    set("ctime", static_cast<uint64_t>(t.connectMs));
    set("rtime", static_cast<uint64_t>(t.responseMs));
    set("ttime", static_cast<uint64_t>(t.totalMs));
  }
  StatsLine take() { return std::move(line_); }

 private:
  StatsLine line_;
};

}  // namespace

const std::string& StatsLine::get(std::string_view column) const {
  static const std::string kEmpty;
  size_t i = columnIndex(column);
  return i < fields.size() ? fields[i] : kEmpty;
}

const std::vector<std::string_view>& statsColumns() {
  return kColumns;
}

std::string humanDuration(int64_t seconds) {
  char buf[32];
  if (seconds < 0) seconds = 0;
  if (seconds >= 86400)
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(seconds / 86400),
                  static_cast<long long>(seconds % 86400 / 3600));
  else if (seconds >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds % 3600 / 60));
  else if (seconds >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  else
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(seconds));
  return buf;
}

namespace {
// HAProxy's rate columns from the last second of the history: rate/rate_max (sessions),
// req_rate/req_rate_max (HTTP requests).
void rates(LineBuilder& l, const StatsHistory::Section* h, bool http) {
  if (!h || h->sessions.perSecond.empty()) return;
  l.set("rate", static_cast<uint64_t>(h->sessions.perSecond.back()));
  l.set("rate_max", static_cast<uint64_t>(h->sessions.max));
  if (!http) return;
  l.set("req_rate", static_cast<uint64_t>(h->requests.perSecond.back()));
  l.set("req_rate_max", static_cast<uint64_t>(h->requests.max));
}

const StatsHistory::Section* find(const std::vector<StatsHistory::Section>& sections,
                                  const std::string& name) {
  for (const auto& s : sections)
    if (s.name == name) return &s;
  return nullptr;
}
}  // namespace

std::vector<StatsLine> statsTable(Runtime& rt, int64_t nowUs) {
  std::vector<StatsLine> out;
  std::vector<StatsHistory::Section> feHistory = rt.history().frontends();
  std::vector<StatsHistory::Section> beHistory = rt.history().backends();
  uint32_t globalMax = rt.config().maxconn;
  int iid = 0;
  for (auto& fe : rt.frontends()) {
    ++iid;
    if (fe->config->builtin != Frontend::Builtin::None) continue;
    const Frontend& c = *fe->config;
    TrafficTotals t = rt.totals(*fe);
    LineBuilder l(StatsLine::Type::Frontend, c.name, "FRONTEND");
    l.set("scur", fe->connections.load(std::memory_order_relaxed));
    l.set("smax", fe->maxConnections.load(std::memory_order_relaxed));
    l.set("slim", c.maxconn ? c.maxconn : globalMax);
    l.set("stot", t.sessions);
    l.set("conn_tot", t.sessions);
    l.set("dreq", t.denied);
    l.set("dresp", 0);
    l.set("ereq", t.requestErrors);
    l.set("status", "OPEN");
    l.set("iid", iid);
    l.set("sid", 0);
    bool http = c.mode == Mode::Http;
    l.traffic(t, http);
    if (http) l.set("req_tot", t.httpRequests);
    rates(l, find(feHistory, c.name), http);
    l.set("mode", toString(c.mode));
    out.push_back(l.take());
  }
  for (auto& be : rt.backends()) {
    ++iid;
    const Backend& c = *be->config;
    bool http = c.mode == Mode::Http;
    int act = 0, bck = 0, weight = 0;
    uint64_t chkdown = 0, lbtot = 0;
    int64_t lastChange = rt.startedAtUs();
    for (auto& s : be->servers) {
      const health::ServerHealth& h = s->health;
      TrafficTotals st = rt.totals(*s);
      bool usable = h.usable();
      if (usable) {
        (s->config->backup ? bck : act)++;
        if (!s->config->backup) weight += h.effectiveWeight();
      }
      chkdown += h.upDownTransitions();
      lbtot += s->served.load(std::memory_order_relaxed);
      lastChange = std::max(lastChange, h.lastChangeUs());
      LineBuilder l(StatsLine::Type::Server, c.name, s->config->name);
      l.set("qcur", 0);
      l.set("qmax", 0);
      l.set("scur", s->active.load(std::memory_order_relaxed));
      l.set("smax", s->maxActive.load(std::memory_order_relaxed));
      if (s->config->maxconn) l.set("slim", s->config->maxconn);
      l.set("stot", s->served.load(std::memory_order_relaxed));
      l.set("lbtot", s->served.load(std::memory_order_relaxed));
      l.traffic(st, http);
      l.set("dresp", 0);
      l.set("econ", st.connectErrors);
      l.set("eresp", st.responseErrors);
      l.set("wretr", st.retries);
      l.set("wredis", st.redispatches);
      // HAProxy's status column; "UP, going down" stands for its "UP 1/3" (without counts).
      l.set("status", std::string(health::toString(h.state())));
      l.set("weight", h.effectiveWeight());
      l.set("uweight", s->config->weight);
      l.set("act", s->config->backup ? 0 : 1);
      l.set("bck", s->config->backup ? 1 : 0);
      int64_t changed = h.lastChangeUs() >= 0 ? h.lastChangeUs() : rt.startedAtUs();
      l.set("lastchg", (nowUs - changed) / 1'000'000);
      l.set("iid", iid);
      l.set("sid", s->index + 1);
      if (s->config->check.enabled) {
        l.set("chkfail", h.checkFailures());
        l.set("chkdown", h.upDownTransitions());
        l.set("downtime", h.downtimeUs(nowUs) / 1'000'000);
        l.set("check_status", std::string(health::toString(h.lastCheckStatus())));
        if (h.lastCheckCode()) l.set("check_code", h.lastCheckCode());
        l.set("check_duration", h.lastCheckDurationUs() / 1000);
        l.set("check_rise", s->config->check.rise);
        l.set("check_fall", s->config->check.fall);
      }
      if (h.effectiveWeight() < s->config->weight && s->config->slowstart.count() > 0 &&
          isUsable(h.state()))
        l.set("throttle", s->config->weight ? h.effectiveWeight() * 100 / s->config->weight : 0);
      l.times(st);
      l.set("addr", s->config->address.toString());
      l.set("mode", toString(c.mode));
      out.push_back(l.take());
    }
    TrafficTotals t = rt.totals(*be);
    LineBuilder l(StatsLine::Type::Backend, c.name, "BACKEND");
    l.set("qcur", be->queued.load(std::memory_order_relaxed));
    l.set("qmax", be->maxQueued.load(std::memory_order_relaxed));
    l.set("scur", be->streams.load(std::memory_order_relaxed));
    l.set("smax", be->maxStreams.load(std::memory_order_relaxed));
    l.set("slim", be->fullconn);
    l.set("stot", t.sessions);
    l.set("lbtot", lbtot);
    l.traffic(t, http);
    l.set("dreq", t.denied);
    l.set("dresp", 0);
    l.set("econ", t.connectErrors);
    l.set("eresp", t.responseErrors);
    l.set("wretr", t.retries);
    l.set("wredis", t.redispatches);
    l.set("status", act + bck > 0 ? "UP" : "DOWN");
    l.set("weight", weight);
    l.set("act", act);
    l.set("bck", bck);
    l.set("chkdown", chkdown);
    l.set("lastchg", (nowUs - lastChange) / 1'000'000);
    l.set("iid", iid);
    l.set("sid", 0);
    if (http) l.set("req_tot", t.httpRequests);
    rates(l, find(beHistory, c.name), false);
    l.times(t);
    l.set("mode", toString(c.mode));
    l.set("algo", toString(c.balance.algorithm));
    out.push_back(l.take());
  }
  return out;
}

std::string statsCsv(const std::vector<StatsLine>& table) {
  std::string out = "# ";
  for (std::string_view c : kColumns) {
    out += c;
    out += ',';
  }
  out += '\n';
  for (const StatsLine& l : table) {
    for (const std::string& f : l.fields) {
      // CSV fields never hold a comma or a line break (names are YAML keys; addresses are
      // host:port): replace any that would, so a line stays a line.
      for (char ch : f) out += ch == ',' || ch == '\n' ? ' ' : ch;
      out += ',';
    }
    out += '\n';
  }
  return out;
}

}  // namespace tandem::proxy
