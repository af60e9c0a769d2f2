#include "proxy/stats_page.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cctype>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "health/server_state.h"
#include "proxy/html_text.h"
#include "proxy/http_parser.h"
#include "proxy/node_view.h"
#include "proxy/prometheus_text.h"
#include "proxy/runtime.h"
#include "proxy/stats_history.h"
#include "proxy/stats_table.h"

namespace tandem::proxy {
namespace {

std::string response(int status, const char* reason, const std::string& type,
                     const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\ncontent-type: " + type +
         "\r\ncontent-length: " + std::to_string(body.size()) + "\r\ncache-control: no-cache\r\n" +
         extra + "connection: close\r\n\r\n" + body;
}

std::string jsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

// HTTP basic auth against the configured users; no users means no auth.
bool authorized(const Stats& stats, std::string_view authorization) {
  if (stats.auth.empty()) return true;
  constexpr std::string_view kBasic = "Basic ";
  if (authorization.size() <= kBasic.size() || authorization.substr(0, kBasic.size()) != kBasic)
    return false;
  std::string_view b64 = authorization.substr(kBasic.size());
  std::string decoded(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return false;
  decoded.resize(static_cast<size_t>(n));
  while (!decoded.empty() && decoded.back() == '\0') decoded.pop_back();  // base64 padding
  for (const auto& u : stats.auth)
    if (decoded == u.user + ":" + u.password) return true;
  return false;
}

bool adminAllowed(const Stats& stats, const IpAddress& client) {
  for (const auto& c : stats.adminAllowedFrom)
    if (c.contains(client)) return true;
  return false;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string urlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 &&
               hexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The target without the admin parameters (b, s, action), and those parameters. HAProxy's form
// names one backend and any number of servers (`s` repeated, one per ticked box).
struct AdminQuery {
  std::string base;
  std::string backend, action;
  std::vector<std::string> servers;
};

// Takes b, s and action out of `a=1&b=2…` into *q; returns what is left, in order.
std::string takeAdminParams(std::string_view query, AdminQuery* q) {
  std::string rest;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string value = eq == std::string_view::npos ? "" : urlDecode(item.substr(eq + 1));
    if (key == "b")
      q->backend = value;
    else if (key == "s")
      q->servers.push_back(value);
    else if (key == "action")
      q->action = value;
    else if (!item.empty())
      rest += (rest.empty() ? "" : "&") + std::string(item);
  }
  return rest;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "https://host:port/path" -> "host:port".
std::string_view authorityOf(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  url.remove_prefix(scheme + 3);
  return url.substr(0, url.find_first_of("/?#"));
}

// Cross-site request forgery: a browser that holds the page's Basic credentials attaches them
// to a form any other site makes it post. Browsers say where a request comes from
// (Sec-Fetch-Site, Origin, Referer); an admin action must come from this page itself. Scripts
// (curl, HAProxy-era tooling) send none of these and are not browsers, so they still work.
// Returns why a request is refused, or "" when it may act.
std::string crossSiteReason(const BuiltinRequest& r) {
  std::string_view site = trimmed(r.secFetchSite);
  if (!site.empty() && site != "same-origin" && site != "none")
    return "Sec-Fetch-Site: " + std::string(site);
  std::string_view host = trimmed(r.host);
  std::string_view origin = trimmed(r.origin);
  if (!origin.empty()) {
    if (!iequals(authorityOf(origin), host)) return "Origin " + std::string(origin);
    return "";
  }
  std::string_view referer = trimmed(r.referer);
  if (!referer.empty() && !iequals(authorityOf(referer), host))
    return "Referer " + std::string(authorityOf(referer));
  return "";
}

AdminQuery splitAdminQuery(std::string_view target) {
  AdminQuery q;
  size_t mark = target.find('?');
  q.base = std::string(target.substr(0, mark));
  if (mark == std::string_view::npos) return q;
  std::string rest = takeAdminParams(target.substr(mark + 1), &q);
  if (!rest.empty()) q.base += "?" + rest;
  return q;
}

std::string csv(Runtime& rt) {
  return statsCsv(statsTable(rt, health::steadyNowUs()));
}

std::string json(Runtime& rt) {
  std::ostringstream o;
  auto table = statsTable(rt, health::steadyNowUs());
  auto num = [](const std::string& v) { return v.empty() ? std::string("null") : v; };
  o << "{\"frontends\":[";
  bool first = true;
  for (const StatsLine& l : table) {
    if (l.type != StatsLine::Type::Frontend) continue;
    o << (first ? "" : ",") << "{\"name\":\"" << jsonEscape(l.proxy)
      << "\",\"current_sessions\":" << num(l.get("scur"))
      << ",\"sessions_total\":" << num(l.get("stot")) << "}";
    first = false;
  }
  o << "],\"servers\":[";
  first = true;
  for (const StatsLine& l : table) {
    if (l.type != StatsLine::Type::Server) continue;
    o << (first ? "" : ",") << "{\"backend\":\"" << jsonEscape(l.proxy) << "\",\"server\":\""
      << jsonEscape(l.server) << "\",\"address\":\"" << jsonEscape(l.get("addr"))
      << "\",\"state\":\"" << l.get("status") << "\",\"weight\":" << num(l.get("weight"))
      << ",\"current_sessions\":" << num(l.get("scur"))
      << ",\"sessions_total\":" << num(l.get("stot"))
      << ",\"backup\":" << (l.get("bck") == "1" ? "true" : "false") << ",\"check_status\":\""
      << l.get("check_status") << "\"}";
    first = false;
  }
  o << "]}\n";
  return o.str();
}

// HAProxy's "last check" cell: L7OK/200 in 1ms.
std::string lastCheck(const StatsLine& l) {
  const std::string& st = l.get("check_status");
  if (st.empty()) return "";
  std::string out = st;
  if (!l.get("check_code").empty()) out += "/" + l.get("check_code");
  return out + " in " + l.get("check_duration") + "ms";
}

// The status class of a line, for its colour: UP, DOWN, MAINT, DRAIN, OPEN.
std::string statusClass(const std::string& status) {
  return status.substr(0, status.find(','));
}

// `autoRefresh` false: HAProxy's ";norefresh", so a keyboard user is not sent back to the top
// by the next reload while tabbing to a button.
std::string html(Runtime& rt, const Stats& stats, bool admin, bool autoRefresh) {
  std::ostringstream o;
  int64_t nowUs = health::steadyNowUs();
  auto table = statsTable(rt, nowUs);
  auto refresh = std::chrono::duration_cast<std::chrono::seconds>(stats.refresh).count();
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  o << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       "<title>Tandem statistics</title>";
  if (refresh > 0 && autoRefresh)
    o << "<meta http-equiv=\"refresh\" content=\"" << refresh << "\">";
  o << "<style>body{font-family:sans-serif;margin:0.5em}"
       ".scroll{overflow-x:auto}table{border-collapse:collapse;margin-bottom:1em;"
       "font-size:0.85em}td,th{border:1px solid #999;padding:2px 6px;text-align:right}"
       "td:first-child,th:first-child{text-align:left}caption{text-align:left;font-weight:bold}"
       ".UP{background:#c0ffc0}.DOWN{background:#ffc0c0}.MAINT{background:#c0c0ff}"
       ".DRAIN{background:#ffd020}.OPEN{background:#e8f0ff}.total{font-weight:bold}"
       ".MASTER{background:#c0ffc0}.BACKUP{background:#e8f0ff}.FAULT{background:#ffc0c0}"
       // Cells on one line (the boxes scroll sideways on a phone) and buttons big enough to
       // tap (WCAG 2.5.8: 24px); a focus ring that shows on every row colour.
       "table{white-space:nowrap}button{min-height:24px}"
       ":focus-visible{outline:2px solid #000;outline-offset:1px}"
       "</style></head><body><h1>Tandem statistics</h1>"
       "<p id=\"node\">Node <b>"
    << htmlEscape(host) << "</b>, Tandem " << TANDEM_VERSION << ", pid " << ::getpid() << ", up "
    << humanDuration((nowUs - rt.startedAtUs()) / 1'000'000) << ", "
    << rt.connections().load(std::memory_order_relaxed) << " of " << rt.config().maxconn
    << " connections. <a href=\"" << htmlEscape(stats.uri) << ";csv\">CSV</a> <a href=\""
    << htmlEscape(stats.uri) << ";json\">JSON</a>";
  if (refresh > 0)
    o << (autoRefresh ? " <a href=\"" + htmlEscape(stats.uri) + ";norefresh\">Stop refreshing</a>"
                      : " <a href=\"" + htmlEscape(stats.uri) + "\">Refresh every " +
                            std::to_string(refresh) + "s</a>");
  o << "</p>";
  if (auto node = rt.nodeStatus()) o << nodeHtml(*node, unixNowMs());
  // The last minutes, plotted (inline SVG: the appliance is often offline, no script needed).
  auto feHistory = rt.history().frontends();
  auto beHistory = rt.history().backends();
  bool anyHistory = false;
  for (const auto& h : feHistory) anyHistory = anyHistory || !h.requests.perSecond.empty();
  if (anyHistory) {
    o << "<div class=\"scroll\"><table id=\"plots\"><caption>The last "
      << StatsHistory::kSeconds / 60
      << " minutes</caption><tr><th>name</th><th>sessions/s now (max)</th><th>sessions/s</th>"
         "<th>requests/s</th><th>5xx/s</th><th>avg total time</th></tr>";
    auto plotRow = [&](const StatsHistory::Section& h, const char* kind, bool latency) {
      if (h.sessions.perSecond.empty()) return;
      o << "<tr><td>" << kind << " " << htmlEscape(h.name) << "</td><td>"
        << static_cast<uint64_t>(h.sessions.perSecond.back()) << " ("
        << static_cast<uint64_t>(h.sessions.max) << ")</td><td>"
        << svgPlot(h.sessions.perSecond, h.name + " sessions per second", 160, 32) << "</td><td>"
        << svgPlot(h.requests.perSecond, h.name + " requests per second", 160, 32) << "</td><td>"
        << svgPlot(h.errors.perSecond, h.name + " 5xx responses per second", 160, 32) << "</td><td>"
        << (latency ? svgPlot(h.totalMs.perSecond, h.name + " average total time", 160, 32) : "")
        << "</td></tr>";
    };
    for (const auto& fe : rt.frontends())
      if (fe->config->builtin == Frontend::Builtin::None)
        for (const auto& h : feHistory)
          if (h.name == fe->config->name) plotRow(h, "Frontend", false);
    for (const auto& h : beHistory) plotRow(h, "Backend", true);
    o << "</table></div>";
  }
  const char* head =
      "<tr><th rowspan=2>name</th><th colspan=2>Queue</th><th colspan=2>Session rate</th>"
      "<th colspan=4>Sessions</th>"
      "<th colspan=2>Bytes</th><th>Denied</th><th colspan=3>Errors</th><th colspan=2>Warnings"
      "</th><th colspan=9>Server</th>%ADMIN%</tr><tr><th>Cur</th><th>Max</th><th>Cur</th>"
      "<th>Max</th><th>Cur</th>"
      "<th>Max</th><th>Limit</th><th>Total</th><th>In</th><th>Out</th><th>Req</th><th>Req</th>"
      "<th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th><th>Status</th><th>LastChk</th>"
      "<th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th>"
      "<th>Thrtle</th></tr>";
  auto row = [&](const StatsLine& l) {
    std::string status = l.get("status");
    bool server = l.type == StatsLine::Type::Server;
    std::string cls = statusClass(status);
    o << "<tr class=\"" << htmlEscape(cls) << (server ? "" : " total") << "\"><td>"
      << htmlEscape(server ? l.server
                           : (l.type == StatsLine::Type::Frontend ? "Frontend" : "Backend"))
      << "</td>";
    for (const char* c : {"qcur", "qmax", "rate", "rate_max", "scur", "smax", "slim", "stot", "bin",
                          "bout", "dreq", "ereq", "econ", "eresp", "wretr", "wredis"})
      o << "<td>" << htmlEscape(l.get(c)) << "</td>";
    std::string since =
        l.get("lastchg").empty() ? "" : humanDuration(std::stoll(l.get("lastchg"))) + " ";
    o << "<td>" << htmlEscape(l.type == StatsLine::Type::Frontend ? status : since + status)
      << "</td><td>" << htmlEscape(lastCheck(l)) << "</td>";
    for (const char* c : {"weight", "act", "bck", "chkfail", "chkdown"})
      o << "<td>" << htmlEscape(l.get(c)) << "</td>";
    const std::string& down = l.get("downtime");
    o << "<td>" << (down.empty() ? "" : humanDuration(std::stoll(down))) << "</td><td>"
      << (l.get("throttle").empty() ? "" : l.get("throttle") + " %") << "</td>";
    if (admin) {
      o << "<td>";
      if (server)
        // One small form per action, posting HAProxy's form fields (b, s, action) in its body.
        for (const char* action : {"ready", "drain", "maint"})
          o << "<form method=\"post\" style=\"display:inline\" action=\"" << htmlEscape(stats.uri)
            << "\"><input type=\"hidden\" name=\"b\" value=\"" << htmlEscape(l.proxy)
            << "\"><input type=\"hidden\" name=\"s\" value=\"" << htmlEscape(l.server)
            << "\"><input type=\"hidden\" name=\"action\" value=\"" << action << "\"><button>"
            << action << "</button></form> ";
      o << "</td>";
    }
    o << "</tr>";
  };
  std::string headRow = head;
  headRow.replace(headRow.find("%ADMIN%"), 7, admin ? "<th rowspan=2>admin</th>" : "");
  // Frontends, then each backend's servers with its total line last (HAProxy's layout).
  for (const StatsLine& l : table) {
    if (l.type != StatsLine::Type::Frontend) continue;
    o << "<div class=\"scroll\"><table><caption>Frontend " << htmlEscape(l.proxy) << "</caption>"
      << headRow;
    row(l);
    o << "</table></div>";
  }
  for (size_t i = 0; i < table.size(); ++i) {
    if (table[i].type == StatsLine::Type::Frontend) continue;
    if (i == 0 || table[i - 1].type != StatsLine::Type::Server ||
        table[i - 1].proxy != table[i].proxy) {
      if (table[i].type == StatsLine::Type::Server || table[i].type == StatsLine::Type::Backend)
        o << "<div class=\"scroll\"><table><caption>Backend " << htmlEscape(table[i].proxy)
          << "</caption>" << headRow;
    }
    row(table[i]);
    if (table[i].type == StatsLine::Type::Backend) o << "</table></div>";
  }
  o << "</body></html>\n";
  return o.str();
}

// A family with one sample per row (`labels` member), the value from `get`.
template <typename Rows, typename Get>
void each(Exposition& e, Rows& rows, const char* name, const char* type, const char* help,
          Get get) {
  e.family(name, type, help);
  for (auto& r : rows) e.sample(r.labels, get(r));
}

const char* const kCodeClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};

// HAProxy's server states (its exporter's `state` label) from ours.
const char* haproxyState(health::ServerState s) {
  switch (s) {
    case health::ServerState::Up:
    case health::ServerState::GoingDown:
      return "UP";
    case health::ServerState::Down:
    case health::ServerState::GoingUp:
      return "DOWN";
    case health::ServerState::Drain:
      return "DRAIN";
    case health::ServerState::Maint:
      return "MAINT";
  }
  return "DOWN";
}

// The families HAProxy's own exporter has, with its names, labels (proxy, server, code, state)
// and meaning, so dashboards and alerts written for it work unchanged; `tandem_` for the rest.
std::string prometheus(Runtime& rt) {
  Exposition e;
  struct Fe {
    FrontendRuntime* rt;
    std::string labels;
    TrafficTotals t;
  };
  struct Be {
    BackendRuntime* rt;
    std::string labels;
    TrafficTotals t;
  };
  struct Srv {
    ServerRuntime* rt;
    const BackendRuntime* be;
    std::string labels;
    TrafficTotals t;
  };
  std::vector<Fe> fes;
  std::vector<Be> bes;
  std::vector<Srv> srvs;
  for (auto& fe : rt.frontends())
    if (fe->config->builtin == Frontend::Builtin::None)
      fes.push_back({fe.get(), label("proxy", fe->config->name), rt.totals(*fe)});
  for (auto& be : rt.backends()) {
    bes.push_back({be.get(), label("proxy", be->config->name), rt.totals(*be)});
    for (auto& s : be->servers)
      srvs.push_back({s.get(), be.get(),
                      label("proxy", be->config->name) + "," + label("server", s->config->name),
                      rt.totals(*s)});
  }
  auto perCode = [&](auto& rows) {
    for (size_t k = 0; k < 6; ++k)
      for (auto& r : rows)
        e.sample(r.labels + "," + label("code", kCodeClasses[k]), r.t.responses[k]);
  };
  uint32_t globalMax = rt.config().maxconn;

  // ---- frontends
  e.family("haproxy_frontend_status", "gauge",
           "Current status of the service, per state label value.");
  for (auto& f : fes) {
    e.sample(f.labels + ",state=\"DOWN\"", 0);
    e.sample(f.labels + ",state=\"UP\"", 1);
  }
  each(e, fes, "haproxy_frontend_current_sessions", "gauge",
       "Number of current sessions on the frontend.",
       [&](auto& f) { return f.rt->connections.load(std::memory_order_relaxed); });
  each(e, fes, "haproxy_frontend_max_sessions", "gauge",
       "Highest number of simultaneous sessions on the frontend.",
       [&](auto& f) { return f.rt->maxConnections.load(std::memory_order_relaxed); });
  each(e, fes, "haproxy_frontend_limit_sessions", "gauge",
       "The frontend's maxconn (the global one when it has none).",
       [&](auto& f) { return f.rt->config->maxconn ? f.rt->config->maxconn : globalMax; });
  each(e, fes, "haproxy_frontend_sessions_total", "counter",
       "Total number of sessions (client connections accepted).",
       [&](auto& f) { return f.t.sessions; });
  each(e, fes, "haproxy_frontend_connections_total", "counter",
       "Total number of client connections accepted.", [&](auto& f) { return f.t.sessions; });
  each(e, fes, "haproxy_frontend_bytes_in_total", "counter", "Bytes received from clients.",
       [&](auto& f) { return f.t.bytesIn; });
  each(e, fes, "haproxy_frontend_bytes_out_total", "counter", "Bytes sent to clients.",
       [&](auto& f) { return f.t.bytesOut; });
  each(e, fes, "haproxy_frontend_requests_denied_total", "counter",
       "Requests refused by the frontend's deny rules.", [&](auto& f) { return f.t.denied; });
  each(e, fes, "haproxy_frontend_request_errors_total", "counter", "Invalid requests (400, 431).",
       [&](auto& f) { return f.t.requestErrors; });
  each(e, fes, "haproxy_frontend_http_requests_total", "counter", "HTTP requests received.",
       [&](auto& f) { return f.t.httpRequests; });
  e.family("haproxy_frontend_http_responses_total", "counter",
           "HTTP responses sent, by status class.");
  perCode(fes);
  each(e, fes, "tandem_frontend_requests_rate_limited_total", "counter",
       "Requests refused by a rate limit.", [&](auto& f) { return f.t.rateLimited; });
  each(e, fes, "tandem_frontend_h2_connections_total", "counter",
       "HTTP/2 client connections (HAProxy: h2_total_connections).",
       [&](auto& f) { return f.t.h2.connections; });
  each(e, fes, "tandem_frontend_h2_streams_total", "counter",
       "HTTP/2 streams (requests) begun (HAProxy: h2_headers_rcvd).",
       [&](auto& f) { return f.t.h2.streams; });
  each(e, fes, "tandem_frontend_h2_rst_stream_received_total", "counter",
       "HTTP/2 streams the client reset (HAProxy: h2_rst_stream_rcvd).",
       [&](auto& f) { return f.t.h2.rstReceived; });
  each(e, fes, "tandem_frontend_h2_rst_stream_sent_total", "counter",
       "HTTP/2 streams this proxy reset (HAProxy: h2_rst_stream_resp).",
       [&](auto& f) { return f.t.h2.rstSent; });
  each(e, fes, "tandem_frontend_h2_goaway_sent_total", "counter",
       "HTTP/2 GOAWAY frames sent: stops, reloads, idle timeouts and errors (HAProxy: "
       "h2_goaway_resp).",
       [&](auto& f) { return f.t.h2.goawaySent; });
  each(e, fes, "tandem_frontend_h2_stream_protocol_errors_total", "counter",
       "Malformed HTTP/2 requests refused with RST_STREAM PROTOCOL_ERROR (HAProxy: "
       "h2_detected_strm_protocol_errors).",
       [&](auto& f) { return f.t.h2.streamErrors; });
  each(e, fes, "tandem_frontend_h2_connection_protocol_errors_total", "counter",
       "HTTP/2 connections ended by a protocol error (HAProxy: "
       "h2_detected_conn_protocol_errors).",
       [&](auto& f) { return f.t.h2.connectionErrors; });
  each(e, fes, "tandem_frontend_h2_floods_total", "counter",
       "HTTP/2 connections ended for abuse: rapid reset (CVE-2023-44487), CONTINUATION, "
       "SETTINGS or PING floods.",
       [&](auto& f) { return f.t.h2.floods; });

  // ---- backends
  e.family("haproxy_backend_status", "gauge",
           "Current status of the service, per state label value (UP: a server can take traffic).");
  for (auto& b : bes) {
    bool up = false;
    for (auto& s : b.rt->servers) up = up || s->health.usable();
    e.sample(b.labels + ",state=\"DOWN\"", up ? 0 : 1);
    e.sample(b.labels + ",state=\"UP\"", up ? 1 : 0);
  }
  e.family("haproxy_backend_active_servers", "gauge", "Active (not backup) servers in rotation.");
  for (auto& b : bes) {
    int n = 0;
    for (auto& s : b.rt->servers) n += !s->config->backup && s->health.usable();
    e.sample(b.labels, n);
  }
  e.family("haproxy_backend_backup_servers", "gauge", "Backup servers in rotation.");
  for (auto& b : bes) {
    int n = 0;
    for (auto& s : b.rt->servers) n += s->config->backup && s->health.usable();
    e.sample(b.labels, n);
  }
  e.family("haproxy_backend_weight", "gauge",
           "Sum of the effective weights of the active servers in rotation.");
  for (auto& b : bes) {
    int w = 0;
    for (auto& s : b.rt->servers)
      if (!s->config->backup && s->health.usable()) w += s->health.effectiveWeight();
    e.sample(b.labels, w);
  }
  each(e, bes, "haproxy_backend_current_queue", "gauge", "Requests waiting for a server slot.",
       [&](auto& b) { return b.rt->queued.load(std::memory_order_relaxed); });
  each(e, bes, "haproxy_backend_max_queue", "gauge",
       "Highest number of requests waiting for a server slot.",
       [&](auto& b) { return b.rt->maxQueued.load(std::memory_order_relaxed); });
  each(e, bes, "haproxy_backend_current_sessions", "gauge",
       "Streams using the backend now, queued ones included.",
       [&](auto& b) { return b.rt->streams.load(std::memory_order_relaxed); });
  each(e, bes, "haproxy_backend_max_sessions", "gauge",
       "Highest number of streams using the backend at once.",
       [&](auto& b) { return b.rt->maxStreams.load(std::memory_order_relaxed); });
  each(e, bes, "haproxy_backend_limit_sessions", "gauge", "The backend's fullconn.",
       [&](auto& b) { return b.rt->fullconn; });
  e.family("haproxy_backend_sessions_total", "counter",
           "Streams given to the backend (HTTP: requests; TCP: connections).");
  for (auto& b : bes) e.sample(b.labels, b.t.sessions);
  each(e, bes, "haproxy_backend_bytes_in_total", "counter", "Bytes sent to the backend's servers.",
       [&](auto& b) { return b.t.bytesIn; });
  each(e, bes, "haproxy_backend_bytes_out_total", "counter",
       "Bytes of the backend's responses sent to clients.", [&](auto& b) { return b.t.bytesOut; });
  each(e, bes, "haproxy_backend_connection_errors_total", "counter",
       "Failed connection attempts to the backend's servers.",
       [&](auto& b) { return b.t.connectErrors; });
  each(e, bes, "haproxy_backend_response_errors_total", "counter",
       "Responses the server broke off: closed, reset or timed out.",
       [&](auto& b) { return b.t.responseErrors; });
  each(e, bes, "haproxy_backend_retry_warnings_total", "counter", "Connection attempts retried.",
       [&](auto& b) { return b.t.retries; });
  each(e, bes, "haproxy_backend_redispatch_warnings_total", "counter",
       "Retries sent to another server.", [&](auto& b) { return b.t.redispatches; });
  each(e, bes, "haproxy_backend_requests_denied_total", "counter",
       "Requests refused by the backend's deny rules.", [&](auto& b) { return b.t.denied; });
  each(e, bes, "haproxy_backend_http_requests_total", "counter",
       "HTTP requests routed to the backend.", [&](auto& b) { return b.t.httpRequests; });
  e.family("haproxy_backend_http_responses_total", "counter", "HTTP responses, by status class.");
  perCode(bes);
  struct Avg {
    const char* be;
    const char* srv;
    const char* help;
    double TrafficTotals::*ms;
  };
  const Avg avgs[] = {
      {"haproxy_backend_queue_time_average_seconds", "haproxy_server_queue_time_average_seconds",
       "Average time in the queue over the last 1024 requests.", &TrafficTotals::queueMs},
      {"haproxy_backend_connect_time_average_seconds",
       "haproxy_server_connect_time_average_seconds",
       "Average connect time over the last 1024 requests.", &TrafficTotals::connectMs},
      {"haproxy_backend_response_time_average_seconds",
       "haproxy_server_response_time_average_seconds",
       "Average response time (request sent to response head) over the last 1024 requests.",
       &TrafficTotals::responseMs},
      {"haproxy_backend_total_time_average_seconds", "haproxy_server_total_time_average_seconds",
       "Average total time over the last 1024 requests.", &TrafficTotals::totalMs}};
  for (const Avg& a : avgs) {
    e.family(a.be, "gauge", a.help);
    for (auto& b : bes) e.sample(b.labels, b.t.*a.ms / 1000.0);
  }
  e.family("tandem_backend_total_time_seconds", "histogram",
           "Time from a request's first byte (TCP: the accept) to its end, for requests that "
           "reached a server.");
  for (auto& b : bes) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < b.t.totalTimeBuckets.size(); ++i) {
      cumulative += b.t.totalTimeBuckets[i];
      std::ostringstream le;
      if (i < kTimeBucketsSeconds.size())
        le << kTimeBucketsSeconds[i];
      else
        le << "+Inf";
      e.sample(b.labels + "," + label("le", le.str()), cumulative, "_bucket");
    }
    e.sample(b.labels, static_cast<double>(b.t.totalTimeSumUs) / 1e6, "_sum");
    e.sample(b.labels, cumulative, "_count");
  }

  // ---- servers
  e.family("haproxy_server_status", "gauge",
           "Current status of the server, per state label value.");
  for (auto& s : srvs) {
    const char* now = haproxyState(s.rt->health.state());
    for (const char* st : {"DOWN", "UP", "MAINT", "DRAIN", "NOLB"})
      e.sample(s.labels + "," + label("state", st), std::string_view(now) == st ? 1 : 0);
  }
  each(e, srvs, "haproxy_server_weight", "gauge", "The server's effective weight.",
       [&](auto& s) { return s.rt->health.effectiveWeight(); });
  each(e, srvs, "haproxy_server_current_sessions", "gauge", "Connections to the server in use now.",
       [&](auto& s) { return s.rt->active.load(std::memory_order_relaxed); });
  each(e, srvs, "haproxy_server_max_sessions", "gauge",
       "Highest number of connections to the server in use at once.",
       [&](auto& s) { return s.rt->maxActive.load(std::memory_order_relaxed); });
  each(e, srvs, "haproxy_server_limit_sessions", "gauge", "The server's maxconn (0: none).",
       [&](auto& s) { return s.rt->config->maxconn; });
  each(e, srvs, "haproxy_server_sessions_total", "counter",
       "Requests or TCP sessions sent to the server.",
       [&](auto& s) { return s.rt->served.load(std::memory_order_relaxed); });
  each(e, srvs, "haproxy_server_bytes_in_total", "counter", "Bytes sent to the server.",
       [&](auto& s) { return s.t.bytesIn; });
  each(e, srvs, "haproxy_server_bytes_out_total", "counter",
       "Bytes of the server's responses sent to clients.", [&](auto& s) { return s.t.bytesOut; });
  each(e, srvs, "haproxy_server_connection_errors_total", "counter",
       "Failed connection attempts to the server.", [&](auto& s) { return s.t.connectErrors; });
  each(e, srvs, "haproxy_server_response_errors_total", "counter",
       "Responses the server broke off: closed, reset or timed out.",
       [&](auto& s) { return s.t.responseErrors; });
  each(e, srvs, "haproxy_server_retry_warnings_total", "counter",
       "Connection attempts to the server retried.", [&](auto& s) { return s.t.retries; });
  each(e, srvs, "haproxy_server_redispatch_warnings_total", "counter",
       "Retries that left the server for another.", [&](auto& s) { return s.t.redispatches; });
  e.family("haproxy_server_http_responses_total", "counter",
           "HTTP responses from the server, by status class.");
  perCode(srvs);
  for (const Avg& a : avgs) {
    e.family(a.srv, "gauge", a.help);
    for (auto& s : srvs) e.sample(s.labels, s.t.*a.ms / 1000.0);
  }

  // ---- server checks (HAProxy shows these for checked servers only)
  std::vector<Srv> checked;
  for (auto& s : srvs)
    if (s.rt->config->check.enabled) checked.push_back(s);
  e.family("haproxy_server_check_status", "gauge",
           "Status of the last health check, per state label value (HAProxy's check status).");
  for (auto& s : checked) {
    std::string_view now = health::toString(s.rt->health.lastCheckStatus());
    for (const char* st :
         {"HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT",
          "L7RSP", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"})
      e.sample(s.labels + "," + label("state", st), now == st ? 1 : 0);
  }
  each(e, checked, "haproxy_server_check_code", "gauge",
       "Layer 7 code of the last health check (an HTTP status), 0 if none.",
       [](auto& s) { return s.rt->health.lastCheckCode(); });
  each(e, checked, "haproxy_server_check_duration_seconds", "gauge",
       "Duration of the last health check.",
       [](auto& s) { return static_cast<double>(s.rt->health.lastCheckDurationUs()) / 1e6; });
  each(e, checked, "haproxy_server_check_failures_total", "counter", "Failed health checks.",
       [](auto& s) { return s.rt->health.checkFailures(); });
  each(e, checked, "haproxy_server_check_up_down_total", "counter",
       "Times failed checks took the server from UP to DOWN.",
       [](auto& s) { return s.rt->health.upDownTransitions(); });
  int64_t nowUs = health::steadyNowUs();
  each(e, srvs, "haproxy_server_check_last_change_seconds", "gauge",
       "How long ago the server's state last changed (since start if it never did).", [&](auto& s) {
         int64_t at = s.rt->health.lastChangeUs();
         return static_cast<double>(nowUs - (at >= 0 ? at : rt.startedAtUs())) / 1e6;
       });
  each(e, srvs, "haproxy_server_downtime_seconds_total", "counter", "Time the server spent DOWN.",
       [&](auto& s) { return static_cast<double>(s.rt->health.downtimeUs(nowUs)) / 1e6; });
  each(e, bes, "haproxy_backend_check_up_down_total", "counter",
       "Times failed checks took one of the backend's servers from UP to DOWN.", [](auto& b) {
         uint64_t n = 0;
         for (auto& s : b.rt->servers) n += s->health.upDownTransitions();
         return n;
       });

  // Tandem's own yes/no view of rotation, for alerts that want one series per server.
  e.family("tandem_server_up", "gauge",
           "Whether the server may get new traffic (UP, or UP going down).");
  for (auto& s : srvs)
    e.sample(label("backend", s.be->config->name) + "," + label("server", s.rt->config->name),
             isUsable(s.rt->health.state()) ? 1 : 0);

  if (auto node = rt.nodeStatus()) appendNodeMetrics(e, *node, unixNowMs());
  std::ostringstream o;
  o << e.str();
  // Access log lines by destination (writers that differ only in their syslog header add up).
  std::map<std::string, std::pair<uint64_t, uint64_t>> logs;  // target -> written, dropped
  for (const auto& [key, writer] : rt.accessLogs()) {
    auto& [written, dropped] = logs[writer->target()];
    written += writer->written();
    dropped += writer->dropped();
  }
  if (!logs.empty()) {
    o << "# HELP tandem_access_log_lines_total Access log lines written to the target.\n"
         "# TYPE tandem_access_log_lines_total counter\n";
    for (const auto& [target, n] : logs)
      o << "tandem_access_log_lines_total{target=\"" << jsonEscape(target) << "\"} " << n.first
        << "\n";
    o << "# HELP tandem_access_log_dropped_total Access log lines lost: the target was slower "
         "than the traffic, or failed.\n"
         "# TYPE tandem_access_log_dropped_total counter\n";
    for (const auto& [target, n] : logs)
      o << "tandem_access_log_dropped_total{target=\"" << jsonEscape(target) << "\"} " << n.second
        << "\n";
  }
  return o.str();
}

}  // namespace

std::vector<Frontend> builtinFrontends(const Config& config) {
  std::vector<Frontend> out;
  auto make = [&](const char* name, const Endpoint& ep, Frontend::Builtin kind,
                  const Timeouts& timeouts) {
    Frontend f;
    f.name = name;
    f.mode = Mode::Http;
    Bind b;
    b.endpoint = ep;
    f.binds.push_back(b);
    f.builtin = kind;
    f.maxconn = 100;  // a dashboard, not a data path
    f.timeouts = timeouts;
    out.push_back(std::move(f));
  };
  if (config.stats)
    make("stats", config.stats->bind, Frontend::Builtin::Stats, config.stats->timeouts);
  if (config.prometheus)
    make("prometheus", config.prometheus->bind, Frontend::Builtin::Prometheus,
         config.prometheus->timeouts);
  return out;
}

std::string builtinBodyRefused(bool chunked) {
  if (chunked)
    return response(411, "Length Required", "text/plain", "send the form with a Content-Length\n");
  return response(413, "Payload Too Large", "text/plain",
                  "a form body is at most " + std::to_string(kBuiltinBodyLimit) + " bytes\n");
}

std::string builtinResponse(Runtime& rt, const Frontend& fe, const BuiltinRequest& req) {
  std::string_view method = req.method;
  std::string_view target = req.target;
  bool post = method == "POST" && fe.builtin == Frontend::Builtin::Stats;
  if (method != "GET" && method != "HEAD" && !post)
    return response(405, "Method Not Allowed", "text/plain", "GET only\n", "allow: GET, HEAD\r\n");
  std::string_view path = target.substr(0, target.find('?'));
  const Config& c = rt.config();
  if (fe.builtin == Frontend::Builtin::Prometheus) {
    if (!c.prometheus || path != c.prometheus->path)
      return response(404, "Not Found", "text/plain", "not found\n");
    return response(200, "OK", "text/plain; version=0.0.4", prometheus(rt));
  }
  if (!c.stats) return response(404, "Not Found", "text/plain", "not found\n");
  const Stats& stats = *c.stats;
  if (!authorized(stats, req.authorization))
    return response(401, "Unauthorized", "text/plain", "authentication required\n",
                    "www-authenticate: Basic realm=\"Tandem statistics\"\r\n");
  bool admin = adminAllowed(stats, req.client);
  if (post) {
    AdminQuery q = splitAdminQuery(target);
    if (q.base != stats.uri && std::string_view(q.base).substr(0, q.base.find('?')) != stats.uri)
      return response(404, "Not Found", "text/plain", "not found\n");
    if (!admin)
      return response(403, "Forbidden", "text/plain",
                      stats.adminAllowedFrom.empty()
                          ? "the stats page is read-only (no admin_allowed_from)\n"
                          : "this address may not change server states (admin_allowed_from)\n");
    std::string crossSite = crossSiteReason(req);
    if (!crossSite.empty())
      return response(403, "Forbidden", "text/plain",
                      "cross-site request refused (" + crossSite +
                          "): server states change only from this page or a script\n");
    takeAdminParams(req.body, &q);  // the form body (HAProxy's), after any URL parameters
    if (q.servers.empty() || q.backend.empty())
      return response(400, "Bad Request", "text/plain",
                      "name a backend (b=) and at least one server (s=)\n");
    health::AdminState state;
    if (q.action == "ready")
      state = health::AdminState::Ready;
    else if (q.action == "drain")
      state = health::AdminState::Drain;
    else if (q.action == "maint")
      state = health::AdminState::Maint;
    else
      return response(400, "Bad Request", "text/plain", "action must be ready, drain or maint\n");
    for (const auto& server : q.servers)
      if (!rt.findServer(q.backend, server))
        return response(404, "Not Found", "text/plain",
                        "no server '" + server + "' in backend '" + q.backend + "'\n");
    for (const auto& server : q.servers)
      if (!req.setState || !req.setState(q.backend, server, state))
        return response(404, "Not Found", "text/plain",
                        "no server '" + server + "' in backend '" + q.backend + "'\n");
    // Post/Redirect/Get: a refresh of the page does not repeat the action.
    return response(303, "See Other", "text/plain", "done\n", "location: " + stats.uri + "\r\n");
  }
  // `uri` may carry a query itself (HAProxy's classic `/haproxy?stats`): match the whole
  // target first, then the path alone.
  for (std::string_view t : {target, path}) {
    if (t == stats.uri)
      return response(200, "OK", "text/html; charset=utf-8", html(rt, stats, admin, true));
    if (t == stats.uri + ";norefresh")
      return response(200, "OK", "text/html; charset=utf-8", html(rt, stats, admin, false));
    if (t == stats.uri + ";csv") return response(200, "OK", "text/csv", csv(rt));
    if (t == stats.uri + ";json") return response(200, "OK", "application/json", json(rt));
  }
  return response(404, "Not Found", "text/plain", "not found\n");
}

}  // namespace tandem::proxy
