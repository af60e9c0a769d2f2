#include "proxy/access_log.h"

#include <fmt/format.h>
#include <time.h>

namespace tandem::proxy {

namespace {

constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// %ci:%cp [%tr] %ft %b/%s — the start every line shares.
void appendWho(std::string& out, const AccessLogRecord& r) {
  std::string ip = r.client.toString();
  if (r.client.family == AF_INET6)
    fmt::format_to(std::back_inserter(out), "[{}]:{}", ip, r.clientPort);
  else
    fmt::format_to(std::back_inserter(out), "{}:{}", ip, r.clientPort);
  fmt::format_to(std::back_inserter(out), " [{}] {} {}/{}", formatLogDate(r.startWallUs),
                 r.frontend, r.backend.empty() ? r.frontend : r.backend,
                 r.server.empty() ? "<NOSRV>" : r.server);
}

// %ac/%fc/%bc/%sc/%rc %sq/%bq
void appendCounters(std::string& out, const AccessLogRecord& r) {
  fmt::format_to(std::back_inserter(out), " {}/{}/{}/{}/{}{} {}/{}", r.actconn, r.feconn, r.beconn,
                 r.srvconn, r.redispatched ? "+" : "", r.retries, r.serverQueue, r.backendQueue);
}

}  // namespace

std::string formatLogDate(int64_t wallUs) {
  time_t secs = static_cast<time_t>(wallUs / 1000000);
  tm t{};
  localtime_r(&secs, &t);
  return fmt::format("{:02}/{}/{:04}:{:02}:{:02}:{:02}.{:03}", t.tm_mday, kMonths[t.tm_mon],
                     t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec, (wallUs / 1000) % 1000);
}

std::string formatHttpLog(const AccessLogRecord& r) {
  std::string out;
  out.reserve(160 + r.requestLine.size());
  appendWho(out, r);
  // %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc (no cookie captures: "-", and "--" after the state)
  fmt::format_to(std::back_inserter(out), " {}/{}/{}/{}/{} {} {} - - {}{}--", r.requestMs,
                 r.queueMs, r.connectMs, r.responseMs, r.totalMs, r.status, r.bytesToClient,
                 r.termination.cause, r.termination.phase);
  appendCounters(out, r);
  // %{+Q}r: the request line, quoted
  out += " \"";
  out += r.requestLine.empty() ? "<BADREQ>" : r.requestLine;
  out += '"';
  return out;
}

std::string formatTcpLog(const AccessLogRecord& r) {
  std::string out;
  out.reserve(128);
  appendWho(out, r);
  // %Tw/%Tc/%Tt %B %ts
  fmt::format_to(std::back_inserter(out), " {}/{}/{} {} {}{}", r.queueMs, r.connectMs, r.totalMs,
                 r.bytesToClient, r.termination.cause, r.termination.phase);
  appendCounters(out, r);
  return out;
}

}  // namespace tandem::proxy
