#include "proxy/stats_page.h"

#include <openssl/evp.h>

#include <cctype>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "health/server_state.h"
#include "proxy/http_parser.h"
#include "proxy/runtime.h"

namespace tandem::proxy {
namespace {

std::string response(int status, const char* reason, const std::string& type,
                     const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\ncontent-type: " + type +
         "\r\ncontent-length: " + std::to_string(body.size()) + "\r\ncache-control: no-cache\r\n" +
         extra + "connection: close\r\n\r\n" + body;
}

std::string htmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
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

struct Row {
  std::string backend;
  std::string server;
  std::string address;
  std::string state;
  int weight;
  uint32_t active;
  uint64_t served;
  bool backup;
};

std::vector<Row> serverRows(Runtime& rt) {
  std::vector<Row> rows;
  for (auto& be : rt.backends())
    for (auto& s : be->servers)
      rows.push_back({be->config->name, s->config->name, s->config->address.toString(),
                      std::string(health::toString(s->health.state())), s->health.effectiveWeight(),
                      s->active.load(std::memory_order_relaxed),
                      s->served.load(std::memory_order_relaxed), s->config->backup});
  return rows;
}

std::string csv(Runtime& rt) {
  std::ostringstream o;
  o << "# pxname,svname,scur,stot,status,weight,addr,bck\n";
  for (auto& fe : rt.frontends())
    if (fe->config->builtin == Frontend::Builtin::None)
      o << fe->config->name << ",FRONTEND," << fe->connections.load() << ",,OPEN,,,\n";
  for (const auto& r : serverRows(rt))
    o << r.backend << "," << r.server << "," << r.active << "," << r.served << "," << r.state << ","
      << r.weight << "," << r.address << "," << (r.backup ? 1 : 0) << "\n";
  return o.str();
}

std::string json(Runtime& rt) {
  std::ostringstream o;
  o << "{\"frontends\":[";
  bool first = true;
  for (auto& fe : rt.frontends()) {
    if (fe->config->builtin != Frontend::Builtin::None) continue;
    o << (first ? "" : ",") << "{\"name\":\"" << jsonEscape(fe->config->name)
      << "\",\"current_sessions\":" << fe->connections.load() << "}";
    first = false;
  }
  o << "],\"servers\":[";
  first = true;
  for (const auto& r : serverRows(rt)) {
    o << (first ? "" : ",") << "{\"backend\":\"" << jsonEscape(r.backend) << "\",\"server\":\""
      << jsonEscape(r.server) << "\",\"address\":\"" << jsonEscape(r.address) << "\",\"state\":\""
      << r.state << "\",\"weight\":" << r.weight << ",\"current_sessions\":" << r.active
      << ",\"sessions_total\":" << r.served << ",\"backup\":" << (r.backup ? "true" : "false")
      << "}";
    first = false;
  }
  o << "]}\n";
  return o.str();
}

std::string html(Runtime& rt, const Stats& stats, bool admin) {
  std::ostringstream o;
  auto refresh = std::chrono::duration_cast<std::chrono::seconds>(stats.refresh).count();
  o << "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Tandem statistics</title>";
  if (refresh > 0) o << "<meta http-equiv=\"refresh\" content=\"" << refresh << "\">";
  o << "<style>body{font-family:sans-serif}table{border-collapse:collapse;margin-bottom:1em}"
       "td,th{border:1px solid #999;padding:2px 8px}.UP{background:#c0ffc0}"
       ".DOWN{background:#ffc0c0}.MAINT{background:#c0c0ff}.DRAIN{background:#ffd020}"
       "</style></head><body><h1>Tandem statistics</h1>"
       "<p><a href=\""
    << htmlEscape(stats.uri) << ";csv\">CSV</a> <a href=\"" << htmlEscape(stats.uri)
    << ";json\">JSON</a></p><h2>Frontends</h2><table><tr><th>name</th><th>current sessions"
       "</th></tr>";
  for (auto& fe : rt.frontends())
    if (fe->config->builtin == Frontend::Builtin::None)
      o << "<tr><td>" << htmlEscape(fe->config->name) << "</td><td>" << fe->connections.load()
        << "</td></tr>";
  o << "</table>";
  std::string current;
  for (const auto& r : serverRows(rt)) {
    if (r.backend != current) {
      if (!current.empty()) o << "</table>";
      current = r.backend;
      o << "<h2>Backend " << htmlEscape(r.backend)
        << "</h2><table><tr><th>server</th><th>address</th><th>state</th><th>weight</th>"
           "<th>current sessions</th><th>total sessions</th><th>backup</th>"
        << (admin ? "<th>admin</th>" : "") << "</tr>";
    }
    std::string cls = r.state.substr(0, r.state.find(','));  // "UP, going down" -> UP
    o << "<tr class=\"" << htmlEscape(cls) << "\"><td>" << htmlEscape(r.server) << "</td><td>"
      << htmlEscape(r.address) << "</td><td>" << r.state << "</td><td>" << r.weight << "</td><td>"
      << r.active << "</td><td>" << r.served << "</td><td>" << (r.backup ? "yes" : "") << "</td>";
    if (admin) {
      // One small form per action, posting HAProxy's form fields (b, s, action) in its body.
      o << "<td>";
      for (const char* action : {"ready", "drain", "maint"})
        o << "<form method=\"post\" style=\"display:inline\" action=\"" << htmlEscape(stats.uri)
          << "\"><input type=\"hidden\" name=\"b\" value=\"" << htmlEscape(r.backend)
          << "\"><input type=\"hidden\" name=\"s\" value=\"" << htmlEscape(r.server)
          << "\"><input type=\"hidden\" name=\"action\" value=\"" << action << "\"><button>"
          << action << "</button></form> ";
      o << "</td>";
    }
    o << "</tr>";
  }
  if (!current.empty()) o << "</table>";
  o << "</body></html>\n";
  return o.str();
}

std::string prometheus(Runtime& rt) {
  std::ostringstream o;
  o << "# HELP tandem_frontend_current_sessions Client connections open now.\n"
       "# TYPE tandem_frontend_current_sessions gauge\n";
  for (auto& fe : rt.frontends())
    if (fe->config->builtin == Frontend::Builtin::None)
      o << "tandem_frontend_current_sessions{frontend=\"" << jsonEscape(fe->config->name) << "\"} "
        << fe->connections.load() << "\n";
  auto rows = serverRows(rt);
  o << "# HELP tandem_server_up Whether the server may get new traffic (UP or going down).\n"
       "# TYPE tandem_server_up gauge\n";
  for (const auto& r : rows)
    o << "tandem_server_up{backend=\"" << jsonEscape(r.backend) << "\",server=\""
      << jsonEscape(r.server) << "\"} " << (r.state.rfind("UP", 0) == 0 ? 1 : 0) << "\n";
  o << "# HELP tandem_server_current_sessions Connections to the server in use now.\n"
       "# TYPE tandem_server_current_sessions gauge\n";
  for (const auto& r : rows)
    o << "tandem_server_current_sessions{backend=\"" << jsonEscape(r.backend) << "\",server=\""
      << jsonEscape(r.server) << "\"} " << r.active << "\n";
  o << "# HELP tandem_server_sessions_total Requests or TCP sessions sent to the server.\n"
       "# TYPE tandem_server_sessions_total counter\n";
  for (const auto& r : rows)
    o << "tandem_server_sessions_total{backend=\"" << jsonEscape(r.backend) << "\",server=\""
      << jsonEscape(r.server) << "\"} " << r.served << "\n";
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
      return response(200, "OK", "text/html; charset=utf-8", html(rt, stats, admin));
    if (t == stats.uri + ";csv") return response(200, "OK", "text/csv", csv(rt));
    if (t == stats.uri + ";json") return response(200, "OK", "application/json", json(rt));
  }
  return response(404, "Not Found", "text/plain", "not found\n");
}

}  // namespace tandem::proxy
