#include "proxy/access_log.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <cctype>

namespace tandem::proxy {

namespace {

constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct VarInfo {
  std::string_view name;  // after the %
  std::string_view json;  // HAProxy's long name
  LogVar var;
  bool httpOnly;
};

constexpr VarInfo kVars[] = {
    {"ci", "client_ip", LogVar::ClientIp, false},
    {"cp", "client_port", LogVar::ClientPort, false},
    {"t", "accept_date", LogVar::AcceptDate, false},
    {"tr", "request_date", LogVar::RequestDate, true},
    {"ft", "frontend_name", LogVar::Frontend, false},
    {"b", "backend_name", LogVar::Backend, false},
    {"s", "server_name", LogVar::Server, false},
    {"Th", "Th", LogVar::HandshakeTime, false},
    {"Ti", "Ti", LogVar::IdleTime, true},
    {"Tq", "Tq", LogVar::HeadTime, true},
    {"TR", "TR", LogVar::RequestTime, true},
    {"Tw", "Tw", LogVar::QueueTime, false},
    {"Tc", "Tc", LogVar::ConnectTime, false},
    {"Tr", "Tr", LogVar::ResponseTime, true},
    {"Ta", "Ta", LogVar::ActiveTime, true},
    {"Tt", "Tt", LogVar::TotalTime, false},
    {"ST", "status_code", LogVar::Status, true},
    {"B", "bytes_read", LogVar::Bytes, false},
    {"ts", "termination_state", LogVar::Termination2, false},
    {"tsc", "termination_state_cookie", LogVar::Termination4, true},
    {"ac", "actconn", LogVar::ActConn, false},
    {"fc", "feconn", LogVar::FeConn, false},
    {"bc", "beconn", LogVar::BeConn, false},
    {"sc", "srv_conn", LogVar::SrvConn, false},
    {"rc", "retries", LogVar::Retries, false},
    {"sq", "srv_queue", LogVar::ServerQueue, false},
    {"bq", "backend_queue", LogVar::BackendQueue, false},
    {"r", "http_request", LogVar::RequestLine, true},
    {"HM", "http_method", LogVar::Method, true},
    {"HU", "http_uri", LogVar::Uri, true},
    {"HV", "http_version", LogVar::Version, true},
    {"CC", "captured_request_cookie", LogVar::RequestCookie, true},
    {"CS", "captured_response_cookie", LogVar::ResponseCookie, true},
};

const VarInfo& info(LogVar v) {
  for (const auto& i : kVars)
    if (i.var == v) return i;
  return kVars[0];
}

// The n-th space-separated part of the request line ("GET /a HTTP/1.1"), or "-".
std::string_view requestPart(const std::string& line, int n) {
  size_t start = 0;
  for (int i = 0; i < n; ++i) {
    start = line.find(' ', start);
    if (start == std::string::npos) return "-";
    ++start;
  }
  size_t end = line.find(' ', start);
  std::string_view part(line.data() + start,
                        (end == std::string::npos ? line.size() : end) - start);
  return part.empty() ? "-" : part;
}

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      // Not valid UTF-8 for certain (request bytes): escaped, so every line parses.
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

// A variable's value: a number (appended to `out`, true) or text (in *text, false).
bool value(const AccessLogRecord& r, LogVar v, size_t header, std::string& out, std::string* text) {
  auto number = [&](int64_t n) {
    fmt::format_to(std::back_inserter(out), "{}", n);
    return true;
  };
  switch (v) {
    case LogVar::ClientIp:
      *text = r.client.toString();
      return false;
    case LogVar::ClientPort:
      return number(r.clientPort);
    case LogVar::AcceptDate:
      *text = formatLogDate(r.acceptWallUs ? r.acceptWallUs : r.startWallUs);
      return false;
    case LogVar::RequestDate:
      *text = formatLogDate(r.startWallUs);
      return false;
    case LogVar::Frontend:
      *text = r.frontend;
      return false;
    case LogVar::Backend:
      *text = r.backend.empty() ? r.frontend : r.backend;
      return false;
    case LogVar::Server:
      *text = r.server.empty() ? "<NOSRV>" : r.server;
      return false;
    case LogVar::HandshakeTime:
      return number(r.handshakeMs);
    case LogVar::IdleTime:
      return number(r.idleMs);
    case LogVar::HeadTime:
      return number(r.handshakeMs < 0 || r.idleMs < 0 || r.requestMs < 0
                        ? -1
                        : r.handshakeMs + r.idleMs + r.requestMs);
    case LogVar::RequestTime:
      return number(r.requestMs);
    case LogVar::QueueTime:
      return number(r.queueMs);
    case LogVar::ConnectTime:
      return number(r.connectMs);
    case LogVar::ResponseTime:
      return number(r.responseMs);
    case LogVar::ActiveTime:
    case LogVar::TotalTime:
      return number(r.totalMs);
    case LogVar::Status:
      return number(r.status);
    case LogVar::Bytes:
      return number(static_cast<int64_t>(r.bytesToClient));
    case LogVar::Termination2:
      *text = {r.termination.cause, r.termination.phase};
      return false;
    case LogVar::Termination4:
      *text = {r.termination.cause, r.termination.phase, '-', '-'};
      return false;
    case LogVar::ActConn:
      return number(r.actconn);
    case LogVar::FeConn:
      return number(r.feconn);
    case LogVar::BeConn:
      return number(r.beconn);
    case LogVar::SrvConn:
      return number(r.srvconn);
    case LogVar::Retries:
      return number(r.retries);
    case LogVar::ServerQueue:
      return number(r.serverQueue);
    case LogVar::BackendQueue:
      return number(r.backendQueue);
    case LogVar::RequestLine:
      *text = r.requestLine.empty() ? "<BADREQ>" : r.requestLine;
      return false;
    case LogVar::Method:
    case LogVar::Uri:
    case LogVar::Version:
      *text = r.requestLine.empty()
                  ? "-"
                  : std::string(requestPart(r.requestLine, v == LogVar::Method ? 0
                                                           : v == LogVar::Uri  ? 1
                                                                               : 2));
      return false;
    case LogVar::RequestCookie:
    case LogVar::ResponseCookie:
      *text = "-";
      return false;
    case LogVar::RequestHeader:
      *text = header < r.headers.size() && !r.headers[header].empty() ? r.headers[header] : "-";
      return false;
  }
  return false;
}

}  // namespace

std::string formatLogDate(int64_t wallUs) {
  time_t secs = static_cast<time_t>(wallUs / 1000000);
  tm t{};
  localtime_r(&secs, &t);
  return fmt::format("{:02}/{}/{:04}:{:02}:{:02}:{:02}.{:03}", t.tm_mday, kMonths[t.tm_mon],
                     t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec, (wallUs / 1000) % 1000);
}

std::optional<LogFormat> LogFormat::compile(std::string_view text, bool http, std::string* error) {
  LogFormat f;
  auto literal = [&](std::string_view s) {
    if (f.items_.empty() || !f.items_.back().literal) f.items_.push_back(Item{});
    f.items_.back().text.append(s);
  };
  size_t i = 0;
  while (i < text.size()) {
    size_t pct = text.find('%', i);
    if (pct == std::string_view::npos) {
      literal(text.substr(i));
      break;
    }
    literal(text.substr(i, pct - i));
    size_t at = pct + 1;
    if (at < text.size() && text[at] == '%') {
      literal("%");
      i = at + 1;
      continue;
    }
    Item item;
    item.literal = false;
    if (text.substr(at, 2) == "{+") {
      size_t close = text.find('}', at);
      if (close == std::string_view::npos || text.substr(at, close - at + 1) != "{+Q}") {
        *error = "only the {+Q} option (quoted) is known, at '" +
                 std::string(text.substr(pct, std::min<size_t>(8, text.size() - pct))) + "'";
        return std::nullopt;
      }
      item.quoted = true;
      at = close + 1;
    }
    if (text.substr(at, 1) == "[") {
      constexpr std::string_view kFetch = "[req.hdr(";
      size_t close = text.find(")]", at);
      if (text.substr(at, kFetch.size()) != kFetch || close == std::string_view::npos ||
          close == at + kFetch.size()) {
        *error = "of the sample fetches only %[req.hdr(NAME)] is known, at '" +
                 std::string(text.substr(pct, std::min<size_t>(16, text.size() - pct))) + "'";
        return std::nullopt;
      }
      if (!http) {
        *error = "%[req.hdr(...)] needs mode http";
        return std::nullopt;
      }
      std::string name(text.substr(at + kFetch.size(), close - at - kFetch.size()));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      auto it = std::find(f.headers_.begin(), f.headers_.end(), name);
      item.header = static_cast<size_t>(it - f.headers_.begin());
      if (it == f.headers_.end()) f.headers_.push_back(name);
      item.var = LogVar::RequestHeader;
      f.items_.push_back(std::move(item));
      i = close + 2;
      continue;
    }
    size_t end = at;
    while (end < text.size() && std::isalpha(static_cast<unsigned char>(text[end]))) ++end;
    std::string_view name = text.substr(at, end - at);
    const VarInfo* found = nullptr;
    for (const auto& v : kVars)
      if (v.name == name) found = &v;
    if (!found) {
      *error = name.empty() ? "a % with no variable after it (%% writes a %)"
                            : "unknown variable %" + std::string(name);
      return std::nullopt;
    }
    if (found->httpOnly && !http) {
      *error = "%" + std::string(name) + " needs mode http";
      return std::nullopt;
    }
    item.var = found->var;
    f.items_.push_back(std::move(item));
    i = end;
  }
  return f;
}

const LogFormat& LogFormat::httplog() {
  static const LogFormat f = [] {
    std::string error;
    return *compile(
        "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc "
        "%sq/%bq %{+Q}r",
        true, &error);
  }();
  return f;
}

const LogFormat& LogFormat::tcplog() {
  static const LogFormat f = [] {
    std::string error;
    return *compile("%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq", false,
                    &error);
  }();
  return f;
}

std::string LogFormat::render(const AccessLogRecord& r, bool json) const {
  std::string out;
  out.reserve(192 + r.requestLine.size());
  std::string text;
  if (!json) {
    for (const Item& item : items_) {
      if (item.literal) {
        out += item.text;
        continue;
      }
      if (item.var == LogVar::Retries && r.redispatched) out += '+';
      if (value(r, item.var, item.header, out, &text)) continue;
      if (item.quoted) out += '"';
      out += text;
      if (item.quoted) out += '"';
    }
    return out;
  }
  out += '{';
  bool first = true;
  for (const Item& item : items_) {
    if (item.literal || item.var == LogVar::RequestCookie || item.var == LogVar::ResponseCookie)
      continue;
    if (!first) out += ',';
    first = false;
    if (item.var == LogVar::RequestHeader)
      appendJsonString(out, "req_hdr_" + headers_[item.header]);
    else
      appendJsonString(out, info(item.var).json);
    out += ':';
    if (!value(r, item.var, item.header, out, &text)) appendJsonString(out, text);
  }
  out += '}';
  return out;
}

std::string journalFields(const AccessLogRecord& r) {
  std::string out;
  auto field = [&](std::string_view key, std::string_view value) {
    if (!out.empty()) out += '\x1e';
    out += key;
    out += '=';
    // A field is one line, and the separators stay separators.
    for (char c : value) out += c == '\n' || c == '\x1e' || c == '\x1f' ? ' ' : c;
  };
  auto number = [&](std::string_view key, int64_t v) { field(key, std::to_string(v)); };
  field("TANDEM_CLIENT_IP", r.client.toString());
  number("TANDEM_CLIENT_PORT", r.clientPort);
  field("TANDEM_FRONTEND", r.frontend);
  field("TANDEM_BACKEND", r.backend.empty() ? r.frontend : r.backend);
  field("TANDEM_SERVER", r.server.empty() ? "<NOSRV>" : r.server);
  if (r.status >= 0) number("TANDEM_STATUS", r.status);
  number("TANDEM_BYTES_OUT", static_cast<int64_t>(r.bytesToClient));
  field("TANDEM_TERMINATION", std::string{r.termination.cause, r.termination.phase});
  number("TANDEM_RETRIES", r.retries);
  const std::pair<const char*, int64_t> times[] = {{"TANDEM_QUEUE_MS", r.queueMs},
                                                   {"TANDEM_CONNECT_MS", r.connectMs},
                                                   {"TANDEM_RESPONSE_MS", r.responseMs},
                                                   {"TANDEM_TOTAL_MS", r.totalMs}};
  for (const auto& [key, ms] : times)
    if (ms >= 0) number(key, ms);
  if (!r.requestLine.empty()) field("TANDEM_REQUEST", r.requestLine);
  return out;
}

}  // namespace tandem::proxy
