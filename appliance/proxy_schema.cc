// frontends / backends / listens / stats / prometheus -> proxy::Config (and health:: structs).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "appliance/condition_parser.h"
#include "appliance/schema.h"
#include "common/regex.h"
#include "proxy/tls_certificate.h"

namespace tandem::appliance::schema {

using namespace std::chrono_literals;
using proxy::Acl;
using proxy::Mode;

namespace {

const Choices<Mode> kModes = {{"http", Mode::Http}, {"tcp", Mode::Tcp}};

std::vector<std::string> readStrings(LoaderState& st, const YAML::Node& n,
                                     const std::string& path) {
  std::vector<std::string> out;
  auto items = readList(st.yaml, n, path, /*scalarOk=*/true);
  for (size_t i = 0; i < items.size(); ++i) {
    std::string p = n.IsSequence() ? path + "[" + std::to_string(i) + "]" : path;
    if (auto s = readString(st.yaml, items[i], p)) out.push_back(*s);
  }
  return out;
}

}  // namespace

// ---- timeouts -----------------------------------------------------------------------------

void readTimeouts(LoaderState& st, MapReader& parent, proxy::Timeouts* to) {
  YAML::Node t = parent.get("timeout");
  if (!t.IsDefined()) return;
  MapReader tm(st.yaml, t, parent.pathOf("timeout"));
  tm.duration("connect", &to->connect, DefaultUnit::Milliseconds, 1ms, 24h);
  tm.duration("client", &to->client, DefaultUnit::Milliseconds, 1ms, 24h);
  tm.duration("server", &to->server, DefaultUnit::Milliseconds, 1ms, 24h);
  tm.duration("http_request", &to->httpRequest, DefaultUnit::Milliseconds, 1ms, 24h);
  tm.duration("keep_alive", &to->keepAlive, DefaultUnit::Milliseconds, 0ms, 24h);
  tm.duration("queue", &to->queue, DefaultUnit::Milliseconds, 0ms, 24h);
  tm.duration("tunnel", &to->tunnel, DefaultUnit::Milliseconds, 1ms, 7 * 24h);
  tm.duration("check", &to->check, DefaultUnit::Milliseconds, 1ms, 1h);
  tm.duration("client_fin", &to->clientFin, DefaultUnit::Milliseconds, 1ms, 1h);
  tm.duration("server_fin", &to->serverFin, DefaultUnit::Milliseconds, 1ms, 1h);
  tm.finish();
}

namespace {

// ---- ACLs -----------------------------------------------------------------------------------

void readCidrFile(LoaderState& st, const YAML::Node& at, const std::string& path,
                  const std::string& file, Acl* acl) {
  std::ifstream in(file);
  if (!in) {
    st.yaml.error(at, path, "cannot read address file '" + file + "'");
    return;
  }
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    size_t e = line.find_last_not_of(" \t\r");
    std::string word = line.substr(b, e - b + 1);
    std::string why;
    if (auto c = Cidr::parse(word, &why))
      acl->networks.push_back(*c);
    else
      st.yaml.diagnostics().error({file, lineNo, static_cast<int>(b) + 1}, path,
                                  "'" + word + "': " + why);
  }
  acl->files.push_back(file);
}

void compileRegexes(LoaderState& st, const YAML::Node& n, const std::string& path,
                    const std::vector<std::string>& patterns, bool caseless) {
  for (size_t i = 0; i < patterns.size(); ++i) {
    std::string why;
    if (!Regex::compile(patterns[i], caseless, &why)) {
      YAML::Node at = n.IsSequence() ? n[i] : n;
      st.yaml.error(at, n.IsSequence() ? path + "[" + std::to_string(i) + "]" : path,
                    "invalid regular expression '" + patterns[i] + "': " + why);
    }
  }
}

bool isHttpToken(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
      return false;
  }
  return true;
}

std::optional<Acl> readAcl(LoaderState& st, const YAML::Node& node, const std::string& path) {
  MapReader m(st.yaml, node, path);
  if (!m.valid()) return std::nullopt;
  static const std::vector<std::string> kCriteria = {
      "host", "path", "path_beg", "path_end", "path_reg", "method", "header", "src", "ssl"};
  // src and src_file are one criterion (addresses), both may be given.
  std::vector<std::string> present;
  for (const auto& c : kCriteria) {
    if (m.has(c) || (c == "src" && m.has("src_file"))) present.push_back(c);
  }
  Acl acl;
  m.boolean("ignore_case", &acl.caseInsensitive);
  if (present.size() != 1) {
    std::string list;
    for (const auto& c : kCriteria) list += (list.empty() ? "" : ", ") + c;
    if (present.empty())
      st.yaml.error(node, path, "an ACL needs one criterion: " + list);
    else
      st.yaml.error(node, path,
                    "an ACL tests one criterion, found '" + present[0] + "' and '" + present[1] +
                        "' (define two ACLs and combine them in the condition)");
    for (const char* k : {"equals", "contains", "regex", "exists", "src_file"}) m.get(k);
    m.finish();
    return std::nullopt;
  }
  const std::string& what = present[0];
  size_t errorsBefore = st.yaml.diagnostics().errorCount();
  if (what == "host" || what == "path" || what == "path_beg" || what == "path_end" ||
      what == "path_reg" || what == "method") {
    YAML::Node v = m.get(what);
    acl.values = readStrings(st, v, m.pathOf(what));
    if (what == "host") acl.kind = Acl::Kind::Host;
    if (what == "path") acl.kind = Acl::Kind::Path;
    if (what == "path_beg") acl.kind = Acl::Kind::PathBeg;
    if (what == "path_end") acl.kind = Acl::Kind::PathEnd;
    if (what == "path_reg") {
      acl.kind = Acl::Kind::PathReg;
      compileRegexes(st, v, m.pathOf(what), acl.values, acl.caseInsensitive);
    }
    if (what == "method") {
      acl.kind = Acl::Kind::Method;
      acl.caseInsensitive = false;  // methods are case-sensitive (RFC 9110 §9.1)
      for (const auto& meth : acl.values)
        if (!isHttpToken(meth))
          st.yaml.error(v, m.pathOf(what), "'" + meth + "' is not an HTTP method");
    }
    if (what == "path" || what == "path_beg") {
      for (const auto& p : acl.values)
        if (p.empty() || (p.front() != '/' && p != "*"))
          st.yaml.warning(v, m.pathOf(what), "path '" + p + "' does not start with '/'");
    }
    if (acl.values.empty() && st.yaml.diagnostics().errorCount() == errorsBefore)
      st.yaml.error(v, m.pathOf(what), "expected at least one value");
  } else if (what == "header") {
    m.string("header", &acl.header);
    if (!isHttpToken(acl.header))
      st.yaml.error(m.get("header"), m.pathOf("header"),
                    "'" + acl.header + "' is not a valid header name");
    int ops = m.has("equals") + m.has("contains") + m.has("regex") + m.has("exists");
    if (ops != 1) {
      st.yaml.error(node, path,
                    "a header ACL needs exactly one of equals, contains, regex, exists");
    } else if (m.has("equals")) {
      acl.kind = Acl::Kind::HeaderEq;
      acl.values = readStrings(st, m.get("equals"), m.pathOf("equals"));
    } else if (m.has("contains")) {
      acl.kind = Acl::Kind::HeaderSub;
      acl.values = readStrings(st, m.get("contains"), m.pathOf("contains"));
    } else if (m.has("regex")) {
      acl.kind = Acl::Kind::HeaderReg;
      acl.values = readStrings(st, m.get("regex"), m.pathOf("regex"));
      compileRegexes(st, m.get("regex"), m.pathOf("regex"), acl.values, acl.caseInsensitive);
    } else {
      acl.kind = Acl::Kind::HeaderExists;
      bool exists = true;
      m.boolean("exists", &exists);
      if (!exists)
        st.yaml.error(m.get("exists"), m.pathOf("exists"),
                      "only 'exists: true' is meaningful; use 'not' in the condition");
    }
  } else if (what == "src") {
    acl.kind = Acl::Kind::Src;
    if (YAML::Node s = m.get("src"); s.IsDefined()) {
      auto items = readList(st.yaml, s, m.pathOf("src"), true);
      for (size_t i = 0; i < items.size(); ++i) {
        std::string p =
            s.IsSequence() ? m.pathOf("src") + "[" + std::to_string(i) + "]" : m.pathOf("src");
        auto str = readString(st.yaml, items[i], p);
        if (!str) continue;
        std::string why;
        if (auto c = Cidr::parse(*str, &why))
          acl.networks.push_back(*c);
        else
          st.yaml.error(items[i], p, "invalid address or network '" + *str + "': " + why);
      }
    }
    if (YAML::Node f = m.get("src_file"); f.IsDefined()) {
      for (const auto& file : readStrings(st, f, m.pathOf("src_file")))
        readCidrFile(st, f, m.pathOf("src_file"), st.resolvePath(file), &acl);
    }
  } else if (what == "ssl") {
    acl.kind = Acl::Kind::Ssl;
    bool ssl = true;
    m.boolean("ssl", &ssl);
    if (!ssl)
      st.yaml.error(m.get("ssl"), m.pathOf("ssl"),
                    "only 'ssl: true' is meaningful; use 'not' in the condition");
  }
  m.finish();
  if (st.yaml.diagnostics().errorCount() != errorsBefore) return std::nullopt;
  return acl;
}

bool aclNeedsHttp(const Acl& a) {
  return a.kind != Acl::Kind::Src && a.kind != Acl::Kind::Ssl;
}

std::map<std::string, Acl> readAcls(LoaderState& st, MapReader& parent, Mode mode) {
  std::map<std::string, Acl> out;
  YAML::Node n = parent.get("acls");
  if (!n.IsDefined()) return out;
  MapReader m(st.yaml, n, parent.pathOf("acls"));
  if (!m.valid()) return out;
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string name = it->first.Scalar();
    std::string path = m.pathOf(name);
    m.get(name);
    if (!validName(name)) {
      st.yaml.error(it->first, path, "invalid ACL name '" + name + "' (letters, digits, _ - . :)");
      continue;
    }
    if (name == "and" || name == "or" || name == "not") {
      st.yaml.error(it->first, path, "'" + name + "' is an operator and cannot name an ACL");
      continue;
    }
    auto acl = readAcl(st, it->second, path);
    if (acl && mode == Mode::Tcp && aclNeedsHttp(*acl))
      st.yaml.error(it->second, path,
                    "ACL '" + name + "' inspects HTTP but the section is in tcp mode");
    // An invalid ACL is still defined: conditions naming it must not report it as undefined too.
    out.emplace(name, acl.value_or(Acl{}));
  }
  m.finish();
  return out;
}

// Built-in ACLs HAProxy users know, added on first use.
bool addBuiltinAcl(const std::string& name, std::map<std::string, Acl>* acls) {
  if (name == "LOCALHOST") {
    Acl a;
    a.kind = Acl::Kind::Src;
    a.networks = {*Cidr::parse("127.0.0.0/8", nullptr), *Cidr::parse("::1/128", nullptr)};
    acls->emplace(name, a);
    return true;
  }
  if (name == "ssl_fc") {
    Acl a;
    a.kind = Acl::Kind::Ssl;
    acls->emplace(name, a);
    return true;
  }
  return false;
}

// Reads `if:`/`unless:` of a rule map; checks the ACL names against `acls`.
proxy::Guard readGuard(LoaderState& st, MapReader& m, std::map<std::string, Acl>* acls) {
  proxy::Guard g;
  bool hasIf = m.has("if"), hasUnless = m.has("unless");
  if (hasIf && hasUnless) {
    st.yaml.error(m.keyNode("unless"), m.pathOf("unless"), "use either 'if' or 'unless', not both");
    return g;
  }
  if (!hasIf && !hasUnless) return g;
  const char* key = hasIf ? "if" : "unless";
  YAML::Node n = m.get(key);
  auto text = readString(st.yaml, n, m.pathOf(key));
  if (!text) return g;
  ConditionError err;
  auto cond = parseCondition(*text, &err);
  if (!cond) {
    Location loc = st.yaml.at(n);
    loc.column += static_cast<int>(err.offset) + (n.Tag() == "!" ? 1 : 0);
    st.yaml.diagnostics().error(loc, m.pathOf(key),
                                "invalid condition '" + *text + "': " + err.message);
    return g;
  }
  std::vector<std::string> names;
  collectAclNames(*cond, &names);
  std::vector<std::string> known;
  for (const auto& [k, v] : *acls) known.push_back(k);
  known.insert(known.end(), {"LOCALHOST", "ssl_fc"});
  bool ok = true;
  for (const auto& name : names) {
    if (acls->count(name) || addBuiltinAcl(name, acls)) continue;
    st.yaml.error(n, m.pathOf(key), "undefined ACL '" + name + "'" + didYouMean(name, known));
    ok = false;
  }
  if (ok) {
    g.condition = std::move(*cond);
    g.negate = !hasIf;
  }
  return g;
}

// ---- http_request / http_response rules ----------------------------------------------------

struct HeaderArgs {
  std::string name, value;
};

HeaderArgs readHeaderArgs(LoaderState& st, const YAML::Node& n, const std::string& path) {
  HeaderArgs h;
  MapReader m(st.yaml, n, path);
  if (m.require("name")) m.string("name", &h.name);
  if (m.require("value")) m.string("value", &h.value);
  if (!h.name.empty() && !isHttpToken(h.name))
    st.yaml.error(m.get("name"), m.pathOf("name"), "'" + h.name + "' is not a valid header name");
  m.finish();
  return h;
}

std::string readHeaderName(LoaderState& st, const YAML::Node& n, const std::string& path) {
  auto s = readString(st.yaml, n, path);
  if (s && !isHttpToken(*s)) st.yaml.error(n, path, "'" + *s + "' is not a valid header name");
  return s.value_or("");
}

// Exactly one action key per rule; returns it (and its node), or "" after reporting.
std::string ruleAction(LoaderState& st, MapReader& m, const std::vector<std::string>& actions) {
  std::vector<std::string> found;
  for (const auto& a : actions)
    if (m.has(a)) found.push_back(a);
  if (found.size() == 1) return found[0];
  std::string list;
  for (const auto& a : actions) list += (list.empty() ? "" : ", ") + a;
  if (found.empty()) {
    // Name the unknown key if there is one: that is usually a typo of an action.
    for (auto it = m.node().begin(); it != m.node().end(); ++it) {
      std::string k = it->first.Scalar();
      if (k == "if" || k == "unless") continue;
      st.yaml.error(
          it->first, m.pathOf(k),
          "unknown action '" + k + "'" + didYouMean(k, actions) + "; expected one of " + list);
      m.get(k);
      return "";
    }
    st.yaml.error(m.node(), m.path(), "a rule needs one action: " + list);
  } else {
    st.yaml.error(m.node(), m.path(),
                  "a rule has one action, found '" + found[0] + "' and '" + found[1] + "'");
  }
  return "";
}

// Whether an HTTP frontend answers every request itself (an unconditional return, deny or
// redirect before anything else could route it): such a frontend needs no backend.
bool answersEverything(const proxy::Frontend& fe) {
  using A = proxy::HttpRequestRule::Action;
  if (fe.mode != proxy::Mode::Http) return false;
  for (const auto& r : fe.httpRequest) {
    if (r.guard.condition) continue;
    if (r.action == A::Return || r.action == A::Deny || r.action == A::Redirect) return true;
  }
  return false;
}

std::vector<proxy::HttpRequestRule> readHttpRequestRules(
    LoaderState& st, MapReader& parent, std::map<std::string, Acl>* acls,
    const std::map<std::string, proxy::RateLimitTable>* tables) {
  std::vector<proxy::HttpRequestRule> out;
  YAML::Node list = parent.get("http_request");
  if (!list.IsDefined()) return out;
  auto items = readList(st.yaml, list, parent.pathOf("http_request"), false);
  for (size_t i = 0; i < items.size(); ++i) {
    std::string path = parent.pathOf("http_request") + "[" + std::to_string(i) + "]";
    MapReader m(st.yaml, items[i], path);
    if (!m.valid()) continue;
    using A = proxy::HttpRequestRule::Action;
    proxy::HttpRequestRule r;
    std::string action = ruleAction(
        st, m, {"deny", "redirect", "return", "set_header", "add_header", "del_header", "track"});
    YAML::Node v = action.empty() ? YAML::Node() : m.get(action);
    std::string vpath = m.pathOf(action);
    if (action == "deny") {
      r.action = A::Deny;
      if (v.IsScalar()) {
        if (auto s = readInt(st.yaml, v, vpath, 200, 599)) r.status = static_cast<int>(*s);
      } else if (v.IsMap()) {
        MapReader dm(st.yaml, v, vpath);
        dm.integer("status", &r.status, 200, 599);
        dm.finish();
      } else if (!v.IsNull()) {
        st.yaml.error(v, vpath, "expected a status code or {status: N}, got " + describe(v));
      }
    } else if (action == "redirect") {
      r.action = A::Redirect;
      r.status = 302;
      MapReader rm(st.yaml, v, vpath);
      rm.string("scheme", &r.redirectScheme);
      rm.string("location", &r.redirectLocation);
      rm.string("prefix", &r.redirectPrefix);
      if (YAML::Node c = rm.get("code"); c.IsDefined()) {
        if (auto code = readInt(st.yaml, c, rm.pathOf("code"), 301, 308)) {
          if (*code == 304 || *code == 305 || *code == 306)
            st.yaml.error(c, rm.pathOf("code"), "redirect code must be 301, 302, 303, 307 or 308");
          else
            r.status = static_cast<int>(*code);
        }
      }
      int kinds =
          !r.redirectScheme.empty() + !r.redirectLocation.empty() + !r.redirectPrefix.empty();
      if (rm.valid() && kinds != 1)
        st.yaml.error(v, vpath, "a redirect needs exactly one of scheme, location, prefix");
      if (!r.redirectScheme.empty() && r.redirectScheme != "http" && r.redirectScheme != "https")
        st.yaml.error(rm.get("scheme"), rm.pathOf("scheme"),
                      "expected http or https, got '" + r.redirectScheme + "'");
      rm.finish();
    } else if (action == "return") {
      // HAProxy's `http-request return status N content-type T (string S | file F)`: an answer
      // made by the proxy itself (a maintenance page, a health endpoint, a welcome page).
      r.action = A::Return;
      r.status = 200;
      r.contentType = "text/plain";
      MapReader rm(st.yaml, v, vpath);
      rm.integer("status", &r.status, 200, 599);
      rm.string("content_type", &r.contentType);
      std::string file;
      bool hasString = rm.has("string");
      rm.string("string", &r.body);
      rm.string("file", &file);
      if (hasString && !file.empty())
        st.yaml.error(v, vpath, "a return has a string or a file, not both");
      if (!file.empty()) {
        std::string resolved = st.resolvePath(file);
        std::ifstream in(resolved, std::ios::binary);
        if (!in) {
          st.yaml.error(rm.get("file"), rm.pathOf("file"), "cannot read '" + resolved + "'");
        } else {
          std::stringstream ss;
          ss << in.rdbuf();
          r.body = ss.str();
        }
      }
      if (r.contentType.find_first_of("\r\n") != std::string::npos)
        st.yaml.error(rm.get("content_type"), rm.pathOf("content_type"),
                      "a content type is one line");
      rm.finish();
    } else if (action == "set_header" || action == "add_header") {
      r.action = action == "set_header" ? A::SetHeader : A::AddHeader;
      auto h = readHeaderArgs(st, v, vpath);
      r.name = h.name;
      r.value = h.value;
    } else if (action == "del_header") {
      r.action = A::DelHeader;
      r.name = readHeaderName(st, v, vpath);
    } else if (action == "track") {
      r.action = A::Track;
      if (auto t = readString(st.yaml, v, vpath)) {
        r.table = *t;
        if (!tables) {
          st.yaml.error(v, vpath, "rate-limit tables exist only in frontends and listens");
        } else if (!tables->count(*t)) {
          std::vector<std::string> names;
          for (const auto& [k, _] : *tables) names.push_back(k);
          st.yaml.error(v, vpath,
                        "undefined rate-limit table '" + *t + "'" + didYouMean(*t, names));
        }
      }
    }
    r.guard = readGuard(st, m, acls);
    m.finish();
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<proxy::HttpResponseRule> readHttpResponseRules(LoaderState& st, MapReader& parent,
                                                           std::map<std::string, Acl>* acls) {
  std::vector<proxy::HttpResponseRule> out;
  YAML::Node list = parent.get("http_response");
  if (!list.IsDefined()) return out;
  auto items = readList(st.yaml, list, parent.pathOf("http_response"), false);
  for (size_t i = 0; i < items.size(); ++i) {
    std::string path = parent.pathOf("http_response") + "[" + std::to_string(i) + "]";
    MapReader m(st.yaml, items[i], path);
    if (!m.valid()) continue;
    using A = proxy::HttpResponseRule::Action;
    proxy::HttpResponseRule r;
    std::string action = ruleAction(st, m, {"set_header", "add_header", "del_header"});
    if (!action.empty()) {
      YAML::Node v = m.get(action);
      if (action == "del_header") {
        r.action = A::DelHeader;
        r.name = readHeaderName(st, v, m.pathOf(action));
      } else {
        r.action = action == "set_header" ? A::SetHeader : A::AddHeader;
        auto h = readHeaderArgs(st, v, m.pathOf(action));
        r.name = h.name;
        r.value = h.value;
      }
    }
    r.guard = readGuard(st, m, acls);
    m.finish();
    out.push_back(std::move(r));
  }
  return out;
}

std::map<std::string, proxy::RateLimitTable> readRateLimits(LoaderState& st, MapReader& parent) {
  std::map<std::string, proxy::RateLimitTable> out;
  YAML::Node n = parent.get("rate_limits");
  if (!n.IsDefined()) return out;
  MapReader m(st.yaml, n, parent.pathOf("rate_limits"));
  if (!m.valid()) return out;
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string name = it->first.Scalar();
    m.get(name);
    std::string path = m.pathOf(name);
    if (!validName(name)) {
      st.yaml.error(it->first, path, "invalid table name '" + name + "'");
      continue;
    }
    MapReader tm(st.yaml, it->second, path);
    proxy::RateLimitTable t;
    tm.choice<proxy::RateLimitTable::Key>("key", &t.key,
                                          {{"src", proxy::RateLimitTable::Key::Src}});
    tm.duration("window", &t.window, DefaultUnit::Milliseconds, 1ms, 24h);
    if (tm.require("limit")) tm.integer("limit", &t.limit, 1, 1000000000);
    tm.integer("status", &t.status, 400, 599);
    tm.size("size", &t.size);
    tm.duration("expire", &t.expire, DefaultUnit::Milliseconds, 1ms, 7 * 24h);
    if (t.expire < t.window)
      st.yaml.warning(it->second, path, "expire is shorter than window: rates reset early");
    tm.finish();
    out.emplace(name, t);
  }
  m.finish();
  return out;
}

// ---- binds ----------------------------------------------------------------------------------

void readCertificates(LoaderState& st, const YAML::Node& n, const std::string& path,
                      proxy::Bind* bind) {
  for (const auto& entry : readStrings(st, n, path)) {
    std::string p = st.resolvePath(entry);
    std::vector<std::string> files;
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      // HAProxy loads every certificate of a crt directory; so do we (sorted, *.pem).
      for (const auto& de : std::filesystem::directory_iterator(p, ec))
        if (de.path().extension() == ".pem") files.push_back(de.path().string());
      std::sort(files.begin(), files.end());
      if (files.empty())
        st.yaml.error(n, path, "no .pem files in certificate directory '" + p + "'");
    } else {
      files.push_back(p);
    }
    for (const auto& f : files) {
      if (auto err = proxy::checkCertificateFile(f))
        st.yaml.error(n, path, *err);
      else
        bind->certificates.push_back(f);
    }
  }
}

std::vector<proxy::Bind> readBinds(LoaderState& st, MapReader& parent, bool required,
                                   proxy::Mode mode) {
  std::vector<proxy::Bind> out;
  YAML::Node n = parent.get("bind");
  if (!n.IsDefined()) {
    if (required && parent.valid())
      st.yaml.error(parent.node(), parent.pathOf("bind"), "missing required key 'bind'");
    return out;
  }
  auto items = readList(st.yaml, n, parent.pathOf("bind"), true);
  for (size_t i = 0; i < items.size(); ++i) {
    std::string path = n.IsSequence() ? parent.pathOf("bind") + "[" + std::to_string(i) + "]"
                                      : parent.pathOf("bind");
    proxy::Bind b;
    YAML::Node addrNode = items[i];
    std::string addrPath = path;
    std::optional<MapReader> m;
    if (items[i].IsMap()) {
      m.emplace(st.yaml, items[i], path);
      m->require("address");
      addrNode.reset(m->get("address"));  // reset: Node::operator= would overwrite the map
      addrPath = m->pathOf("address");
    }
    bool ok = false;
    if (addrNode.IsDefined()) {
      if (auto s = readString(st.yaml, addrNode, addrPath)) {
        std::string why;
        if (auto ep = Endpoint::parse(*s, true, &why)) {
          if (!ep->ip) {
            st.yaml.error(addrNode, addrPath,
                          "bind needs an IP address or '*', not a host name ('" + *s + "')");
          } else {
            b.endpoint = *ep;
            ok = true;
          }
        } else {
          st.yaml.error(addrNode, addrPath, "invalid bind address '" + *s + "': " + why);
        }
      }
    }
    if (m) {
      m->boolean("ssl", &b.ssl);
      if (YAML::Node c = m->get("crt"); c.IsDefined()) {
        b.ssl = true;  // a certificate means TLS on this bind
        readCertificates(st, c, m->pathOf("crt"), &b);
      } else if (b.ssl) {
        st.yaml.error(items[i], path, "ssl needs at least one certificate: add 'crt: FILE.pem'");
      }
      if (YAML::Node a = m->get("alpn"); a.IsDefined()) {
        b.alpn = readStrings(st, a, m->pathOf("alpn"));
        // Offering a protocol the proxy does not speak would break every client that picks it.
        for (const auto& p : b.alpn)
          if (mode == proxy::Mode::Http && p != "http/1.1" && p != "http/1.0")
            st.yaml.error(a, m->pathOf("alpn"),
                          "'" + p +
                              "': an HTTP frontend speaks HTTP/1.1 to its clients; offer "
                              "http/1.1 (HTTP/2 is not supported)");
      }
      m->integer("backlog", &b.backlog, 1, 65535);
      m->boolean("v6only", &b.v6only);
      m->finish();
    }
    if (ok) {
      st.binds.push_back({b.endpoint, addrNode, addrPath});
      out.push_back(std::move(b));
    }
  }
  return out;
}

// ---- health checks --------------------------------------------------------------------------

bool parseHex(const std::string& hex, std::string* out) {
  if (hex.size() % 2) return false;
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      c = static_cast<char>(std::tolower(c));
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

void readStatusRanges(LoaderState& st, const YAML::Node& n, const std::string& path,
                      health::HttpExpect* e) {
  auto items = readList(st.yaml, n, path, true);
  for (size_t i = 0; i < items.size(); ++i) {
    std::string p = n.IsSequence() ? path + "[" + std::to_string(i) + "]" : path;
    auto s = readString(st.yaml, items[i], p);
    if (!s) continue;
    int lo = 0, hi = 0;
    char dash = 0;
    int consumed = 0;
    int fields = std::sscanf(s->c_str(), "%d%c%d%n", &lo, &dash, &hi, &consumed);
    if (fields == 1) {
      hi = lo;
      consumed = static_cast<int>(s->size());
      if (s->find_first_not_of("0123456789") != std::string::npos) consumed = -1;
    }
    bool ok = (fields == 1 || (fields == 3 && dash == '-')) &&
              consumed == static_cast<int>(s->size()) && lo >= 100 && hi <= 599 && lo <= hi;
    if (!ok)
      st.yaml.error(items[i], p, "expected a status (200), or a range (200-399), got '" + *s + "'");
    else
      e->statusRanges.emplace_back(lo, hi);
  }
}

health::HttpExpect readHttpExpect(LoaderState& st, const YAML::Node& n, const std::string& path) {
  health::HttpExpect e;
  MapReader m(st.yaml, n, path);
  if (!m.valid()) return e;
  int kinds = m.has("status") + m.has("string") + m.has("rstring");
  m.boolean("negate", &e.negate);
  if (kinds != 1) {
    st.yaml.error(n, path, "an expect rule needs exactly one of status, string, rstring");
  } else if (m.has("status")) {
    e.kind = health::HttpExpect::Kind::Status;
    readStatusRanges(st, m.get("status"), m.pathOf("status"), &e);
  } else if (m.has("string")) {
    e.kind = health::HttpExpect::Kind::String;
    m.string("string", &e.pattern);
  } else {
    e.kind = health::HttpExpect::Kind::Rstring;
    m.string("rstring", &e.pattern);
    std::string why;
    if (!Regex::compile(e.pattern, false, &why))
      st.yaml.error(m.get("rstring"), m.pathOf("rstring"),
                    "invalid regular expression '" + e.pattern + "': " + why);
  }
  m.finish();
  return e;
}

health::TcpCheckStep readTcpStep(LoaderState& st, const YAML::Node& n, const std::string& path) {
  using S = health::TcpCheckStep;
  S s;
  MapReader m(st.yaml, n, path);
  if (!m.valid()) return s;
  std::string action = ruleAction(st, m, {"connect", "send", "send_binary", "expect"});
  if (action.empty()) return s;
  YAML::Node v = m.get(action);
  std::string vpath = m.pathOf(action);
  if (action == "connect") {
    s.kind = S::Kind::Connect;
    if (v.IsMap()) {
      MapReader cm(st.yaml, v, vpath);
      if (YAML::Node p = cm.get("port"); p.IsDefined())
        if (auto port = readInt(st.yaml, p, cm.pathOf("port"), 1, 65535))
          s.port = static_cast<uint16_t>(*port);
      cm.optionalDuration("timeout", &s.timeout, DefaultUnit::Milliseconds, 1ms, 1h);
      cm.finish();
    } else if (!v.IsNull() && !(v.IsScalar() && readBool(st.yaml, v, vpath))) {
      // readBool reported the problem
    }
  } else if (action == "send") {
    s.kind = S::Kind::Send;
    if (auto d = readString(st.yaml, v, vpath)) s.data = *d;
  } else if (action == "send_binary") {
    s.kind = S::Kind::SendBinary;
    if (auto d = readString(st.yaml, v, vpath))
      if (!parseHex(*d, &s.data))
        st.yaml.error(v, vpath, "expected hexadecimal bytes such as 2a310d0a, got '" + *d + "'");
  } else {
    s.kind = S::Kind::Expect;
    MapReader em(st.yaml, v, vpath);
    if (em.valid()) {
      int kinds = em.has("string") + em.has("rstring") + em.has("binary");
      if (kinds != 1) {
        st.yaml.error(v, vpath, "expect needs exactly one of string, rstring, binary");
      } else if (em.has("string")) {
        s.match = S::Match::String;
        em.string("string", &s.data);
      } else if (em.has("rstring")) {
        s.match = S::Match::Rstring;
        em.string("rstring", &s.data);
        std::string why;
        if (!Regex::compile(s.data, false, &why))
          st.yaml.error(em.get("rstring"), em.pathOf("rstring"),
                        "invalid regular expression '" + s.data + "': " + why);
      } else {
        s.match = S::Match::Binary;
        std::string hex;
        em.string("binary", &hex);
        if (!parseHex(hex, &s.data))
          st.yaml.error(em.get("binary"), em.pathOf("binary"),
                        "expected hexadecimal bytes, got '" + hex + "'");
      }
      em.boolean("negate", &s.negate);
      em.optionalDuration("timeout", &s.timeout, DefaultUnit::Milliseconds, 1ms, 1h);
    }
    em.finish();
  }
  m.finish();
  return s;
}

// Backend-level `check:` section: how to check and the default schedule for its servers.
void readBackendCheck(LoaderState& st, MapReader& parent, proxy::Backend* be,
                      health::ServerCheckParams* schedule) {
  YAML::Node n = parent.get("check");
  if (!n.IsDefined()) return;
  MapReader m(st.yaml, n, parent.pathOf("check"));
  if (!m.valid()) return;
  using T = health::CheckType;
  health::CheckConfig c;
  c.timeout = be->timeouts.check;
  m.choice<T>("type", &c.type,
              {{"tcp", T::Tcp},
               {"http", T::Http},
               {"tcp-script", T::TcpScript},
               {"mysql", T::Mysql},
               {"redis", T::Redis}});
  m.duration("timeout", &c.timeout, DefaultUnit::Milliseconds, 1ms, 1h);
  m.duration("inter", &schedule->inter, DefaultUnit::Milliseconds, 10ms, 24h);
  m.optionalDuration("fastinter", &schedule->fastinter, DefaultUnit::Milliseconds, 10ms, 24h);
  m.optionalDuration("downinter", &schedule->downinter, DefaultUnit::Milliseconds, 10ms, 24h);
  m.integer("fall", &schedule->fall, 1, 1000);
  m.integer("rise", &schedule->rise, 1, 1000);
  if (YAML::Node p = m.get("port"); p.IsDefined())
    if (auto port = readInt(st.yaml, p, m.pathOf("port"), 1, 65535))
      schedule->port = static_cast<uint16_t>(*port);
  switch (c.type) {
    case T::Http: {
      c.method = "GET";
      c.version = "HTTP/1.1";
      m.string("method", &c.method);
      if (!isHttpToken(c.method))
        st.yaml.error(m.get("method"), m.pathOf("method"),
                      "'" + c.method + "' is not an HTTP method");
      m.string("uri", &c.uri);
      if (c.uri.empty() || (c.uri.front() != '/' && c.uri != "*"))
        st.yaml.error(m.get("uri"), m.pathOf("uri"),
                      "uri must start with '/', got '" + c.uri + "'");
      m.choice<std::string>("version", &c.version,
                            {{"HTTP/1.0", "HTTP/1.0"}, {"HTTP/1.1", "HTTP/1.1"}});
      if (YAML::Node h = m.get("headers"); h.IsDefined()) {
        MapReader hm(st.yaml, h, m.pathOf("headers"));
        if (hm.valid()) {
          for (auto it = h.begin(); it != h.end(); ++it) {
            std::string name = it->first.Scalar();
            hm.get(name);
            if (!isHttpToken(name))
              st.yaml.error(it->first, hm.pathOf(name),
                            "'" + name + "' is not a valid header name");
            if (auto v = readString(st.yaml, it->second, hm.pathOf(name)))
              c.headers.emplace_back(name, *v);
          }
        }
        hm.finish();
      }
      if (YAML::Node e = m.get("expect"); e.IsDefined()) {
        if (e.IsSequence()) {
          for (size_t i = 0; i < e.size(); ++i)
            c.expects.push_back(
                readHttpExpect(st, e[i], m.pathOf("expect") + "[" + std::to_string(i) + "]"));
        } else {
          c.expects.push_back(readHttpExpect(st, e, m.pathOf("expect")));
        }
      }
      break;
    }
    case T::TcpScript: {
      if (!m.require("steps")) break;
      YAML::Node s = m.get("steps");
      auto items = readList(st.yaml, s, m.pathOf("steps"), false);
      for (size_t i = 0; i < items.size(); ++i)
        c.steps.push_back(
            readTcpStep(st, items[i], m.pathOf("steps") + "[" + std::to_string(i) + "]"));
      if (items.empty() && s.IsSequence())
        st.yaml.error(s, m.pathOf("steps"), "a tcp-script check needs at least one step");
      break;
    }
    case T::Mysql:
      if (m.require("user")) m.string("user", &c.mysqlUser);
      break;
    default:
      break;
  }
  m.finish();
  be->check = std::move(c);
}

// ---- servers --------------------------------------------------------------------------------

void readServers(LoaderState& st, MapReader& parent, proxy::Backend* be,
                 const health::ServerCheckParams& schedule) {
  YAML::Node n = parent.get("servers");
  if (!n.IsDefined()) return;
  auto items = readList(st.yaml, n, parent.pathOf("servers"), false);
  std::map<std::string, int> names;
  for (size_t i = 0; i < items.size(); ++i) {
    std::string path = parent.pathOf("servers") + "[" + std::to_string(i) + "]";
    MapReader m(st.yaml, items[i], path);
    if (!m.valid()) continue;
    proxy::Server s;
    s.check = schedule;
    s.check.enabled = be->check.has_value();
    if (m.require("name")) {
      m.string("name", &s.name);
      if (!validName(s.name)) {
        st.yaml.error(m.get("name"), m.pathOf("name"),
                      "invalid server name '" + s.name + "' (letters, digits, _ - . :)");
      } else if (auto [it, fresh] = names.emplace(s.name, st.yaml.at(m.get("name")).line); !fresh) {
        st.yaml.error(m.get("name"), m.pathOf("name"),
                      "duplicate server name '" + s.name + "' in backend '" + be->name +
                          "' (first at line " + std::to_string(it->second) + ")");
      }
    }
    if (m.require("address")) {
      YAML::Node a = m.get("address");
      if (auto str = readString(st.yaml, a, m.pathOf("address"))) {
        std::string why;
        if (auto ep = Endpoint::parse(*str, true, &why)) {
          if (ep->ip && ep->ip->isUnspecified())
            st.yaml.error(a, m.pathOf("address"),
                          "a server needs a real address, not '" + *str + "'");
          else
            s.address = *ep;
        } else {
          st.yaml.error(a, m.pathOf("address"), "invalid server address '" + *str + "': " + why);
        }
      }
    }
    m.integer("weight", &s.weight, 0, 256);
    m.integer("maxconn", &s.maxconn, 0, 10000000);
    m.integer("minconn", &s.minconn, 0, 10000000);
    if (s.minconn && !s.maxconn)
      st.yaml.error(m.get("minconn"), m.pathOf("minconn"),
                    "minconn needs maxconn (the limit grows from minconn to maxconn)");
    else if (s.minconn > s.maxconn)
      st.yaml.error(m.get("minconn"), m.pathOf("minconn"),
                    "minconn " + std::to_string(s.minconn) + " is above maxconn " +
                        std::to_string(s.maxconn));
    m.boolean("backup", &s.backup);
    m.boolean("drain", &s.drain);
    m.boolean("disabled", &s.disabled);
    m.duration("slowstart", &s.slowstart, DefaultUnit::Milliseconds, 0ms, 24h);
    if (YAML::Node c = m.get("check"); c.IsDefined()) {
      std::string cpath = m.pathOf("check");
      if (c.IsScalar()) {
        if (auto b = readBool(st.yaml, c, cpath)) s.check.enabled = *b;
      } else {
        MapReader cm(st.yaml, c, cpath);
        s.check.enabled = true;
        cm.boolean("enabled", &s.check.enabled);
        cm.duration("inter", &s.check.inter, DefaultUnit::Milliseconds, 10ms, 24h);
        cm.optionalDuration("fastinter", &s.check.fastinter, DefaultUnit::Milliseconds, 10ms, 24h);
        cm.optionalDuration("downinter", &s.check.downinter, DefaultUnit::Milliseconds, 10ms, 24h);
        cm.integer("fall", &s.check.fall, 1, 1000);
        cm.integer("rise", &s.check.rise, 1, 1000);
        if (YAML::Node p = cm.get("port"); p.IsDefined())
          if (auto port = readInt(st.yaml, p, cm.pathOf("port"), 1, 65535))
            s.check.port = static_cast<uint16_t>(*port);
        if (YAML::Node a = cm.get("addr"); a.IsDefined()) {
          if (auto str = readString(st.yaml, a, cm.pathOf("addr"))) {
            if (!IpAddress::parse(*str))
              st.yaml.error(a, cm.pathOf("addr"), "expected an IP address, got '" + *str + "'");
            else
              s.check.addr = *str;
          }
        }
        cm.finish();
      }
    }
    if (s.drain && s.disabled)
      st.yaml.error(items[i], path, "a server is either drain or disabled, not both");
    m.finish();
    be->servers.push_back(std::move(s));
  }
}

// ---- sections -------------------------------------------------------------------------------

proxy::Balance readBalance(LoaderState& st, MapReader& m, proxy::Balance b) {
  using Alg = proxy::Balance::Algorithm;
  static const Choices<Alg> kAlgs = {{"roundrobin", Alg::RoundRobin},
                                     {"leastconn", Alg::LeastConn},
                                     {"source", Alg::Source},
                                     {"uri", Alg::Uri},
                                     {"first", Alg::First}};
  YAML::Node n = m.get("balance");
  if (!n.IsDefined()) return b;
  if (n.IsMap()) {
    MapReader bm(st.yaml, n, m.pathOf("balance"));
    if (bm.require("algorithm")) bm.choice<Alg>("algorithm", &b.algorithm, kAlgs);
    if (bm.has("whole")) {
      bm.boolean("whole", &b.uriWhole);
      if (b.algorithm != Alg::Uri)
        st.yaml.error(bm.get("whole"), bm.pathOf("whole"), "'whole' applies to balance uri only");
    }
    bm.finish();
  } else if (auto a = readChoice<Alg>(st.yaml, n, m.pathOf("balance"), kAlgs)) {
    b.algorithm = *a;
  }
  return b;
}

void defineName(LoaderState& st, std::map<std::string, Site>* defs, const std::string& kind,
                const std::string& name, const YAML::Node& keyNode, const std::string& path) {
  if (auto it = defs->find(name); it != defs->end()) {
    st.yaml.error(keyNode, path,
                  "duplicate " + kind + " name '" + name + "' (also " + it->second.path +
                      " at line " + std::to_string(st.yaml.at(it->second.node).line) + ")");
    return;
  }
  defs->emplace(name, Site{name, keyNode, path});
}

// The backend half of a section (a backend, or a listen).
void readBackendBody(LoaderState& st, MapReader& m, proxy::Backend* be) {
  const ProxyDefaults& d = st.defaults;
  be->mode = d.mode;
  be->timeouts = d.timeouts;
  be->retries = d.retries;
  be->redispatch = d.redispatch;
  m.choice<Mode>("mode", &be->mode, kModes);
  readTimeouts(st, m, &be->timeouts);
  be->balance = readBalance(st, m, d.balance);
  m.boolean("forwardfor", &be->forwardfor);
  m.integer("retries", &be->retries, 0, 100);
  m.boolean("redispatch", &be->redispatch);
  m.boolean("allbackups", &be->allbackups);
  m.integer("fullconn", &be->fullconn, 0, 10000000);
  health::ServerCheckParams schedule;
  readBackendCheck(st, m, be, &schedule);
  readServers(st, m, be, schedule);
  if (m.has("fullconn") &&
      std::none_of(be->servers.begin(), be->servers.end(),
                   [](const proxy::Server& s) { return s.minconn && s.minconn < s.maxconn; }))
    st.yaml.error(m.get("fullconn"), m.pathOf("fullconn"),
                  "fullconn has no effect: no server has a minconn below its maxconn (fullconn "
                  "sets the backend load at which such servers reach maxconn)");
  if (be->mode == Mode::Tcp && be->forwardfor)
    st.yaml.error(m.get("forwardfor"), m.pathOf("forwardfor"), "forwardfor needs mode http");
  if (be->balance.algorithm == proxy::Balance::Algorithm::Uri && be->mode == Mode::Tcp)
    st.yaml.error(m.get("balance"), m.pathOf("balance"), "balance uri needs mode http");
}

// The frontend half of a section (a frontend, or a listen).
void readFrontendBody(LoaderState& st, MapReader& m, proxy::Frontend* fe, bool isListen) {
  const ProxyDefaults& d = st.defaults;
  fe->mode = d.mode;
  fe->timeouts = d.timeouts;
  fe->httplog = d.httplog;
  fe->dontlognull = d.dontlognull;
  fe->maxconn = d.maxconn;
  m.choice<Mode>("mode", &fe->mode, kModes);
  readTimeouts(st, m, &fe->timeouts);
  m.integer("maxconn", &fe->maxconn, 0, 10000000);
  fe->binds = readBinds(st, m, /*required=*/true, fe->mode);
  fe->acls = readAcls(st, m, fe->mode);
  fe->rateLimits = readRateLimits(st, m);
  fe->httpRequest = readHttpRequestRules(st, m, &fe->acls, &fe->rateLimits);
  fe->httpResponse = readHttpResponseRules(st, m, &fe->acls);
  if (fe->mode == Mode::Tcp) {
    for (const char* k : {"http_request", "http_response", "rate_limits"})
      if (m.has(k))
        st.yaml.error(m.keyNode(k), m.pathOf(k),
                      std::string(k) + " needs mode http (this section is tcp)");
  }
  if (!isListen) {
    if (YAML::Node u = m.get("use_backend"); u.IsDefined()) {
      auto items = readList(st.yaml, u, m.pathOf("use_backend"), false);
      for (size_t i = 0; i < items.size(); ++i) {
        std::string path = m.pathOf("use_backend") + "[" + std::to_string(i) + "]";
        MapReader um(st.yaml, items[i], path);
        if (!um.valid()) continue;
        proxy::UseBackendRule r;
        if (um.require("backend")) {
          um.string("backend", &r.backend);
          st.backendRefs.push_back({r.backend, um.get("backend"), um.pathOf("backend")});
          st.backendRefModes.push_back(
              {{r.backend, um.get("backend"), um.pathOf("backend")}, fe->mode});
        }
        r.guard = readGuard(st, um, &fe->acls);
        if (!r.guard.condition && !um.has("if") && !um.has("unless"))
          st.yaml.error(items[i], path,
                        "use_backend without 'if' or 'unless' always matches; use default_backend");
        um.finish();
        fe->useBackends.push_back(std::move(r));
      }
    }
    if (YAML::Node db = m.get("default_backend"); db.IsDefined()) {
      if (auto s = readString(st.yaml, db, m.pathOf("default_backend"))) {
        fe->defaultBackend = *s;
        st.backendRefs.push_back({*s, db, m.pathOf("default_backend")});
        st.backendRefModes.push_back({{*s, db, m.pathOf("default_backend")}, fe->mode});
      }
    } else if (fe->useBackends.empty() && m.valid() && !answersEverything(*fe)) {
      st.yaml.error(m.node(), m.pathOf("default_backend"),
                    "frontend has no default_backend and no use_backend rules");
    }
  }
  if (YAML::Node l = m.get("log"); l.IsDefined()) {
    MapReader lm(st.yaml, l, m.pathOf("log"));
    lm.boolean("httplog", &fe->httplog);
    lm.boolean("dontlognull", &fe->dontlognull);
    lm.finish();
  }
}

}  // namespace

void readFrontends(LoaderState& st, const YAML::Node& node, proxy::Config* out) {
  MapReader all(st.yaml, node, "frontends");
  if (!all.valid()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string name = it->first.Scalar();
    all.get(name);
    std::string path = all.pathOf(name);
    if (!validName(name)) {
      st.yaml.error(it->first, path, "invalid frontend name '" + name + "'");
      continue;
    }
    defineName(st, &st.frontendDefs, "frontend", name, it->first, path);
    MapReader m(st.yaml, it->second, path);
    if (!m.valid()) continue;
    proxy::Frontend fe;
    fe.name = name;
    readFrontendBody(st, m, &fe, false);
    m.finish();
    out->frontends.push_back(std::move(fe));
  }
  all.finish();
}

void readBackends(LoaderState& st, const YAML::Node& node, proxy::Config* out) {
  MapReader all(st.yaml, node, "backends");
  if (!all.valid()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string name = it->first.Scalar();
    all.get(name);
    std::string path = all.pathOf(name);
    if (!validName(name)) {
      st.yaml.error(it->first, path, "invalid backend name '" + name + "'");
      continue;
    }
    defineName(st, &st.backendDefs, "backend", name, it->first, path);
    MapReader m(st.yaml, it->second, path);
    if (!m.valid()) continue;
    proxy::Backend be;
    be.name = name;
    readBackendBody(st, m, &be);
    be.acls = readAcls(st, m, be.mode);
    be.httpRequest = readHttpRequestRules(st, m, &be.acls, nullptr);
    be.httpResponse = readHttpResponseRules(st, m, &be.acls);
    if (be.mode == Mode::Tcp) {
      for (const char* k : {"http_request", "http_response"})
        if (m.has(k))
          st.yaml.error(m.keyNode(k), m.pathOf(k),
                        std::string(k) + " needs mode http (this section is tcp)");
    }
    m.finish();
    out->backends.push_back(std::move(be));
  }
  all.finish();
}

void readListens(LoaderState& st, const YAML::Node& node, proxy::Config* out) {
  MapReader all(st.yaml, node, "listens");
  if (!all.valid()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string name = it->first.Scalar();
    all.get(name);
    std::string path = all.pathOf(name);
    if (!validName(name)) {
      st.yaml.error(it->first, path, "invalid listen name '" + name + "'");
      continue;
    }
    defineName(st, &st.frontendDefs, "frontend", name, it->first, path);
    defineName(st, &st.backendDefs, "backend", name, it->first, path);
    MapReader m(st.yaml, it->second, path);
    if (!m.valid()) continue;
    // A listen is a frontend and a backend of the same name, wired together.
    proxy::Frontend fe;
    proxy::Backend be;
    fe.name = be.name = name;
    readFrontendBody(st, m, &fe, true);
    readBackendBody(st, m, &be);
    be.mode = fe.mode;
    fe.defaultBackend = name;
    if (!m.has("servers") && m.valid())
      st.yaml.error(it->second, m.pathOf("servers"), "missing required key 'servers'");
    m.finish();
    out->frontends.push_back(std::move(fe));
    out->backends.push_back(std::move(be));
  }
  all.finish();
}

void readStats(LoaderState& st, const YAML::Node& node, proxy::Config* out) {
  MapReader m(st.yaml, node, "stats");
  if (!m.valid()) return;
  proxy::Stats s;
  if (m.require("bind")) {
    YAML::Node b = m.get("bind");
    if (auto str = readString(st.yaml, b, m.pathOf("bind"))) {
      std::string why;
      if (auto ep = Endpoint::parse(*str, true, &why); ep && ep->ip) {
        s.bind = *ep;
        st.binds.push_back({*ep, b, m.pathOf("bind")});
      } else {
        st.yaml.error(b, m.pathOf("bind"),
                      "invalid bind address '" + *str + "': " + (why.empty() ? "not an IP" : why));
      }
    }
  }
  m.string("uri", &s.uri);
  if (s.uri.empty() || s.uri.front() != '/')
    st.yaml.error(m.get("uri"), m.pathOf("uri"), "uri must start with '/'");
  m.duration("refresh", &s.refresh, DefaultUnit::Seconds, 1s, 24h);
  if (YAML::Node a = m.get("auth"); a.IsDefined()) {
    auto items = readList(st.yaml, a, m.pathOf("auth"), true);
    for (size_t i = 0; i < items.size(); ++i) {
      std::string p =
          a.IsSequence() ? m.pathOf("auth") + "[" + std::to_string(i) + "]" : m.pathOf("auth");
      proxy::StatsUser u;
      if (items[i].IsMap()) {
        MapReader um(st.yaml, items[i], p);
        if (um.require("user")) um.string("user", &u.user);
        if (um.require("password")) um.string("password", &u.password);
        um.finish();
      } else if (auto str = readString(st.yaml, items[i], p)) {
        size_t colon = str->find(':');
        if (colon == std::string::npos || colon == 0) {
          st.yaml.error(items[i], p, "expected user:password or {user, password}");
          continue;
        }
        u.user = str->substr(0, colon);
        u.password = str->substr(colon + 1);
      }
      if (!u.user.empty() && u.password.empty())
        st.yaml.error(items[i], p, "empty password for stats user '" + u.user + "'");
      s.auth.push_back(u);
    }
  }
  if (YAML::Node a = m.get("admin_allowed_from"); a.IsDefined()) {
    auto items = readList(st.yaml, a, m.pathOf("admin_allowed_from"), true);
    for (size_t i = 0; i < items.size(); ++i) {
      std::string p = a.IsSequence()
                          ? m.pathOf("admin_allowed_from") + "[" + std::to_string(i) + "]"
                          : m.pathOf("admin_allowed_from");
      if (auto str = readString(st.yaml, items[i], p)) {
        std::string why;
        if (auto c = Cidr::parse(*str, &why))
          s.adminAllowedFrom.push_back(*c);
        else
          st.yaml.error(items[i], p, "invalid network '" + *str + "': " + why);
      }
    }
    if (s.auth.empty() && !s.adminAllowedFrom.empty())
      st.yaml.warning(a, m.pathOf("admin_allowed_from"),
                      "admin actions allowed without stats auth: anyone in these networks can "
                      "change server states");
  }
  m.finish();
  out->stats = std::move(s);
}

void readPrometheus(LoaderState& st, const YAML::Node& node, proxy::Config* out) {
  MapReader m(st.yaml, node, "prometheus");
  if (!m.valid()) return;
  proxy::Prometheus p;
  if (m.require("bind")) {
    YAML::Node b = m.get("bind");
    if (auto str = readString(st.yaml, b, m.pathOf("bind"))) {
      std::string why;
      if (auto ep = Endpoint::parse(*str, true, &why); ep && ep->ip) {
        p.bind = *ep;
        st.binds.push_back({*ep, b, m.pathOf("bind")});
      } else {
        st.yaml.error(b, m.pathOf("bind"),
                      "invalid bind address '" + *str + "': " + (why.empty() ? "not an IP" : why));
      }
    }
  }
  m.string("path", &p.path);
  if (p.path.empty() || p.path.front() != '/')
    st.yaml.error(m.get("path"), m.pathOf("path"), "path must start with '/'");
  m.finish();
  out->prometheus = std::move(p);
}

void crossCheckProxy(LoaderState& st, const proxy::Config& cfg) {
  std::vector<std::string> backendNames;
  for (const auto& [name, _] : st.backendDefs) backendNames.push_back(name);
  for (const auto& ref : st.backendRefs) {
    if (!st.backendDefs.count(ref.name))
      st.yaml.error(ref.node, ref.path,
                    "undefined backend '" + ref.name + "'" + didYouMean(ref.name, backendNames));
  }
  std::map<std::string, Mode> backendModes;
  for (const auto& be : cfg.backends) backendModes[be.name] = be.mode;
  for (const auto& [ref, feMode] : st.backendRefModes) {
    auto it = backendModes.find(ref.name);
    if (it != backendModes.end() && it->second != feMode)
      st.yaml.error(ref.node, ref.path,
                    std::string("frontend in ") + (feMode == Mode::Http ? "http" : "tcp") +
                        " mode cannot use backend '" + ref.name + "' in " +
                        (it->second == Mode::Http ? "http" : "tcp") + " mode");
  }
  for (const auto& be : cfg.backends) {
    auto def = st.backendDefs.find(be.name);
    if (def == st.backendDefs.end()) continue;
    bool anyActive = false;
    for (const auto& s : be.servers) anyActive |= !s.backup;
    if (be.servers.empty())
      st.yaml.warning(def->second.node, def->second.path,
                      "backend '" + be.name + "' has no servers: every request gets 503");
    else if (!anyActive)
      st.yaml.warning(
          def->second.node, def->second.path,
          "backend '" + be.name + "' has only backup servers: they take all traffic as if active");
  }
  // Two sockets conflict when family and port match and the addresses are equal or either is
  // the wildcard (Linux refuses such a bind; IPv6 binds are v6only).
  for (size_t i = 0; i < st.binds.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const Endpoint& a = st.binds[i].endpoint;
      const Endpoint& b = st.binds[j].endpoint;
      if (a.port != b.port || !a.ip || !b.ip || a.ip->family != b.ip->family) continue;
      if (*a.ip == *b.ip || a.ip->isUnspecified() || b.ip->isUnspecified()) {
        st.yaml.error(st.binds[i].node, st.binds[i].path,
                      "bind " + a.toString() + " conflicts with " + b.toString() + " at " +
                          st.binds[j].path + " (line " +
                          std::to_string(st.yaml.at(st.binds[j].node).line) + ")");
        break;
      }
    }
  }
}

}  // namespace tandem::appliance::schema
