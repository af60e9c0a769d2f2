#include "proxy/http_transaction.h"

#include "proxy/acl.h"
#include "proxy/rate_limiter.h"

namespace tandem::proxy {
namespace {

bool isHopByHop(std::string_view name) {
  return iequals(name, "connection") || iequals(name, "keep-alive") ||
         iequals(name, "proxy-connection") || iequals(name, "upgrade") || iequals(name, "te") ||
         iequals(name, "trailer");
}

// Room for a head as it is rewritten: what came in, the fields rules add, and the few this
// proxy adds, so it is built in one allocation rather than grown by doubling.
template <typename Rule>
size_t rewrittenHeadSize(const MessageHead& h, const std::vector<const Rule*>& edits) {
  size_t n = 128 + h.method.length + h.url.length + h.reason.length;
  for (const auto& f : h.headers) n += f.name.length + f.value.length + 4;
  for (const Rule* e : edits) n += e->name.size() + e->value.size() + 4;
  return n;
}

// RFC 9110 §7.6.1: the fields a message's Connection header names are for that hop only too.
// Looked for only when the parser saw such a name: the usual Connection says close/keep-alive.
std::vector<std::string_view> namedInConnection(const MessageHead& h, const char* base) {
  std::vector<std::string_view> names;
  if (!h.connectionNamesFields) return names;
  for (const auto& f : h.headers) {
    if (!iequals(f.name.in(base), "connection")) continue;
    forEachToken(f.value.in(base), [&](std::string_view tok) {
      if (!iequals(tok, "close") && !iequals(tok, "keep-alive") && !isHopByHop(tok))
        names.push_back(tok);
    });
  }
  return names;
}

bool named(const std::vector<std::string_view>& names, std::string_view name) {
  for (std::string_view n : names)
    if (iequals(n, name)) return true;
  return false;
}

// RFC 9110 §9.2.2: safe to send again when no response was received.
bool idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" || m == "TRACE";
}

std::string_view pathOf(std::string_view url) {
  if (!url.empty() && url.front() != '/') {
    size_t scheme = url.find("://");  // absolute-form: skip scheme://authority
    if (scheme != std::string_view::npos) {
      size_t slash = url.find('/', scheme + 3);
      url = slash == std::string_view::npos ? std::string_view("/") : url.substr(slash);
    }
  }
  return url.substr(0, url.find('?'));
}

// Header rules apply in order: a set replaces every earlier field of its name (from the message
// or an earlier rule, of the frontend or the backend), a del removes them, an add appends one.
// So a field of the message survives unless some set/del names it ...
template <class Rule>
bool replacedByRule(std::string_view name, const std::vector<const Rule*>& edits) {
  for (const Rule* r : edits)
    if (r->action != Rule::Action::AddHeader && iequals(r->name, name)) return true;
  return false;
}

// ... and a field a rule writes survives unless a later set/del names it.
template <class Rule>
void appendRuleHeaders(std::string& o, const std::vector<const Rule*>& edits,
                       const PeerCertificate* cert) {
  for (size_t i = 0; i < edits.size(); ++i) {
    const Rule& r = *edits[i];
    if (r.action == Rule::Action::DelHeader) continue;
    bool replacedLater = false;
    for (size_t j = i + 1; j < edits.size() && !replacedLater; ++j)
      replacedLater =
          edits[j]->action != Rule::Action::AddHeader && iequals(edits[j]->name, r.name);
    if (replacedLater) continue;
    o.append(r.name).append(": ");
    if (hasFetches(r.value))
      o.append(expandFetches(r.value, cert));  // %[ssl_c_s_dn] and the like
    else
      o.append(r.value);
    o.append("\r\n");
  }
}

}  // namespace

// What ACLs see of the request being routed.
class HttpTransaction::View final : public RequestView {
 public:
  View(const HttpTransaction& t, const MessageHead& h, const char* base)
      : t_(t), h_(h), base_(base) {
    for (const auto& f : h_.headers)
      if (iequals(f.name.in(base_), "host")) {
        host_ = f.value.in(base_);
        // Strip the port; keep IPv6 literals whole ("[::1]:80").
        size_t colon = host_.rfind(':');
        if (colon != std::string_view::npos && host_.find(']') == std::string_view::npos)
          host_ = host_.substr(0, colon);
        else if (!host_.empty() && host_.front() == '[' && colon != std::string_view::npos &&
                 colon > host_.find(']'))
          host_ = host_.substr(0, colon);
        break;
      }
    path_ = pathOf(h_.url.in(base_));
  }
  std::string_view method() const override { return h_.method.in(base_); }
  std::string_view path() const override { return path_; }
  std::string_view host() const override { return host_; }
  bool anyHeader(std::string_view name,
                 const std::function<bool(std::string_view)>& f) const override {
    for (const auto& hf : h_.headers)
      if (iequals(hf.name.in(base_), name) && f(hf.value.in(base_))) return true;
    return false;
  }
  const IpAddress& clientAddress() const override { return t_.client_; }
  bool tls() const override { return t_.tls_; }
  const PeerCertificate* clientCertificate() const override { return t_.clientCert_; }

 private:
  const HttpTransaction& t_;
  const MessageHead& h_;
  const char* base_;
  std::string_view host_;
  std::string_view path_;
};

HttpTransaction::HttpTransaction(const FrontendRuntime& frontend, const ErrorPages& errors,
                                 const IpAddress& client, bool tls, bool keepAliveAllowed)
    : frontend_(frontend),
      errors_(errors),
      client_(client),
      tls_(tls),
      clientKeepAlive_(keepAliveAllowed) {}

HttpTransaction::Decision HttpTransaction::onRequestHead(const HttpParser& request,
                                                         const char* base, int64_t nowUs) {
  const MessageHead& h = request.head();
  const FrontendRuntime& fe = frontend_;
  auto answer = [this](int status, Refusal why = Refusal::Invalid) {
    Decision d{Decision::Kind::Answer, errors_.response(status)};
    d.refusal = why;
    return d;
  };
  http10_ = h.versionMinor == 0;
  clientKeepAlive_ = clientKeepAlive_ && request.keepAlive();
  headRequest_ = h.isHead;
  if (h.isConnect) return answer(400);
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (at most one in 1.0), else 400.
  int hosts = 0;
  bool hasUpgradeHeader = false;
  for (const auto& f : h.headers) {
    if (iequals(f.name.in(base), "host")) ++hosts;
    if (iequals(f.name.in(base), "upgrade")) hasUpgradeHeader = true;
  }
  if (hosts > 1 || (!http10_ && hosts == 0)) return answer(400);
  upgrade_ = h.connectionUpgrade && hasUpgradeHeader;
  if (fe.config->builtin != Frontend::Builtin::None) return Decision{Decision::Kind::Builtin, {}};

  View view(*this, h, base);
  Decision decision;
  // 1. The frontend's request rules.
  if (!runRequestRules(fe.rules, view, true, h, base, nowUs, &decision)) return decision;
  // 2. Routing: the first use_backend whose condition holds, else the default backend.
  BackendRuntime* be = fe.defaultBackend;
  for (const auto& route : fe.routes)
    if (route.when.eval(fe.rules.acls, view)) {
      be = route.backend;
      break;
    }
  if (!be) return answer(503, Refusal::None);
  backend_ = be;
  // 3. The chosen backend's request rules.
  if (!runRequestRules(be->rules, view, false, h, base, nowUs, &decision)) return decision;
  // The response rules that will apply, decided while the request head is at hand: the
  // backend's first, then the frontend's.
  for (const HttpRules* rules : {static_cast<const HttpRules*>(&be->rules), &fe.rules})
    for (const auto& rule : rules->response)
      if (rule.when.eval(rules->acls, view)) responseEdits_.push_back(rule.config);

  buildServerHead(h, base);
  if (be->sniFromHost) serverName_ = view.host();
  if (be->config->balance.algorithm == Balance::Algorithm::Uri)
    hashKey_ =
        be->config->balance.uriWhole ? std::string(h.url.in(base)) : std::string(view.path());
  replayable_ = !h.chunked && h.contentLength == 0 && idempotent(h.method.in(base));
  return decision;
}

bool HttpTransaction::runRequestRules(const HttpRules& rules, const RequestView& view,
                                      bool withLimits, const MessageHead& h, const char* base,
                                      int64_t nowUs, Decision* answer) {
  for (const RequestRule& rule : rules.request) {
    if (!rule.when.eval(rules.acls, view)) continue;
    const HttpRequestRule& r = *rule.config;
    switch (r.action) {
      case HttpRequestRule::Action::Deny:
        *answer = Decision{Decision::Kind::Answer, errors_.response(r.status)};
        answer->refusal = Refusal::Denied;
        return false;
      case HttpRequestRule::Action::Redirect: {
        std::string location;
        std::string url(h.url.in(base));
        if (!r.redirectScheme.empty())
          location = r.redirectScheme + "://" + std::string(view.host()) + url;
        else if (!r.redirectPrefix.empty())
          location = r.redirectPrefix + url;
        else
          location = r.redirectLocation;
        *answer = Decision{Decision::Kind::Answer,
                           "HTTP/1.1 " + std::to_string(r.status) + " " + reasonPhrase(r.status) +
                               "\r\ncontent-length: 0\r\nlocation: " + location +
                               "\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n",
                           true};
        return false;
      }
      case HttpRequestRule::Action::Return: {
        std::string reply = "HTTP/1.1 " + std::to_string(r.status) + " " +
                            std::string(reasonPhrase(r.status)) +
                            "\r\ncontent-type: " + r.contentType +
                            "\r\ncontent-length: " + std::to_string(r.body.size()) +
                            "\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
        if (!h.isHead) reply += r.body;
        *answer = Decision{Decision::Kind::Answer, std::move(reply), true};
        return false;
      }
      case HttpRequestRule::Action::Track: {
        if (!withLimits) break;  // tables exist in frontends only (the loader says so)
        auto it = frontend_.rateLimiters.find(r.table);
        if (it == frontend_.rateLimiters.end()) break;
        if (it->second->hit(client_, nowUs)) {
          *answer = Decision{Decision::Kind::Answer, errors_.response(it->second->table().status)};
          answer->refusal = Refusal::RateLimited;
          return false;
        }
        break;
      }
      case HttpRequestRule::Action::SetHeader:
      case HttpRequestRule::Action::AddHeader:
      case HttpRequestRule::Action::DelHeader:
        requestEdits_.push_back(&r);
        break;
    }
  }
  return true;
}

void HttpTransaction::buildServerHead(const MessageHead& h, const char* base) {
  std::string& o = serverHead;
  o.clear();
  o.reserve(rewrittenHeadSize(h, requestEdits_));
  o.append(h.method.in(base)).append(" ").append(h.url.in(base));
  o.append(http10_ ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  bool forwardfor = backend_->config->forwardfor;
  std::vector<std::string_view> hopOnly = namedInConnection(h, base);
  for (const auto& f : h.headers) {
    std::string_view name = f.name.in(base);
    if (!hopOnly.empty() && named(hopOnly, name)) continue;
    // "TE: trailers" is the client saying it takes a trailer section (gRPC's grpc-status):
    // true of the whole path, which passes trailers on, so the server hears it (other TE
    // codings are this hop's).
    if (iequals(name, "te")) {
      std::string_view v = f.value.in(base);
      bool trailers = false;
      for (size_t i = 0; i + 8 <= v.size(); ++i) trailers |= iequals(v.substr(i, 8), "trailers");
      if (trailers) o.append("te: trailers\r\n");
      continue;
    }
    if (isHopByHop(name) && !(upgrade_ && iequals(name, "upgrade"))) continue;
    if (forwardfor && iequals(name, "x-forwarded-proto")) continue;
    if (!requestEdits_.empty() && replacedByRule(name, requestEdits_)) continue;
    o.append(name).append(": ").append(f.value.in(base)).append("\r\n");
  }
  // Each side's connection is managed on its own: the server connection stays open for reuse.
  if (upgrade_)
    o.append("connection: upgrade\r\n");
  else if (http10_)
    o.append("connection: keep-alive\r\n");
  appendRuleHeaders(o, requestEdits_, clientCert_);
  if (forwardfor) {
    o.append("x-forwarded-for: ").append(client_.toString()).append("\r\n");
    o.append("x-forwarded-proto: ").append(tls_ ? "https" : "http").append("\r\n");
  }
  o.append("\r\n");
}

void HttpTransaction::onResponseHead(const HttpParser& response, const char* base) {
  const MessageHead& h = response.head();
  bool switchingNow = switching(h.status);
  if (response.bodyDelimitedByEof()) clientKeepAlive_ = false;  // only close can end it
  if (!requestDone && !switchingNow) clientKeepAlive_ = false;  // answered early
  std::string& o = clientHead;
  o.reserve(o.size() + rewrittenHeadSize(h, responseEdits_));
  o.append("HTTP/1.1 ").append(std::to_string(h.status)).append(" ");
  o.append(h.reason.in(base)).append("\r\n");
  std::vector<std::string_view> hopOnly = namedInConnection(h, base);
  for (const auto& f : h.headers) {
    std::string_view name = f.name.in(base);
    if (!hopOnly.empty() && named(hopOnly, name)) continue;
    if (isHopByHop(name) && !(switchingNow && iequals(name, "upgrade"))) continue;
    if (!responseEdits_.empty() && replacedByRule(name, responseEdits_)) continue;
    o.append(name).append(": ").append(f.value.in(base)).append("\r\n");
  }
  keepAlivePromised_ = !switchingNow && clientKeepAlive_;
  if (switchingNow)
    o.append("connection: upgrade\r\n");
  else if (!clientKeepAlive_)
    o.append("connection: close\r\n");
  else if (http10_)
    o.append("connection: keep-alive\r\n");
  appendRuleHeaders(o, responseEdits_, clientCert_);
  o.append("\r\n");
  responseHeadDone = true;
}

}  // namespace tandem::proxy
