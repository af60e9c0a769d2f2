#include "proxy/runtime.h"

#include "proxy/stats_page.h"

#include <netdb.h>

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace tandem::proxy {
// RFC 9110 §15 (and 103 Early Hints, RFC 8297): status lines the proxy writes itself, and
// those of responses from HTTP/2 servers, which carry no reason phrase.
const char* reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 102:
      return "Processing";
    case 103:
      return "Early Hints";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 205:
      return "Reset Content";
    case 206:
      return "Partial Content";
    case 207:
      return "Multi-Status";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 425:
      return "Too Early";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 451:
      return "Unavailable For Legal Reasons";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return status >= 100 && status < 600 ? "Unknown" : "Error";
  }
}

namespace {

const char* explanation(int status) {
  switch (status) {
    case 400:
      return "Your browser sent an invalid request.";
    case 403:
      return "Request forbidden by administrative rules.";
    case 408:
      return "Your browser didn't send a complete request in time.";
    case 429:
      return "You sent too many requests in a given amount of time.";
    case 431:
      return "The request header fields are too large.";
    case 502:
      return "The server returned an invalid or incomplete response.";
    case 503:
      return "No server is available to handle this request.";
    case 504:
      return "The server didn't respond in time.";
    default:
      return "An error occurred.";
  }
}

std::string builtinPage(int status) {
  std::string body = "<html><body><h1>" + std::to_string(status) + " " + reasonPhrase(status) +
                     "</h1>\n" + explanation(status) + "\n</body></html>\n";
  return "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) +
         "\r\ncontent-length: " + std::to_string(body.size()) +
         "\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n" +
         body;
}

bool resolve(const Endpoint& ep, sockaddr_storage* out, socklen_t* len, std::string* error) {
  if (ep.toSockaddr(out, len)) return true;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(ep.host.c_str(), std::to_string(ep.port).c_str(), &hints, &res);
  if (rc != 0 || !res) {
    *error = "cannot resolve '" + ep.host + "': " + gai_strerror(rc);
    return false;
  }
  std::memcpy(out, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return true;
}

}  // namespace

ErrorPages::ErrorPages(const std::map<int, std::string>& files) {
  // Every status a deny or a rate limit may answer with (200-599) has a page: a `deny: 404`
  // must answer 404, not the 500 of a missing page.
  for (int status = 200; status <= 599; ++status) pages_[status] = builtinPage(status);
  for (const auto& [status, path] : files) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (in) pages_[status] = ss.str();
  }
}

const std::string& ErrorPages::response(int status) const {
  auto it = pages_.find(status);
  if (it != pages_.end()) return it->second;
  static const std::string fallback = builtinPage(500);
  return fallback;
}

HttpRules::HttpRules(const std::map<std::string, Acl>& aclConfig,
                     const std::vector<HttpRequestRule>& requestConfig,
                     const std::vector<HttpResponseRule>& responseConfig) {
  for (const auto& [name, acl] : aclConfig) {
    aclNames.push_back(name);
    acls.emplace_back(acl);
  }
  for (const auto& r : requestConfig) request.push_back({&r, {r.guard, aclNames}});
  for (const auto& r : responseConfig) response.push_back({&r, {r.guard, aclNames}});
}

health::SavedServerState Runtime::uncheckedState(const std::string& backend,
                                                 const ServerRuntime& server) {
  health::SavedServerState s;
  s.backend = backend;
  s.server = server.config->name;
  s.checksUp = true;  // nothing checks it: in rotation unless an admin says otherwise
  health::ServerState st = server.health.state();
  s.admin = st == health::ServerState::Maint   ? health::AdminState::Maint
            : st == health::ServerState::Drain ? health::AdminState::Drain
                                               : health::AdminState::Ready;
  s.weight = server.health.effectiveWeight();
  s.configWeight = server.config->weight;
  s.configAdmin = configuredAdmin(*server.config);
  return s;
}

std::unique_ptr<Runtime> Runtime::build(const Config& config, std::string* error) {
  std::unique_ptr<Runtime> rt(new Runtime(config));
  for (auto& f : builtinFrontends(config)) rt->config_.frontends.push_back(std::move(f));
  const Config& c = rt->config_;
  std::map<std::string, BackendRuntime*> byName;
  for (size_t b = 0; b < c.backends.size(); ++b) {
    auto be = std::make_unique<BackendRuntime>();
    be->config = &c.backends[b];
    be->index = b;
    for (size_t s = 0; s < be->config->servers.size(); ++s) {
      const Server& sc = be->config->servers[s];
      auto sr = std::make_unique<ServerRuntime>();
      sr->config = &sc;
      sr->index = s;
      sr->id = rt->serverCount_++;
      if (!resolve(sc.address, &sr->address, &sr->addressLength, error)) {
        *error = "backend " + be->config->name + " server " + sc.name + ": " + *error;
        return nullptr;
      }
      health::ServerState initial = sc.disabled ? health::ServerState::Maint
                                    : sc.drain  ? health::ServerState::Drain
                                                : health::ServerState::Up;
      sr->health.setState(initial);
      sr->health.setEffectiveWeight(sc.weight);
      if (sc.tls.enabled) {
        sr->tls = TlsClientContext::build(sc.tls, c.tls, error);
        if (!sr->tls) {
          *error = "backend " + be->config->name + " server " + sc.name + ": " + *error;
          return nullptr;
        }
        if (sc.tls.sniSource == Server::Tls::Sni::FromHost) be->sniFromHost = true;
        if (sc.tls.sniSource == Server::Tls::Sni::FromClientSni) be->sniFromClient = true;
      }
      be->servers.push_back(std::move(sr));
    }
    be->rules = HttpRules(be->config->acls, be->config->httpRequest, be->config->httpResponse);
    byName[be->config->name] = be.get();
    rt->backends_.push_back(std::move(be));
  }
  // fullconn by default: a tenth of the connections the frontends routing here may hold.
  std::map<BackendRuntime*, uint64_t> reachable;
  for (const auto& fc : c.frontends) {
    std::set<std::string> targets;
    if (!fc.defaultBackend.empty()) targets.insert(fc.defaultBackend);
    for (const auto& u : fc.useBackends) targets.insert(u.backend);
    for (const auto& t : targets)
      if (auto it = byName.find(t); it != byName.end())
        reachable[it->second] += fc.maxconn ? fc.maxconn : c.maxconn;
  }
  for (auto& be : rt->backends_) {
    be->fullconn = be->config->fullconn;
    if (!be->fullconn)
      be->fullconn = static_cast<uint32_t>(std::max<uint64_t>(1, reachable[be.get()] / 10));
  }
  for (const auto& fc : c.frontends) {
    auto fe = std::make_unique<FrontendRuntime>();
    fe->config = &fc;
    fe->index = rt->frontends_.size();
    fe->rules = HttpRules(fc.acls, fc.httpRequest, fc.httpResponse);
    for (const auto& [name, table] : fc.rateLimits)
      fe->rateLimiters[name] = std::make_unique<RateLimiter>(table);
    for (const auto& u : fc.useBackends) {
      auto it = byName.find(u.backend);
      if (it != byName.end()) fe->routes.push_back({it->second, {u.guard, fe->rules.aclNames}});
    }
    if (!fc.defaultBackend.empty()) {
      auto it = byName.find(fc.defaultBackend);
      if (it != byName.end()) fe->defaultBackend = it->second;
    }
    for (const auto& bind : fc.binds) {
      if (!bind.ssl) continue;
      std::string tlsError;
      auto tls = TlsContext::build(bind, c.tls, fc.mode, &tlsError);
      if (!tls) {
        *error = "frontend " + fc.name + " bind " + bind.endpoint.toString() + ": " + tlsError;
        return nullptr;
      }
      fe->tls[&bind] = std::move(tls);
    }
    if (fc.log.format != AccessLog::Format::Off) {
      auto& writer = rt->accessLogs_[fc.log.writerKey()];
      if (!writer) {
        std::string logError;
        writer = AccessLogWriter::open(fc.log, &logError);
        if (!writer) {
          *error = "frontend " + fc.name + ": " + logError;
          return nullptr;
        }
      }
      fe->accessLog = writer.get();
      if (!fc.log.customFormat.empty()) {
        std::string formatError;
        auto format = LogFormat::compile(fc.log.customFormat, fc.mode == Mode::Http, &formatError);
        if (!format) {
          *error = "frontend " + fc.name + ": log format: " + formatError;
          return nullptr;
        }
        fe->accessLogFormat = std::move(*format);
      } else {
        fe->accessLogFormat =
            fc.log.format == AccessLog::Format::Http ? LogFormat::httplog() : LogFormat::tcplog();
      }
    }
    rt->frontends_.push_back(std::move(fe));
  }
  return rt;
}

ServerRuntime* Runtime::findServer(std::string_view backend, std::string_view server) {
  for (auto& be : backends_) {
    if (be->config->name != backend) continue;
    for (auto& s : be->servers)
      if (s->config->name == server) return s.get();
  }
  return nullptr;
}

WorkerCounters& Runtime::addWorkerCounters() {
  workerCounters_.push_back(
      std::make_unique<WorkerCounters>(frontends_.size(), backends_.size(), serverCount_));
  return *workerCounters_.back();
}

TrafficTotals Runtime::totals(const FrontendRuntime& fe) const {
  TrafficTotals t;
  for (const auto& w : workerCounters_) t.add(w->frontend(fe.index));
  t.finish();
  return t;
}

TrafficTotals Runtime::totals(const BackendRuntime& be) const {
  TrafficTotals t;
  for (const auto& w : workerCounters_) t.add(w->backend(be.index));
  t.finish();
  return t;
}

TrafficTotals Runtime::totals(const ServerRuntime& s) const {
  TrafficTotals t;
  for (const auto& w : workerCounters_) t.add(w->server(s.id));
  t.finish();
  return t;
}

}  // namespace tandem::proxy
