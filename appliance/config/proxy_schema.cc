// frontends / backends / listens / stats / prometheus -> proxy::Config (and health:: structs).
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "appliance/config/condition_parser.h"
#include "appliance/config/config_reference.h"
#include "appliance/config/schema.h"
#include "common/logging.h"
#include "common/regex.h"
#include "proxy/access_log.h"
#include "proxy/sample_fetch.h"
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

// ---- access logs ---------------------------------------------------------------------------

void readAccessLog(LoaderState& st, MapReader& parent, proxy::AccessLog* out,
                   std::optional<proxy::Mode> mode) {
  using Format = proxy::AccessLog::Format;
  YAML::Node n = parent.get("log");
  if (!n.IsDefined()) {
    // From defaults: the line follows the frontend's mode (HAProxy falls back from httplog to
    // tcplog in a TCP frontend the same way).
    if (mode && out->format != Format::Off)
      out->format = *mode == proxy::Mode::Http ? Format::Http : Format::Tcp;
    return;
  }
  MapReader m(st.yaml, n, parent.pathOf("log"), "log");
  bool httplog = out->format == Format::Http, tcplog = out->format == Format::Tcp;
  bool setHttp = m.has("httplog"), setTcp = m.has("tcplog");
  m.boolean("httplog", &httplog);
  m.boolean("tcplog", &tcplog);
  m.boolean("dontlognull", &out->dontlognull);
  m.boolean("dontlog_normal", &out->dontlogNormal);
  m.boolean("json", &out->json);
  if (YAML::Node sm = m.get("sample"); sm.IsDefined()) {
    if (auto s = readString(st.yaml, sm, m.pathOf("sample"))) {
      // RANGES:SIZE, RANGES a comma list of N or N-M within 1..SIZE (HAProxy's log sample).
      std::string bad;
      std::vector<std::pair<uint32_t, uint32_t>> ranges;
      uint32_t size = 0;
      size_t colon = s->rfind(':');
      auto number = [](std::string_view t, uint32_t* v) {
        if (t.empty() || t.size() > 9 ||
            !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
          return false;
        *v = static_cast<uint32_t>(std::stoul(std::string(t)));
        return true;
      };
      if (colon == std::string::npos || !number(std::string_view(*s).substr(colon + 1), &size) ||
          size == 0)
        bad = "expected RANGES:SIZE such as 1:10 or 1-2,5:10";
      std::string_view list =
          std::string_view(*s).substr(0, colon == std::string::npos ? 0 : colon);
      while (bad.empty() && !list.empty()) {
        size_t comma = list.find(',');
        std::string_view part = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        size_t dash = part.find('-');
        uint32_t from = 0, to = 0;
        bool ok = dash == std::string_view::npos
                      ? number(part, &from) && (to = from, true)
                      : number(part.substr(0, dash), &from) && number(part.substr(dash + 1), &to);
        if (!ok || from < 1 || to < from || to > size)
          bad = "the range '" + std::string(part) + "' is not within 1-" + std::to_string(size);
        else
          ranges.push_back({from, to});
      }
      if (bad.empty() && ranges.empty()) bad = "expected RANGES:SIZE such as 1:10 or 1-2,5:10";
      if (!bad.empty()) {
        st.yaml.error(sm, m.pathOf("sample"), bad);
      } else {
        out->sampleSize = size;
        out->sampleRanges = std::move(ranges);
      }
    }
  }
  YAML::Node formatNode = m.get("format");
  if (formatNode.IsDefined()) {
    if (auto s = readString(st.yaml, formatNode, m.pathOf("format"))) {
      std::string error;
      // Syntax now; the mode's variables where the mode is known (a frontend, below).
      if (!proxy::LogFormat::compile(*s, true, &error))
        st.yaml.error(formatNode, m.pathOf("format"), error);
      else
        out->customFormat = *s;
      if (!mode) st.defaults.logFormatNode = formatNode;
    }
  }
  if (YAML::Node t = m.get("target"); t.IsDefined()) {
    if (auto s = readString(st.yaml, t, m.pathOf("target"))) {
      std::string parseError;
      std::optional<Endpoint> udp;
      if (s->rfind("udp:", 0) == 0) udp = Endpoint::parse(s->substr(4), true, &parseError);
      if (*s == "syslog")
        out->target = "unix:/dev/log";  // the local syslog daemon, as syslog(3) reaches it
      else if (*s == "journal")
        out->target = "journal";
      else if (*s == "stderr" || (*s)[0] == '/' || (s->rfind("unix:/", 0) == 0))
        out->target = *s;
      else if (udp && udp->ip)
        out->target = *s;
      else if (udp)
        st.yaml.error(t, m.pathOf("target"),
                      "a udp syslog target needs a literal address (" + udp->host + " is a name)");
      else
        st.yaml.error(t, m.pathOf("target"),
                      "expected stderr, an absolute file path, syslog (/dev/log), journal, "
                      "unix:/PATH or udp:ADDRESS:PORT, got '" +
                          *s + "'" + (parseError.empty() ? "" : " (" + parseError + ")"));
    }
  }
  bool syslogTarget = out->target.rfind("udp:", 0) == 0 || out->target.rfind("unix:", 0) == 0;
  bool journal = out->target == "journal";
  for (const char* key : {"facility", "syslog_format", "tag"}) {
    bool applies = syslogTarget || (journal && std::string_view(key) != "syslog_format");
    if (m.has(key) && !applies)
      st.yaml.error(m.keyNode(key), m.pathOf(key),
                    std::string(key) +
                        (std::string_view(key) == "syslog_format"
                             ? " applies to syslog targets only (target: syslog, unix:/PATH or "
                               "udp:ADDRESS:PORT; the journal has no header)"
                             : " applies to syslog and journal targets only (target: syslog, "
                               "journal, unix:/PATH or udp:ADDRESS:PORT)"));
  }
  if (YAML::Node f = m.get("facility"); f.IsDefined()) {
    if (auto s = readString(st.yaml, f, m.pathOf("facility"))) {
      if (auto code = logging::parseFacility(*s))
        out->facility = *code;
      else
        st.yaml.error(
            f, m.pathOf("facility"),
            "expected a syslog facility (local0 ... local7, daemon, user, ...), got '" + *s + "'");
    }
  }
  m.choice<proxy::AccessLog::SyslogFormat>("syslog_format", &out->syslogFormat,
                                           {{"rfc3164", proxy::AccessLog::SyslogFormat::Rfc3164},
                                            {"rfc5424", proxy::AccessLog::SyslogFormat::Rfc5424}});
  if (YAML::Node tg = m.get("tag"); tg.IsDefined()) {
    if (auto s = readString(st.yaml, tg, m.pathOf("tag"))) {
      bool printable = !s->empty() && s->size() <= 48 &&
                       std::all_of(s->begin(), s->end(), [](char c) { return c > 32 && c < 127; });
      if (printable)
        out->tag = *s;
      else
        st.yaml.error(tg, m.pathOf("tag"),
                      "expected 1-48 printable characters without spaces (RFC 5424 APP-NAME)");
    }
  }
  if (setHttp && setTcp && httplog && tcplog) {
    st.yaml.error(m.keyNode("tcplog"), m.pathOf("tcplog"),
                  "httplog and tcplog are two line styles: choose one");
    m.finish();
    return;
  }
  if (setHttp || setTcp) {
    if (setHttp && httplog)
      out->format = Format::Http;
    else if (setTcp && tcplog)
      out->format = Format::Tcp;
    else
      out->format = Format::Off;
  }
  if (mode && !out->customFormat.empty()) {
    std::string error;
    if (!proxy::LogFormat::compile(out->customFormat, *mode == proxy::Mode::Http, &error)) {
      if (formatNode.IsDefined())
        st.yaml.error(formatNode, m.pathOf("format"), error);
      else
        st.yaml.error(st.defaults.logFormatNode, "defaults.log.format",
                      error + " (for " + parent.pathOf("log") + ", a mode tcp section)");
    }
    // A format alone is enough: the line style follows the mode.
    if (out->format == Format::Off && !setHttp && !setTcp)
      out->format = *mode == proxy::Mode::Http ? Format::Http : Format::Tcp;
  }
  if (mode) {
    if (setHttp && httplog && *mode == proxy::Mode::Tcp)
      st.yaml.error(m.keyNode("httplog"), m.pathOf("httplog"),
                    "httplog needs mode http; a TCP frontend logs with tcplog: true");
    else if (setTcp && tcplog && *mode == proxy::Mode::Http)
      st.yaml.error(m.keyNode("tcplog"), m.pathOf("tcplog"),
                    "tcplog is for mode tcp; an HTTP frontend logs with httplog: true");
    else if (!setHttp && !setTcp && out->format != Format::Off)
      out->format = *mode == proxy::Mode::Http ? Format::Http : Format::Tcp;
    if (out->format == Format::Off)
      st.yaml.error(m.node(), parent.pathOf("log"),
                    "no line is written: add httplog: true (mode http), tcplog: true (mode "
                    "tcp) or a format, here or in defaults.log");
  }
  m.finish();
}

// ---- timeouts -----------------------------------------------------------------------------

void readTimeouts(LoaderState& st, MapReader& parent, proxy::Timeouts* to, TimeoutSide side) {
  YAML::Node t = parent.get("timeout");
  if (!t.IsDefined()) return;
  MapReader tm(st.yaml, t, parent.pathOf("timeout"), "timeout");
  tm.duration("connect", &to->connect, DefaultUnit::Milliseconds, 1ms, 24h);
  tm.duration("client", &to->client, DefaultUnit::Milliseconds, 1ms, 24h);
  tm.duration("server", &to->server, DefaultUnit::Milliseconds, 1ms, 24h);
  tm.duration("http_request", &to->httpRequest, DefaultUnit::Milliseconds, 1ms, 24h);
  tm.duration("keep_alive", &to->keepAlive, DefaultUnit::Milliseconds, 0ms, 24h);
  tm.duration("queue", &to->queue, DefaultUnit::Milliseconds, 0ms, 24h);
  tm.duration("tunnel", &to->tunnel, DefaultUnit::Milliseconds, 1ms, 7 * 24h);
  tm.duration("check", &to->check, DefaultUnit::Milliseconds, 1ms, 1h);
  for (const char* k : {"client_fin", "server_fin"})
    if (tm.has(k))
      st.yaml.error(tm.keyNode(k), tm.pathOf(k),
                    std::string(k) +
                        " is not applied yet: a half-closed side is bounded by "
                        "timeout client/server (tunnel in a tunnel); remove it");
  static const char* const kFrontendSide[] = {"client", "http_request", "keep_alive"};
  static const char* const kBackendSide[] = {"connect", "server", "queue", "tunnel", "check"};
  auto refuse = [&](const char* const* keys, size_t n, const char* here, const char* there) {
    for (size_t i = 0; i < n; ++i)
      if (tm.has(keys[i]))
        st.yaml.error(tm.keyNode(keys[i]), tm.pathOf(keys[i]),
                      std::string("timeout ") + keys[i] + " has no effect in a " + here + ": the " +
                          there + "'s applies (set it there, or in defaults)");
  };
  if (side == TimeoutSide::Frontend) refuse(kBackendSide, 5, "frontend", "backend");
  if (side == TimeoutSide::Backend) refuse(kFrontendSide, 3, "backend", "frontend");
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
  MapReader m(st.yaml, node, path, "acl");
  if (!m.valid()) return std::nullopt;
  static const std::vector<std::string> kCriteria = {
      "host", "path", "path_beg",   "path_end",     "path_reg",   "method",      "header",
      "src",  "ssl",  "ssl_c_used", "ssl_c_verify", "ssl_c_s_dn", "ssl_c_sha256"};
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
  } else if (what == "ssl" || what == "ssl_c_used") {
    acl.kind = what == "ssl" ? Acl::Kind::Ssl : Acl::Kind::SslClientUsed;
    bool on = true;
    m.boolean(what, &on);
    if (!on)
      st.yaml.error(m.get(what), m.pathOf(what),
                    "only '" + what + ": true' is meaningful; use 'not' in the condition");
  } else if (what == "ssl_c_verify" || what == "ssl_c_s_dn" || what == "ssl_c_sha256") {
    YAML::Node v = m.get(what);
    acl.values = readStrings(st, v, m.pathOf(what));
    acl.kind = what == "ssl_c_verify" ? Acl::Kind::SslClientVerify
               : what == "ssl_c_s_dn" ? Acl::Kind::SslClientSubject
                                      : Acl::Kind::SslClientSha256;
    for (auto& value : acl.values) {
      bool ok = !value.empty();
      if (what == "ssl_c_verify")
        ok = ok && value.find_first_not_of("0123456789") == std::string::npos;
      if (what == "ssl_c_sha256") {
        // As `openssl x509 -fingerprint -sha256` prints it, with or without the colons.
        std::erase(value, ':');
        ok = value.size() == 64 &&
             value.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
      }
      if (!ok)
        st.yaml.error(v, m.pathOf(what),
                      "'" + value + "' is not " +
                          (what == "ssl_c_verify" ? "a verification result (0: passed)"
                           : what == "ssl_c_s_dn" ? "a subject"
                                                  : "a SHA-256 fingerprint (64 hex digits)"));
    }
    if (acl.values.empty() && st.yaml.diagnostics().errorCount() == errorsBefore)
      st.yaml.error(v, m.pathOf(what), "expected at least one value");
  }
  m.finish();
  if (st.yaml.diagnostics().errorCount() != errorsBefore) return std::nullopt;
  return acl;
}

bool aclNeedsHttp(const Acl& a) {
  // The connection's own criteria; the client certificate ones are read in HTTP mode only
  // (where rules are evaluated per request).
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
  MapReader m(st.yaml, n, path, "header_args");
  if (m.require("name")) m.string("name", &h.name);
  if (m.require("value")) m.string("value", &h.value);
  if (!h.name.empty() && !isHttpToken(h.name))
    st.yaml.error(m.get("name"), m.pathOf("name"), "'" + h.name + "' is not a valid header name");
  // A line break would smuggle another header (or a whole request) into the message.
  if (h.value.find_first_of("\r\n") != std::string::npos || h.value.find('\0') != std::string::npos)
    st.yaml.error(m.get("value"), m.pathOf("value"),
                  "a header value is one line (no CR, LF or NUL)");
  if (std::string unknown; !proxy::fetchesKnown(h.value, &unknown))
    st.yaml.error(m.get("value"), m.pathOf("value"),
                  "'%[" + unknown +
                      "]' is not a value Tandem can fill in: it knows %[ssl_c_used], "
                      "%[ssl_c_verify], %[ssl_c_s_dn] and %[ssl_c_sha256]");
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
    MapReader m(st.yaml, items[i], path, "http_request");
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
        MapReader dm(st.yaml, v, vpath, "http_request.deny");
        dm.integer("status", &r.status, 200, 599);
        dm.finish();
      } else if (!v.IsNull()) {
        st.yaml.error(v, vpath, "expected a status code or {status: N}, got " + describe(v));
      }
    } else if (action == "redirect") {
      r.action = A::Redirect;
      r.status = 302;
      MapReader rm(st.yaml, v, vpath, "http_request.redirect");
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
      MapReader rm(st.yaml, v, vpath, "http_request.return");
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
    MapReader m(st.yaml, items[i], path, "http_response");
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
    MapReader tm(st.yaml, it->second, path, "rate_limit");
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

// A network or a list of them ("198.18.0.0/24", a bare address is a /32 or /128).
std::vector<Cidr> readNetworks(LoaderState& st, const YAML::Node& n, const std::string& path) {
  std::vector<Cidr> out;
  auto items = readList(st.yaml, n, path, true);
  for (size_t i = 0; i < items.size(); ++i) {
    std::string p = n.IsSequence() ? path + "[" + std::to_string(i) + "]" : path;
    if (auto str = readString(st.yaml, items[i], p)) {
      std::string why;
      if (auto c = Cidr::parse(*str, &why))
        out.push_back(*c);
      else
        st.yaml.error(items[i], p, "invalid network '" + *str + "': " + why);
    }
  }
  return out;
}

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
      m.emplace(st.yaml, items[i], path, "bind");
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
        if (m->has("ssl") && !b.ssl)
          st.yaml.error(m->get("ssl"), m->pathOf("ssl"),
                        "'ssl: false' with a crt: the certificate turns TLS on; remove one");
        b.ssl = true;  // a certificate means TLS on this bind
        readCertificates(st, c, m->pathOf("crt"), &b);
      } else if (b.ssl) {
        st.yaml.error(items[i], path, "ssl needs at least one certificate: add 'crt: FILE.pem'");
      }
      if (YAML::Node a = m->get("alpn"); a.IsDefined()) {
        b.alpn = readStrings(st, a, m->pathOf("alpn"));
        // Offering a protocol the proxy does not speak would break every client that picks it.
        for (const auto& p : b.alpn)
          if (mode == proxy::Mode::Http && p != "http/1.1" && p != "http/1.0" && p != "h2")
            st.yaml.error(a, m->pathOf("alpn"),
                          "'" + p +
                              "': an HTTP frontend speaks h2 and http/1.1 to its clients; "
                              "offer those");
      }
      {
        using P = proxy::Bind::Proto;
        static const Choices<P> kProto = {{"auto", P::Auto}, {"h2", P::H2}};
        m->choice("proto", &b.proto, kProto);
        if (b.proto == P::H2 && mode != proxy::Mode::Http)
          st.yaml.error(m->get("proto"), m->pathOf("proto"),
                        "proto: h2 is for HTTP frontends (mode: http)");
      }
      {
        int streams = static_cast<int>(b.maxConcurrentStreams);
        m->integer("max_concurrent_streams", &streams, 1, 10000);
        b.maxConcurrentStreams = static_cast<uint32_t>(streams);
        if (mode != proxy::Mode::Http && m->has("max_concurrent_streams"))
          st.yaml.error(m->get("max_concurrent_streams"), m->pathOf("max_concurrent_streams"),
                        "max_concurrent_streams is for HTTP/2, in HTTP frontends (mode: http)");
      }
      m->integer("backlog", &b.backlog, 1, 65535);
      m->boolean("v6only", &b.v6only);
      if (YAML::Node ca = m->get("ca_file"); ca.IsDefined()) {
        m->string("ca_file", &b.caFile);
        b.caFile = st.resolvePath(b.caFile);
        b.verify = proxy::Bind::Verify::Required;  // a CA means client certificates are wanted
        if (!b.ssl)
          st.yaml.error(ca, m->pathOf("ca_file"),
                        "client certificates need TLS on this bind: add 'crt: FILE.pem'");
        else if (::access(b.caFile.c_str(), R_OK) != 0)
          st.yaml.error(ca, m->pathOf("ca_file"), "cannot read '" + b.caFile + "'");
      }
      {
        using V = proxy::Bind::Verify;
        static const Choices<V> kVerify = {
            {"none", V::None}, {"optional", V::Optional}, {"required", V::Required}};
        m->choice("verify", &b.verify, kVerify);
        if (b.verify != V::None && b.caFile.empty() && m->has("verify"))
          st.yaml.error(m->get("verify"), m->pathOf("verify"),
                        "checking client certificates needs the CAs that sign them: add "
                        "'ca_file: FILE.pem'");
      }
      if (YAML::Node crl = m->get("crl_file"); crl.IsDefined()) {
        m->string("crl_file", &b.crlFile);
        b.crlFile = st.resolvePath(b.crlFile);
        if (b.caFile.empty())
          st.yaml.error(crl, m->pathOf("crl_file"),
                        "a revocation list goes with client certificates: add 'ca_file'");
        else if (::access(b.crlFile.c_str(), R_OK) != 0)
          st.yaml.error(crl, m->pathOf("crl_file"), "cannot read '" + b.crlFile + "'");
      }
      if (YAML::Node a = m->get("accept_proxy"); a.IsDefined()) {
        std::string apath = m->pathOf("accept_proxy");
        if (a.IsScalar()) {
          if (auto on = readBool(st.yaml, a, apath)) b.acceptProxy = *on;
        } else {
          b.acceptProxy = true;
          b.acceptProxyFrom = readNetworks(st, a, apath);
          if (a.IsSequence() && a.size() == 0)
            st.yaml.error(a, apath,
                          "an empty list would take a PROXY header from nobody: use true for "
                          "every client, or list the balancers' networks");
        }
      }
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
  MapReader m(st.yaml, n, path, "http_expect");
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
  MapReader m(st.yaml, n, path, "tcp_check_step");
  if (!m.valid()) return s;
  std::string action = ruleAction(st, m, {"connect", "send", "send_binary", "expect"});
  if (action.empty()) return s;
  YAML::Node v = m.get(action);
  std::string vpath = m.pathOf(action);
  if (action == "connect") {
    s.kind = S::Kind::Connect;
    if (v.IsMap()) {
      MapReader cm(st.yaml, v, vpath, "tcp_check_step.connect");
      if (YAML::Node p = cm.get("port"); p.IsDefined())
        if (auto port = readInt(st.yaml, p, cm.pathOf("port"), 1, 65535))
          s.port = static_cast<uint16_t>(*port);
      cm.optionalDuration("timeout", &s.timeout, DefaultUnit::Milliseconds, 1ms, 1h);
      cm.finish();
    } else if (!v.IsNull()) {
      auto b = readBool(st.yaml, v, vpath);  // reports anything not a boolean
      if (b && !*b)
        st.yaml.error(v, vpath, "'connect: false' would still connect; remove the step instead");
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
    MapReader em(st.yaml, v, vpath, "tcp_check_step.expect");
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
  MapReader m(st.yaml, n, parent.pathOf("check"), "check");
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

// TLS to one server: ssl, verify, ca_file, sni, verifyhost, crt, alpn.
void readServerTls(LoaderState& st, MapReader& m, proxy::Server::Tls* tls,
                   proxy::Server::Proto proto) {
  bool h2 = proto == proxy::Server::Proto::H2;
  m.boolean("ssl", &tls->enabled);
  auto needsSsl = [&](const char* key) {
    if (m.has(key) && !tls->enabled)
      st.yaml.error(m.get(key), m.pathOf(key),
                    std::string(key) + " is for TLS to the server: add 'ssl: true'");
  };
  {
    static const Choices<bool> kVerify = {{"required", true}, {"none", false}};
    m.choice("verify", &tls->verify, kVerify);
    needsSsl("verify");
  }
  auto file = [&](const char* key, std::string* out) {
    if (!m.has(key)) return;
    m.string(key, out);
    *out = st.resolvePath(*out);
    needsSsl(key);
    if (::access(out->c_str(), R_OK) != 0)
      st.yaml.error(m.get(key), m.pathOf(key), "cannot read '" + *out + "'");
  };
  file("ca_file", &tls->caFile);
  if (!tls->caFile.empty() && !tls->verify)
    st.yaml.error(m.get("ca_file"), m.pathOf("ca_file"),
                  "verify: none checks nothing: a ca_file here would only mislead; remove one");
  file("crt", &tls->certificate);
  if (m.has("sni")) {
    m.string("sni", &tls->sni);
    needsSsl("sni");
    using S = proxy::Server::Tls::Sni;
    if (tls->sni == "req.hdr(host)") {
      tls->sniSource = S::FromHost;
    } else if (tls->sni == "ssl_fc_sni") {
      tls->sniSource = S::FromClientSni;
    } else if (tls->sni.empty() || tls->sni.find_first_of(" ()%[]/") != std::string::npos) {
      st.yaml.error(m.get("sni"), m.pathOf("sni"),
                    "'" + tls->sni +
                        "': a host name, or req.hdr(host) (the request's Host) or ssl_fc_sni "
                        "(the client's SNI)");
    } else {
      tls->sniSource = S::Fixed;
    }
  }
  if (m.has("verifyhost")) {
    m.string("verifyhost", &tls->verifyHost);
    needsSsl("verifyhost");
    if (!tls->verify)
      st.yaml.error(m.get("verifyhost"), m.pathOf("verifyhost"),
                    "verify: none checks no name: remove verifyhost or verify: none");
  }
  if (m.has("alpn")) {
    tls->alpn = readStrings(st, m.get("alpn"), m.pathOf("alpn"));
    needsSsl("alpn");
    for (const auto& p : tls->alpn) {
      if (h2 && p != "h2")
        st.yaml.error(m.get("alpn"), m.pathOf("alpn"),
                      "'" + p + "': this server is spoken to in HTTP/2 (proto: h2); offer h2");
      else if (!h2 && p != "http/1.1" && p != "http/1.0")
        st.yaml.error(m.get("alpn"), m.pathOf("alpn"),
                      "'" + p +
                          "': servers are spoken to in HTTP/1.1 unless proto: h2; offer "
                          "http/1.1");
    }
  } else if (h2 && tls->enabled) {
    tls->alpn = {"h2"};  // an h2 server over TLS agrees on it by ALPN (RFC 9113 §3.2)
  }
}

void readServers(LoaderState& st, MapReader& parent, proxy::Backend* be,
                 const health::ServerCheckParams& schedule) {
  YAML::Node n = parent.get("servers");
  if (!n.IsDefined()) return;
  auto items = readList(st.yaml, n, parent.pathOf("servers"), false);
  std::map<std::string, int> names;
  for (size_t i = 0; i < items.size(); ++i) {
    std::string path = parent.pathOf("servers") + "[" + std::to_string(i) + "]";
    MapReader m(st.yaml, items[i], path, "server");
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
    {
      using SP = proxy::Server::SendProxy;
      static const Choices<SP> kSendProxy = {{"v1", SP::V1}, {"v2", SP::V2}, {"none", SP::None}};
      m.choice("send_proxy", &s.sendProxy, kSendProxy);
    }
    {
      using P = proxy::Server::Proto;
      static const Choices<P> kProto = {{"h2", P::H2}, {"http/1.1", P::Http1}};
      m.choice("proto", &s.proto, kProto);
      if (s.proto == P::H2 && be->mode == Mode::Tcp)
        st.yaml.error(m.get("proto"), m.pathOf("proto"),
                      "proto: h2 is for HTTP backends (mode http): a TCP backend forwards bytes");
      if (s.proto == P::H2 && s.sendProxy != proxy::Server::SendProxy::None)
        st.yaml.error(m.get("send_proxy"), m.pathOf("send_proxy"),
                      "an HTTP/2 connection carries many clients' requests: one PROXY header "
                      "cannot name them all; remove send_proxy or proto: h2");
    }
    readServerTls(st, m, &s.tls, s.proto);
    s.check.ssl = s.tls.enabled;  // checks speak TLS to a TLS server unless told otherwise
    if (YAML::Node c = m.get("check"); c.IsDefined()) {
      std::string cpath = m.pathOf("check");
      if (c.IsScalar()) {
        if (auto b = readBool(st.yaml, c, cpath)) s.check.enabled = *b;
      } else {
        MapReader cm(st.yaml, c, cpath, "server.check");
        s.check.enabled = true;
        cm.boolean("enabled", &s.check.enabled);
        cm.duration("inter", &s.check.inter, DefaultUnit::Milliseconds, 10ms, 24h);
        cm.optionalDuration("fastinter", &s.check.fastinter, DefaultUnit::Milliseconds, 10ms, 24h);
        cm.optionalDuration("downinter", &s.check.downinter, DefaultUnit::Milliseconds, 10ms, 24h);
        cm.boolean("ssl", &s.check.ssl);
        if (s.check.ssl && !s.tls.enabled)
          st.yaml.error(cm.get("ssl"), cm.pathOf("ssl"),
                        "TLS checks use the server's TLS settings: add 'ssl: true' to the server");
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
    if (s.slowstart.count() > 0 && !s.check.enabled)
      st.yaml.error(m.get("slowstart"), m.pathOf("slowstart"),
                    "slowstart ramps a checked server back (after DOWN or MAINT); this server is "
                    "not checked: add a check to the backend or the server");
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
    MapReader bm(st.yaml, n, m.pathOf("balance"), "balance");
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
void readBackendBody(LoaderState& st, MapReader& m, proxy::Backend* be, bool isListen) {
  const ProxyDefaults& d = st.defaults;
  be->mode = d.mode;
  be->timeouts = d.timeouts;
  be->retries = d.retries;
  be->redispatch = d.redispatch;
  m.choice<Mode>("mode", &be->mode, kModes);
  readTimeouts(st, m, &be->timeouts, isListen ? TimeoutSide::Both : TimeoutSide::Backend);
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
  fe->maxconn = d.maxconn;
  m.choice<Mode>("mode", &fe->mode, kModes);
  readTimeouts(st, m, &fe->timeouts, isListen ? TimeoutSide::Both : TimeoutSide::Frontend);
  m.integer("maxconn", &fe->maxconn, 0, 10000000);
  fe->binds = readBinds(st, m, /*required=*/true, fe->mode);
  fe->acls = readAcls(st, m, fe->mode);
  fe->rateLimits = readRateLimits(st, m);
  fe->httpRequest = readHttpRequestRules(st, m, &fe->acls, &fe->rateLimits);
  fe->httpResponse = readHttpResponseRules(st, m, &fe->acls);
  if (fe->mode == Mode::Tcp) {
    for (const char* k : {"http_request", "http_response", "rate_limits", "use_backend"})
      if ((!isListen || std::string_view(k) != "use_backend") && m.has(k))
        st.yaml.error(m.keyNode(k), m.pathOf(k),
                      std::string(k) + " needs mode http (this section is tcp)");
  }
  if (!isListen) {
    if (YAML::Node u = m.get("use_backend"); u.IsDefined()) {
      auto items = readList(st.yaml, u, m.pathOf("use_backend"), false);
      for (size_t i = 0; i < items.size(); ++i) {
        std::string path = m.pathOf("use_backend") + "[" + std::to_string(i) + "]";
        MapReader um(st.yaml, items[i], path, "use_backend");
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
  fe->log = st.defaults.log;
  readAccessLog(st, m, &fe->log, fe->mode);
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
    MapReader m(st.yaml, it->second, path, "frontend");
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
    MapReader m(st.yaml, it->second, path, "backend");
    if (!m.valid()) continue;
    proxy::Backend be;
    be.name = name;
    readBackendBody(st, m, &be, false);
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
    MapReader m(st.yaml, it->second, path, "listen");
    if (!m.valid()) continue;
    // A listen is a frontend and a backend of the same name, wired together.
    proxy::Frontend fe;
    proxy::Backend be;
    fe.name = be.name = name;
    readFrontendBody(st, m, &fe, true);
    readBackendBody(st, m, &be, true);
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
  MapReader m(st.yaml, node, "stats", "stats");
  if (!m.valid()) return;
  proxy::Stats s;
  s.timeouts = st.defaults.timeouts;
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
        MapReader um(st.yaml, items[i], p, "stats.auth");
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
    s.adminAllowedFrom = readNetworks(st, a, m.pathOf("admin_allowed_from"));
    if (s.auth.empty() && !s.adminAllowedFrom.empty())
      st.yaml.warning(a, m.pathOf("admin_allowed_from"),
                      "admin actions allowed without stats auth: anyone in these networks can "
                      "change server states");
  }
  m.finish();
  out->stats = std::move(s);
}

void readPrometheus(LoaderState& st, const YAML::Node& node, proxy::Config* out) {
  MapReader m(st.yaml, node, "prometheus", "prometheus");
  if (!m.valid()) return;
  proxy::Prometheus p;
  p.timeouts = st.defaults.timeouts;
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

// ---- the configuration reference of the keys read above (config_reference.h) -------------

namespace tandem::appliance::reference {

const Part& proxyReference() {
  static const Part part{
      {
          {.id = "frontend",
           .title = "Frontend",
           .doc = "One entry of the top-level frontends map (NAME -> frontend): the listening "
                  "sockets, ACLs, HTTP rules and routing to backends of one HAProxy-style "
                  "frontend. A listen section accepts the same keys except use_backend and "
                  "default_backend, since it routes to its own servers."},
          {.id = "bind",
           .title = "Bind",
           .doc = "The mapping form of one listening socket in the bind key of a frontend or "
                  "listen, {address, crt, ...}. The bind key also takes a plain \"ADDRESS:PORT\" "
                  "string, or a list mixing such strings and mappings (a single mapping must be "
                  "written as a one-item list)."},
          {.id = "log",
           .title = "Access log",
           .doc = "The log mapping under defaults, frontends and listens: per-request lines as "
                  "HAProxy writes them. A section starts from defaults.log and overrides single "
                  "keys; a section with a log mapping must end up with httplog or tcplog on."},
          {.id = "timeout",
           .title = "Timeouts",
           .doc = "The timeout mapping under defaults, frontends, backends and listens; a section "
                  "starts from defaults.timeout and overrides single keys. Client-side timeouts "
                  "(client, http_request, keep_alive) are taken from the frontend, server-side "
                  "ones (connect, server, queue, tunnel, check) from the backend."},
          {.id = "acl",
           .title = "ACL",
           .doc = "One named test over the request, a value of the acls map (ACL NAME -> acl) of a "
                  "frontend, backend or listen. It has exactly one criterion and is used by name "
                  "in if/unless conditions (and, or, not, parentheses; HAProxy's implicit and, ! "
                  "and || also work)."},
          {.id = "http_request",
           .title = "HTTP request rule",
           .doc =
               "One item of the http_request list of a frontend, listen or backend in mode http: "
               "exactly one action key plus an optional if or unless condition. Rules run in order "
               "on every request, the frontend's before the chosen backend's; deny, redirect, "
               "return and an over-limit track answer the request and stop the rules."},
          {.id = "http_request.deny",
           .title = "Deny options",
           .doc = "The mapping form of an http_request deny action, {status: N}; deny also takes a "
                  "bare status code, or no value for 403."},
          {.id = "http_request.redirect",
           .title = "Redirect",
           .doc = "The value of an http_request redirect action: exactly one of scheme, location "
                  "or prefix, and an optional code."},
          {.id = "http_request.return",
           .title = "Return",
           .doc = "The value of an http_request return action: a complete response made by the "
                  "proxy itself (a maintenance page, a health endpoint) from a string or a file."},
          {.id = "header_args",
           .title = "Header name and value",
           .doc = "The {name, value} mapping of a set_header or add_header action in http_request "
                  "and http_response rules."},
          {.id = "http_response",
           .title = "HTTP response rule",
           .doc = "One item of the http_response list of a frontend, listen or backend in mode "
                  "http: one header action plus an optional if or unless condition, applied to the "
                  "response head sent to the client. Conditions are evaluated on the request when "
                  "it is routed (ACLs see the request, not the response)."},
          {.id = "rate_limit",
           .title = "Rate-limit table",
           .doc = "One per-source request-rate table, a value of the rate_limits map (table NAME "
                  "-> rate_limit) of a frontend or listen in mode http. An http_request track rule "
                  "naming the table counts each request in it and refuses those over the limit."},
          {.id = "use_backend",
           .title = "use_backend rule",
           .doc = "One item of the use_backend list of a frontend: the backend to route to when "
                  "the rule's if/unless condition holds. Rules are tried in order; default_backend "
                  "is used when none matches."},
          {.id = "stats",
           .title = "Stats page",
           .doc = "The top-level stats section: HAProxy's statistics page (HTML, URI;csv and "
                  "URI;json) on a listener of its own, with optional basic auth and server-state "
                  "admin buttons."},
          {.id = "stats.auth",
           .title = "Stats user",
           .doc = "One user of stats.auth in mapping form, {user, password}; the same user may be "
                  "written as the string \"user:password\"."},
          {.id = "prometheus",
           .title = "Prometheus exporter",
           .doc = "The top-level prometheus section: a Prometheus text-format (0.0.4) metrics "
                  "endpoint on a listener of its own. Frontend, backend and server families "
                  "carry the names and labels of HAProxy's own exporter (haproxy_frontend_*, "
                  "haproxy_backend_*, haproxy_server_* with proxy, server, code and state "
                  "labels), so its dashboards and alerts work unchanged; tandem_* for the rest "
                  "(rate-limited requests, the total-time histogram, access log lines)."},
          {.id = "listen",
           .title = "Listen",
           .doc = "One named listen under `listens`: a frontend and a backend of the same name "
                  "wired together (HAProxy's listen section), for a service with one pool."},
          {.id = "backend",
           .title = "Backend",
           .doc =
               "One named backend under `backends`: its server pool, load balancing, connection "
               "retries, health checks and backend-side HTTP rules. A listen accepts the same keys "
               "(there acls, http_request and http_response act on the listen's frontend side)."},
          {.id = "balance",
           .title = "Balance (mapping form)",
           .doc =
               "The mapping form of `balance` in a backend or listen, needed only for options such "
               "as `whole`; the short form is the bare algorithm name (`balance: leastconn`)."},
          {.id = "check",
           .title = "Health check",
           .doc = "The `check` mapping of a backend or listen: how its servers are health-checked "
                  "and the default check schedule. Its presence turns checks on for every server "
                  "of the section that does not say `check: false`."},
          {.id = "http_expect",
           .title = "HTTP check expectation",
           .doc = "One rule of `check.expect` for a `type: http` check: a mapping, or a list of "
                  "them that must all hold. Without any rule a 2xx or 3xx answer passes."},
          {.id = "tcp_check_step",
           .title = "TCP script step",
           .doc = "One item of `check.steps` for a `type: tcp-script` check, holding exactly one "
                  "action: connect, send, send_binary or expect. Steps run in order; when the "
                  "first is not a connect, a connection to the server is opened first."},
          {.id = "tcp_check_step.connect",
           .title = "TCP script connect step",
           .doc = "The mapping form of a tcp-script `connect` step (`connect: {port: 25}`); "
                  "`connect:` with no value (or `true`) connects to the check port (check.port, "
                  "else the server's port)."},
          {.id = "tcp_check_step.expect",
           .title = "TCP script expect step",
           .doc = "The mapping of a tcp-script `expect` step: what must (or, negated, must not) "
                  "arrive on the connection before the script goes on."},
          {.id = "server",
           .title = "Server",
           .doc = "One item of the `servers` list of a backend or listen: a real server requests "
                  "are balanced to, with its weight, limits, initial state and check settings."},
          {.id = "server.check",
           .title = "Server check (mapping form)",
           .doc = "The mapping form of a server's `check` (a boolean is the short form): turns the "
                  "health check on for this server and overrides the backend's check schedule for "
                  "it."},
      },
      {
          {.block = "frontend",
           .key = "mode",
           .type = "one of http, tcp",
           .defaultValue = "defaults.mode (http)",
           .example = "mode: tcp",
           .equivalent = "HAProxy: mode",
           .doc = "Selects HTTP processing (parsing, ACLs, rules, routing per request) or a plain "
                  "TCP relay to default_backend. In tcp mode only src and ssl ACLs are allowed, "
                  "http_request, http_response and rate_limits are rejected, and every backend "
                  "used must be in the same mode.",
           .effectTest =
               "tests/proxy/tcp_and_integrity_test.py::TcpAndIntegrityTest::test_tcp_integrity"},
          {.block = "frontend",
           .key = "timeout",
           .type = "mapping",
           .defaultValue = "defaults.timeout",
           .example = "timeout: { client: 30s, http_request: 5s }",
           .equivalent = "HAProxy: timeout",
           .doc = "Overrides single timeouts of defaults.timeout for this frontend. Only the "
                  "client-side ones (client, http_request, keep_alive) take effect here; the "
                  "server side follows the backend's values.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_frontend_timeout_overrides_the_"
                         "defaults_for_this_frontend",
           .child = "timeout"},
          {.block = "frontend",
           .key = "maxconn",
           .type = "integer 0-10000000",
           .defaultValue = "defaults.maxconn (0 = no per-frontend limit)",
           .example = "maxconn: 5000",
           .equivalent = "HAProxy: maxconn",
           .doc = "Most concurrent client connections this frontend holds across all worker "
                  "threads; at the limit its listeners stop accepting and new clients wait in the "
                  "kernel backlog. 0 leaves only global.maxconn.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_frontend_maxconn_holds_new_"
                         "clients_at_the_limit"},
          {.block = "frontend",
           .key = "bind",
           .type = "\"ADDRESS:PORT\" string, or list of such strings and/or bind mappings",
           .defaultValue = "required",
           .example = "bind: [ \"*:80\", { address: \"*:443\", crt: site.pem } ]",
           .equivalent = "HAProxy: bind",
           .doc =
               "The sockets the frontend listens on. ADDRESS is an IPv4 address, an [IPv6] address "
               "in brackets, or * (or empty) for 0.0.0.0; host names are refused, and a bind that "
               "overlaps another bind (including stats and prometheus) is rejected at load time.",
           .effectTest =
               "tests/proxy/tls_test.py::TlsTest::test_plain_http_is_redirected_unless_ssl_fc",
           .child = "bind"},
          {.block = "frontend",
           .key = "acls",
           .type = "map of NAME -> acl",
           .defaultValue = "none",
           .example = "acls: { is_api: { path_beg: /api/ } }",
           .equivalent = "HAProxy: acl",
           .doc = "Named request tests for the if/unless conditions of this frontend's rules. "
                  "Names use letters, digits and _ - . : (and, or, not are reserved); LOCALHOST "
                  "and ssl_fc are built in unless defined here.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_routing_by_path_host_header_and_regex",
           .child = "acl"},
          {.block = "frontend",
           .key = "rate_limits",
           .type = "map of NAME -> rate_limit",
           .defaultValue = "none",
           .example = "rate_limits: { per_ip: { window: 10s, limit: 100 } }",
           .equivalent = "HAProxy: stick-table type ip ... store http_req_rate(PERIOD)",
           .doc = "Per-source request-rate tables that this frontend's http_request track rules "
                  "count into. Needs mode http.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_rate_limit_per_source",
           .child = "rate_limit"},
          {.block = "frontend",
           .key = "http_request",
           .type = "list of mappings",
           .defaultValue = "none",
           .example = "http_request: [ { deny: 403, if: blocked } ]",
           .equivalent = "HAProxy: http-request",
           .doc = "Request rules run in order on every request before routing (deny, redirect, "
                  "return, header edits, rate tracking). Needs mode http.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_deny_redirect_and_header_rules",
           .child = "http_request"},
          {.block = "frontend",
           .key = "http_response",
           .type = "list of mappings",
           .defaultValue = "none",
           .example = "http_response: [ { del_header: Server } ]",
           .equivalent = "HAProxy: http-response",
           .doc = "Header edits applied to every response sent to the client, after the chosen "
                  "backend's own http_response rules. Needs mode http.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_deny_redirect_and_header_rules",
           .child = "http_response"},
          {.block = "frontend",
           .key = "use_backend",
           .type = "list of mappings",
           .defaultValue = "none",
           .example = "use_backend: [ { backend: api, if: is_api } ]",
           .equivalent = "HAProxy: use_backend",
           .doc = "Conditional routing per HTTP request: the first rule whose condition holds "
                  "picks the backend, else default_backend is used (503 when there is none). "
                  "Frontends only; each rule needs if or unless. A tcp-mode frontend currently "
                  "ignores these rules and always uses default_backend.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_routing_by_path_host_header_and_regex",
           .child = "use_backend"},
          {.block = "frontend",
           .key = "default_backend",
           .type = "string (backend or listen name)",
           .defaultValue = "required unless use_backend rules exist or an unconditional "
                           "deny/redirect/return answers every request",
           .example = "default_backend: app",
           .equivalent = "HAProxy: default_backend",
           .doc = "The backend used when no use_backend rule matches; it must exist and be in the "
                  "same mode as the frontend. Frontends only (a listen uses its own servers).",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_routing_by_path_host_header_and_regex"},
          {.block = "frontend",
           .key = "log",
           .type = "mapping",
           .defaultValue = "defaults.log (none)",
           .example = "log: { httplog: true }",
           .equivalent = "HAProxy: option httplog / option tcplog, log-format",
           .doc = "This frontend's (or listen's) access log: one line per request (HTTP) or per "
                  "connection (TCP), over defaults.log key by key.",
           .effectTest = "tests/proxy/"
                         "access_log_test.py::AccessLogTest::test_httplog_line_has_haproxys_"
                         "fields",
           .child = "log"},
          {.block = "bind",
           .key = "address",
           .type = "address:port (IPv4, [IPv6] or *)",
           .defaultValue = "required",
           .example = "address: \"[::]:443\"",
           .equivalent = "HAProxy: bind ADDRESS:PORT",
           .doc = "The address and port to listen on; * or an empty host means 0.0.0.0 (IPv4 only) "
                  "and host names are refused. The socket is bound with IP_FREEBIND, so a virtual "
                  "IP not yet present on this node can be used.",
           .effectTest =
               "tests/proxy/tls_test.py::TlsTest::test_https_with_alpn_and_forwarded_proto"},
          {.block = "bind",
           .key = "ssl",
           .type = "boolean",
           .defaultValue = "false (true when crt is given)",
           .example = "ssl: true",
           .equivalent = "HAProxy: bind ... ssl",
           .doc =
               "Marks the socket as TLS. TLS needs crt, and a crt alone already turns TLS on, so "
               "ssl: true without crt is rejected and ssl: false next to a crt is overridden.",
           .effectTest = "tests/appliance/broken_configs_test.cc::Table/"
                         "BrokenConfigTest.RejectedAtExactLocation/ssl_without_crt"},
          {.block = "bind",
           .key = "crt",
           .type = "file path or list of file paths (a directory loads its *.pem)",
           .defaultValue = "none",
           .example = "crt: [ /etc/tandem/a.pem, /etc/tandem/b.pem ]",
           .equivalent = "HAProxy: bind ... crt",
           .doc = "Combined PEM files (certificate chain plus private key) that turn on TLS for "
                  "this socket; each is checked at load time and relative paths resolve against "
                  "the config file's folder. The certificate is picked by SNI (exact or wildcard "
                  "name), the first one when the name is absent or unknown. A DER OCSP response "
                  "beside a file (FILE.ocsp, as with HAProxy; the issuer is the next "
                  "certificate in FILE or FILE.issuer) is checked (about this certificate, "
                  "current, not revoked) and stapled for clients that ask; it is read again at "
                  "every reload, and the admin socket's `set ssl ocsp-response <base64>` "
                  "replaces it at run time.",
           .effectTest = "tests/proxy/tls_test.py::TlsTest::test_sni_picks_the_certificate"},
          {.block = "bind",
           .key = "alpn",
           .type = "list of strings (a string for one)",
           .defaultValue = "http/1.1 in mode http (h2 with proto: h2), none in mode tcp",
           .example = "alpn: [ h2, http/1.1 ]",
           .equivalent = "HAProxy: bind ... alpn",
           .doc = "Protocols offered in the TLS ALPN extension of a crt bind, in preference order. "
                  "An HTTP frontend may offer h2, http/1.1 and http/1.0: a client that picks h2 "
                  "speaks HTTP/2 (every stream a request with the same rules, ACLs, logs and "
                  "counters as HTTP/1.1), any other speaks HTTP/1.1. A tcp frontend may offer any "
                  "protocol its servers speak.",
           .effectTest =
               "tests/proxy/proxy_keys_test.py::TlsKeysTest::test_bind_alpn_is_the_list_offered"},
          {.block = "bind",
           .key = "proto",
           .type = "auto | h2",
           .defaultValue = "auto",
           .example = "proto: h2",
           .equivalent = "HAProxy: bind ... proto h2",
           .doc = "h2: every client of this bind speaks HTTP/2: with prior knowledge (h2c, the "
                  "connection preface first) on a plain bind, and whatever ALPN says on a TLS one "
                  "(which then offers h2 unless alpn says otherwise). auto: HTTP/1.1, or HTTP/2 "
                  "when a TLS client picks h2 from alpn.",
           .effectTest = "tests/proxy/h2_test.py::H2Test::test_prior_knowledge_on_a_plain_bind"},
          {.block = "bind",
           .key = "max_concurrent_streams",
           .type = "integer 1-10000",
           .defaultValue = "100",
           .example = "max_concurrent_streams: 256",
           .equivalent = "HAProxy: tune.h2.max-concurrent-streams",
           .doc = "HTTP/2: how many streams (requests) one client connection may have open at "
                  "once, announced in SETTINGS. A stream beyond it that the client opened before "
                  "it saw the limit is refused with RST_STREAM REFUSED_STREAM (the client may "
                  "retry it); one opened after the client acknowledged the limit ends the "
                  "connection (GOAWAY PROTOCOL_ERROR).",
           .effectTest =
               "tests/proxy/h2_test.py::H2Test::test_streams_beyond_the_limit_are_refused"},
          {.block = "bind",
           .key = "backlog",
           .type = "integer 1-65535",
           .defaultValue = "1024",
           .example = "backlog: 4096",
           .equivalent = "HAProxy: bind ... backlog",
           .doc = "Length of the kernel accept queue given to listen() (the kernel caps it at "
                  "net.core.somaxconn); applied again to sockets inherited across a reload.",
           .effectTest =
               "tests/proxy/"
               "proxy_keys_test.py::HttpKeysTest::test_bind_backlog_is_the_listen_queue_length"},
          {.block = "bind",
           .key = "v6only",
           .type = "boolean",
           .defaultValue = "true",
           .example = "v6only: false",
           .equivalent = "HAProxy: bind ... v6only",
           .doc =
               "Sets IPV6_V6ONLY on an IPv6 socket: true accepts IPv6 only, false lets [::]:PORT "
               "also accept IPv4 clients as mapped addresses. No effect on IPv4 binds.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::BindV6onlyTest::test_bind_v6only_false_accepts_ipv4_"
                         "clients_on_an_ipv6_socket"},
          {.block = "bind",
           .key = "ca_file",
           .type = "file path (PEM, one or more CA certificates)",
           .defaultValue = "none (no client certificate asked)",
           .example = "ca_file: /etc/tandem/clients-ca.pem",
           .equivalent = "HAProxy: bind ... ca-file (with verify required)",
           .doc = "Mutual TLS on a crt bind: asks each client for a certificate signed by one of "
                  "these CAs (they are named in the request, so a client with several picks the "
                  "right one). With ca_file, verify defaults to required (HAProxy's default of "
                  "none with a CA file is a known trap). Headers can carry the certificate to the "
                  "servers: set_header values may use %[ssl_c_s_dn], %[ssl_c_sha256], "
                  "%[ssl_c_verify] and %[ssl_c_used].",
           .effectTest = "tests/proxy/"
                         "mutual_tls_test.py::MutualTlsTest::test_required_refuses_a_client_"
                         "without_a_good_certificate"},
          {.block = "bind",
           .key = "verify",
           .type = "none, optional or required",
           .defaultValue = "required with ca_file, else none",
           .example = "verify: optional",
           .equivalent = "HAProxy: bind ... verify",
           .doc = "required: the handshake fails without a certificate that verifies against "
                  "ca_file (and crl_file). optional: a certificate is asked for, and whatever "
                  "comes (none, expired, unknown issuer) the handshake goes on; ACLs "
                  "(ssl_c_used, ssl_c_verify, ssl_c_s_dn, ssl_c_sha256) decide, e.g. a deny with "
                  "a page that explains. none: no certificate is asked for. optional and "
                  "required need ca_file.",
           .effectTest = "tests/proxy/"
                         "mutual_tls_test.py::MutualTlsTest::test_optional_lets_acls_route_on_the_"
                         "certificate"},
          {.block = "bind",
           .key = "crl_file",
           .type = "file path (PEM CRLs)",
           .defaultValue = "none",
           .example = "crl_file: /etc/tandem/clients.crl",
           .equivalent = "HAProxy: bind ... crl-file",
           .doc = "Certificate revocation lists checked for the client certificate and every CA "
                  "above it (so the file must hold a CRL from each CA in the chain); a revoked "
                  "certificate fails with required and shows as ssl_c_verify 23 with optional. "
                  "Needs ca_file; read at start and at each reload.",
           .effectTest =
               "tests/proxy/"
               "mutual_tls_test.py::MutualTlsTest::test_a_revoked_certificate_is_refused"},
          {.block = "bind",
           .key = "accept_proxy",
           .type = "boolean, or a list of networks",
           .defaultValue = "false",
           .example = "accept_proxy: [ 198.18.0.0/24 ]",
           .equivalent = "HAProxy: bind ... accept-proxy; tcp-request connection expect-proxy "
                         "layer4 if { src ... }",
           .doc = "Reads a PROXY protocol header (v1 text or v2 binary, told apart by their first "
                  "bytes) before anything else on each connection, TLS included, and takes the "
                  "client address and port from it: ACL src, logs, X-Forwarded-For, rate limits "
                  "and send_proxy all see the original client. true expects it from every "
                  "client; a list expects it only from those networks (the balancers in front) "
                  "and takes other clients as they are, never reading their bytes as a header. A "
                  "connection that sends no valid header within timeout.client is closed, "
                  "counted as an invalid request and logged with its reason. A LOCAL (v2) or "
                  "UNKNOWN (v1) header keeps the connection's own address.",
           .effectTest = "tests/proxy/proxy_protocol_test.py::ProxyProtocolTest::"
                         "test_haproxy_sends_v1_and_v2_and_the_client_address_is_used"},
          {.block = "log",
           .key = "httplog",
           .type = "boolean",
           .defaultValue = "false",
           .example = "httplog: true",
           .equivalent = "HAProxy: option httplog",
           .doc =
               "One line per HTTP request, HAProxy's httplog fields in its order: client "
               "ip:port, [date of the first byte], frontend, backend/server (<NOSRV> when none "
               "was reached), TR/Tw/Tc/Tr/Ta in ms (-1: phase not reached), status, bytes sent "
               "to the client, - -, the termination state (CD, SH, sC, PR, ...) and --, "
               "actconn/feconn/beconn/srv_conn/retries (+ when redispatched), srv/backend queue, "
               "\"request line\". A connection that closes without a request is logged as "
               "<BADREQ> (see dontlognull). Mode http only.",
           .effectTest = "tests/proxy/"
                         "access_log_test.py::AccessLogTest::test_httplog_line_has_haproxys_"
                         "fields"},
          {.block = "log",
           .key = "tcplog",
           .type = "boolean",
           .defaultValue = "false",
           .example = "tcplog: true",
           .equivalent = "HAProxy: option tcplog",
           .doc = "One line per TCP connection as it ends: client ip:port, [accept date], "
                  "frontend, backend/server, Tw/Tc/Tt in ms, bytes sent to the client, the "
                  "termination state, the connection counters and queue positions. Mode tcp only.",
           .effectTest = "tests/proxy/"
                         "access_log_test.py::AccessLogTest::test_tcplog_line_when_the_"
                         "connection_ends"},
          {.block = "log",
           .key = "format",
           .type = "string (HAProxy log-format)",
           .defaultValue = "the httplog or tcplog line",
           .example = "format: \"%ci:%cp %ft %b/%s %ST %Ta %{+Q}r %[req.hdr(host)]\"",
           .equivalent = "HAProxy: log-format",
           .doc = "A line of your own: text with HAProxy's %-variables %ci %cp %t %tr %ft %b %s "
                  "%Th %Ti %Tq %TR %Tw %Tc %Tr %Ta %Tt %ST %B %ts %tsc %ac %fc %bc %sc %rc %sq %bq "
                  "%r %HM %HU "
                  "%HV %CC %CS and %[req.hdr(NAME)] (the request header's first value); "
                  "%{+Q}var quotes a value, %% is a %. HTTP variables are refused in a mode tcp "
                  "section. Enough on its own to turn the log on.",
           .effectTest = "tests/proxy/"
                         "access_log_test.py::AccessLogTest::test_custom_format_and_json"},
          {.block = "log",
           .key = "json",
           .type = "boolean",
           .defaultValue = "false",
           .example = "json: true",
           .equivalent = "HAProxy: log-format with %{+json}",
           .doc = "One JSON object per line instead of text: the line's variables keyed by "
                  "HAProxy's long names (client_ip, client_port, request_date, frontend_name, "
                  "backend_name, server_name, TR, Tw, Tc, Tr, Ta, status_code, bytes_read, "
                  "termination_state_cookie, actconn, ..., http_request, req_hdr_NAME), numbers "
                  "as numbers; the text between variables is left out.",
           .effectTest = "tests/proxy/"
                         "access_log_test.py::AccessLogTest::test_custom_format_and_json"},
          {.block = "log",
           .key = "sample",
           .type = "RANGES:SIZE",
           .defaultValue = "none (every line)",
           .example = "sample: \"1:10\"",
           .equivalent = "HAProxy: log <target> sample <ranges>:<size>",
           .doc = "Writes only part of the lines: of each SIZE lines in a row, those whose "
                  "position (1 to SIZE) falls in RANGES (a comma list of N or N-M). 1:10 writes "
                  "one line in ten; 1-2,5:10 three in ten. Counted per frontend after "
                  "dontlognull and dontlog_normal.",
           .effectTest = "tests/proxy/"
                         "http_stream_test.cc::HttpStreamTest.SampleWritesTheChosenShareOfLines"},
          {.block = "log",
           .key = "dontlognull",
           .type = "boolean",
           .defaultValue = "false",
           .example = "dontlognull: true",
           .equivalent = "HAProxy: option dontlognull",
           .doc = "No line for a connection that sent no request (HTTP) or no data either way "
                  "(TCP): health probes and port scans stay out of the log.",
           .effectTest = "tests/proxy/"
                         "access_log_test.py::AccessLogTest::test_dontlognull_skips_connections_"
                         "without_a_request"},
          {.block = "log",
           .key = "dontlog_normal",
           .type = "boolean",
           .defaultValue = "false",
           .example = "dontlog_normal: true",
           .equivalent = "HAProxy: option dontlog-normal",
           .doc = "Lines only for what went wrong: a 5xx status or a termination state other "
                  "than -- (an aborted, refused, timed-out or blocked request).",
           .effectTest = "tests/proxy/"
                         "access_log_test.py::AccessLogTest::test_dontlog_normal_keeps_only_"
                         "errors"},
          {.block = "log",
           .key = "target",
           .type = "stderr | absolute file path | syslog | journal | unix:/PATH | udp:ADDRESS:PORT",
           .defaultValue = "stderr",
           .example = "target: /var/log/tandem/access.log",
           .equivalent = "HAProxy: log <target> (log stderr, log /dev/log, log 127.0.0.1:514)",
           .doc = "Where the lines go. A file is appended to (created 0640); when logrotate "
                  "renames or removes it, the new file is opened within a second, and a "
                  "copytruncate goes on at the new end. syslog (the local daemon's /dev/log), "
                  "unix:/PATH and udp:ADDRESS:PORT send one datagram per line with a syslog "
                  "header (facility, syslog_format, tag); a daemon that restarts is reconnected "
                  "within a second. journal writes one journal entry per line with structured "
                  "fields (TANDEM_STATUS, TANDEM_SERVER, TANDEM_TOTAL_MS, ...; tag and facility "
                  "apply). Lines are written by a thread of their own: a target slower "
                  "than the traffic loses lines (counted and reported in Tandem's log), never "
                  "delays a request.",
           .effectTest = "tests/proxy/"
                         "access_log_test.py::AccessLogTest::test_file_target_follows_logrotate"},
          {.block = "log",
           .key = "facility",
           .type = "syslog facility",
           .defaultValue = "local0",
           .example = "facility: local2",
           .equivalent = "HAProxy: log <target> <facility>",
           .doc = "The facility of each datagram's priority (the severity is info, as HAProxy "
                  "logs requests). Syslog and journal targets only.",
           .effectTest = "tests/proxy/"
                         "access_log_test.py::SyslogAccessLogTest::test_udp_target_sends_rfc5424_"
                         "datagrams"},
          {.block = "log",
           .key = "syslog_format",
           .type = "rfc3164 | rfc5424",
           .defaultValue = "rfc3164",
           .example = "syslog_format: rfc5424",
           .equivalent = "HAProxy: log <target> format rfc3164|rfc5424",
           .doc = "The datagram header: RFC 3164 (`<PRI>Mmm dd hh:mm:ss TAG[PID]: `, as syslog(3) "
                  "writes to /dev/log) or RFC 5424 (`<PRI>1 TIMESTAMP HOSTNAME TAG PID - - `). "
                  "Syslog targets only.",
           .effectTest = "tests/proxy/"
                         "access_log_test.py::SyslogAccessLogTest::test_udp_target_sends_rfc5424_"
                         "datagrams"},
          {.block = "log",
           .key = "tag",
           .type = "string (1-48 printable characters)",
           .defaultValue = "tandem",
           .example = "tag: lb-edge",
           .equivalent = "HAProxy: log-tag",
           .doc = "The program name in each datagram's header (TAG / APP-NAME), or the journal "
                  "entry's SYSLOG_IDENTIFIER. Syslog and journal targets only.",
           .effectTest = "tests/proxy/"
                         "access_log_test.py::SyslogAccessLogTest::test_unix_target_sends_rfc3164_"
                         "datagrams"},
          {.block = "timeout",
           .key = "connect",
           .type = "duration",
           .defaultValue = "5s",
           .example = "connect: 2s",
           .equivalent = "HAProxy: timeout connect",
           .doc =
               "How long to wait for a server to accept a TCP connection (1ms-24h); on expiry the "
               "attempt fails and retries/redispatch apply, ending in 503. Taken from the backend.",
           .effectTest =
               "tests/proxy/"
               "proxy_keys_test.py::HttpKeysTest::test_timeout_connect_ends_a_hanging_connect"},
          {.block = "timeout",
           .key = "client",
           .type = "duration",
           .defaultValue = "50s",
           .example = "client: 30s",
           .equivalent = "HAProxy: timeout client",
           .doc = "Client-side inactivity (1ms-24h): how long sending to a client that reads "
                  "nothing may stall before the connection is dropped. In mode tcp the idle "
                  "timeout is the longer of client and server. Taken from the frontend.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_timeout_client_drops_a_client_"
                         "that_stops_reading"},
          {.block = "timeout",
           .key = "server",
           .type = "duration",
           .defaultValue = "50s",
           .example = "server: 30s",
           .equivalent = "HAProxy: timeout server",
           .doc = "Server-side inactivity (1ms-24h) while the request is sent and the response "
                  "awaited or read: 504 when no response head has arrived, else the connection is "
                  "cut. Taken from the backend.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_504_on_server_timeout"},
          {.block = "timeout",
           .key = "http_request",
           .type = "duration",
           .defaultValue = "10s",
           .example = "http_request: 5s",
           .equivalent = "HAProxy: timeout http-request",
           .doc = "Time allowed from the connection's start (TLS handshake included) for a "
                  "complete request head (1ms-24h): a partial head gets 408, a silent connection "
                  "is closed. Taken from the frontend.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_408_when_the_head_is_too_slow"},
          {.block = "timeout",
           .key = "keep_alive",
           .type = "duration",
           .defaultValue = "2s",
           .example = "keep_alive: 5s",
           .equivalent = "HAProxy: timeout http-keep-alive",
           .doc = "How long an idle client keep-alive connection waits for its next request before "
                  "it is closed (0-24h); 0 uses http_request instead. Taken from the frontend.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_timeout_keep_alive_closes_an_idle_"
                         "client_connection"},
          {.block = "timeout",
           .key = "queue",
           .type = "duration",
           .defaultValue = "5s",
           .example = "queue: 1s",
           .equivalent = "HAProxy: timeout queue",
           .doc =
               "How long a request may wait for a free server slot when every usable server is at "
               "its maxconn, then 503 (0-24h; 0 answers 503 at once). Taken from the backend.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_queue_timeout_gives_503"},
          {.block = "timeout",
           .key = "tunnel",
           .type = "duration",
           .defaultValue = "1h",
           .example = "tunnel: 10m",
           .equivalent = "HAProxy: timeout tunnel",
           .doc =
               "Inactivity timeout of an upgraded connection (WebSocket after 101 Switching "
               "Protocols), replacing client and server for it (1ms-7d). Taken from the backend.",
           .effectTest =
               "tests/proxy/"
               "proxy_keys_test.py::HttpKeysTest::test_timeout_tunnel_closes_an_idle_websocket"},
          {.block = "timeout",
           .key = "check",
           .type = "duration",
           .defaultValue = "2s",
           .example = "check: 1s",
           .equivalent = "HAProxy: timeout check",
           .doc = "Time allowed for one health check of a server of this backend, from connect to "
                  "verdict (1ms-1h); on expiry the check fails as a timeout. It is the default of "
                  "the backend's check.timeout.",
           .effectTest = "tests/health/"
                         "health_checks_test.py::HealthChecksTest::test_hanging_server_goes_down_"
                         "with_a_timeout"},
          {.block = "timeout",
           .key = "client_fin",
           .type = "refused",
           .defaultValue = "none",
           .example = "client_fin: 1s",
           .equivalent = "HAProxy: timeout client-fin",
           .doc = "Refused: HAProxy's timeout on a half-closed client side is not applied yet "
                  "(timeout client, or tunnel in a tunnel, bounds it), so `tandem check` rejects "
                  "the key.",
           .effectTest = "tests/appliance/broken_configs_test.cc::Table/"
                         "BrokenConfigTest.RejectedAtExactLocation/timeout_client_fin_refused"},
          {.block = "timeout",
           .key = "server_fin",
           .type = "refused",
           .defaultValue = "none",
           .example = "server_fin: 1s",
           .equivalent = "HAProxy: timeout server-fin",
           .doc = "Refused: HAProxy's timeout on a half-closed server side is not applied yet "
                  "(timeout server, or tunnel in a tunnel, bounds it), so `tandem check` rejects "
                  "the key.",
           .effectTest = "tests/appliance/broken_configs_test.cc::Table/"
                         "BrokenConfigTest.RejectedAtExactLocation/timeout_server_fin_refused"},
          {.block = "acl",
           .key = "host",
           .type = "string or list of strings",
           .defaultValue = "none",
           .example = "host: [ example.com, www.example.com ]",
           .equivalent = "HAProxy: acl NAME hdr(host) -i VALUE",
           .doc = "Matches when the Host header, port removed, equals one of the values, always "
                  "case-insensitively. Needs mode http.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_routing_by_path_host_header_and_regex"},
          {.block = "acl",
           .key = "path",
           .type = "string or list of strings",
           .defaultValue = "none",
           .example = "path: /health",
           .equivalent = "HAProxy: acl NAME path VALUE",
           .doc = "Matches when the request path (query string excluded) equals one of the values; "
                  "case-insensitive unless ignore_case: false. Needs mode http.",
           .effectTest =
               "tests/proxy/stats_page_test.py::StatsPageTest::test_return_answers_from_the_proxy"},
          {.block = "acl",
           .key = "path_beg",
           .type = "string or list of strings",
           .defaultValue = "none",
           .example = "path_beg: [ /api/, /v1/ ]",
           .equivalent = "HAProxy: acl NAME path_beg VALUE",
           .doc = "Matches when the request path (query string excluded) starts with one of the "
                  "values; case-insensitive unless ignore_case: false. Needs mode http.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_routing_by_path_host_header_and_regex"},
          {.block = "acl",
           .key = "path_end",
           .type = "string or list of strings",
           .defaultValue = "none",
           .example = "path_end: [ .jpg, .png ]",
           .equivalent = "HAProxy: acl NAME path_end VALUE",
           .doc = "Matches when the request path (query string excluded) ends with one of the "
                  "values; case-insensitive unless ignore_case: false. Needs mode http.",
           .effectTest =
               "tests/proxy/"
               "proxy_keys_test.py::HttpKeysTest::test_acl_path_end_matches_the_end_of_the_path"},
          {.block = "acl",
           .key = "path_reg",
           .type = "regular expression or list of them (PCRE2)",
           .defaultValue = "none",
           .example = "path_reg: \"^/v[0-9]+/\"",
           .equivalent = "HAProxy: acl NAME path_reg REGEX",
           .doc = "Matches when one of the expressions finds a match anywhere in the request path "
                  "(query string excluded); compiled at load time, case-insensitive unless "
                  "ignore_case: false. Needs mode http.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_routing_by_path_host_header_and_regex"},
          {.block = "acl",
           .key = "method",
           .type = "string or list of strings",
           .defaultValue = "none",
           .example = "method: [ POST, PUT ]",
           .equivalent = "HAProxy: acl NAME method VALUE",
           .doc = "Matches when the request method equals one of the values, always "
                  "case-sensitively; each value must be an HTTP token. Needs mode http.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_routing_by_path_host_header_and_regex"},
          {.block = "acl",
           .key = "header",
           .type = "string (header name)",
           .defaultValue = "none",
           .example = "header: User-Agent",
           .equivalent = "HAProxy: acl NAME hdr(NAME) ...",
           .doc = "Tests the request header of this name (any of its occurrences may match); needs "
                  "exactly one of equals, contains, regex or exists. Needs mode http.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_routing_by_path_host_header_and_regex"},
          {.block = "acl",
           .key = "src",
           .type = "address or network, or list of them",
           .defaultValue = "none",
           .example = "src: [ 10.0.0.0/8, \"2001:db8::/32\", 192.0.2.7 ]",
           .equivalent = "HAProxy: acl NAME src NETWORK",
           .doc = "Matches when the client address is in one of the IPv4 or IPv6 networks (a bare "
                  "address is a single host; host bits past the prefix are rejected). May be "
                  "combined with src_file; allowed in mode tcp.",
           .effectTest =
               "tests/proxy/"
               "proxy_keys_test.py::HttpKeysTest::test_acl_src_matches_the_client_address"},
          {.block = "acl",
           .key = "ssl",
           .type = "boolean (only true)",
           .defaultValue = "none",
           .example = "ssl: true",
           .equivalent = "HAProxy: ssl_fc",
           .doc = "Matches when the client connection is TLS (it arrived on a bind with crt); ssl: "
                  "false is rejected, use not in the condition. The built-in ACL ssl_fc does the "
                  "same without a definition; allowed in mode tcp.",
           .effectTest =
               "tests/proxy/"
               "proxy_keys_test.py::TlsKeysTest::test_acl_ssl_matches_connections_on_a_tls_bind"},
          {.block = "acl",
           .key = "ssl_c_used",
           .type = "boolean (only true)",
           .defaultValue = "none",
           .example = "ssl_c_used: true",
           .equivalent = "HAProxy: ssl_c_used",
           .doc = "Matches when the client sent a certificate (a bind with ca_file and verify: "
                  "optional or required).",
           .effectTest = "tests/proxy/"
                         "mutual_tls_test.py::MutualTlsTest::test_optional_lets_acls_route_on_the_"
                         "certificate"},
          {.block = "acl",
           .key = "ssl_c_verify",
           .type = "list of verification results (0 passed; OpenSSL's X509_V_ERR numbers)",
           .defaultValue = "none",
           .example = "ssl_c_verify: [ 0 ]",
           .equivalent = "HAProxy: ssl_c_verify",
           .doc = "Matches when the client's certificate verified with one of these results: 0 "
                  "for a good certificate, e.g. 10 expired, 18 self-signed, 20 unknown issuer, 23 "
                  "revoked. Meaningful with verify: optional, where a bad certificate does not "
                  "end the handshake; no certificate matches nothing.",
           .effectTest = "tests/proxy/"
                         "mutual_tls_test.py::MutualTlsTest::test_optional_lets_acls_route_on_the_"
                         "certificate"},
          {.block = "acl",
           .key = "ssl_c_s_dn",
           .type = "list of strings",
           .defaultValue = "none",
           .example = "ssl_c_s_dn: [ \"/O=Example/CN=billing\" ]",
           .equivalent = "HAProxy: ssl_c_s_dn",
           .doc = "Matches when the client certificate's subject, in OpenSSL's one-line form "
                  "(/C=../O=../CN=..), is exactly one of these.",
           .effectTest = "tests/proxy/"
                         "mutual_tls_test.py::MutualTlsTest::test_optional_lets_acls_route_on_the_"
                         "certificate"},
          {.block = "acl",
           .key = "ssl_c_sha256",
           .type = "list of SHA-256 fingerprints (hex, colons allowed)",
           .defaultValue = "none",
           .example = "ssl_c_sha256: [ \"AB:CD:...\" ]",
           .equivalent = "HAProxy: ssl_c_sha256,hex",
           .doc = "Matches when the client certificate's SHA-256 fingerprint is one of these "
                  "(as openssl x509 -fingerprint -sha256 prints it; case and colons do not "
                  "matter): pinning one certificate.",
           .effectTest = "tests/proxy/"
                         "mutual_tls_test.py::MutualTlsTest::test_optional_lets_acls_route_on_the_"
                         "certificate"},
          {.block = "acl",
           .key = "src_file",
           .type = "file path or list of file paths",
           .defaultValue = "none",
           .example = "src_file: /etc/tandem/blocklist.txt",
           .equivalent = "HAProxy: acl NAME src -f FILE",
           .doc = "Files of addresses or networks, one per line with # comments, read at load time "
                  "into the same list as src (a bad line is reported at its file and line). "
                  "Relative paths resolve against the config file's folder; changes need a reload.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_acl_src_file_matches_addresses_"
                         "and_networks_of_the_file"},
          {.block = "acl",
           .key = "ignore_case",
           .type = "boolean",
           .defaultValue = "true",
           .example = "ignore_case: false",
           .equivalent = "HAProxy: -i (on by default here)",
           .doc =
               "Case-insensitive matching for path, path_beg, path_end, path_reg and the equals, "
               "contains and regex header tests; host always ignores case and method never does.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_acl_ignore_case_false_matches_"
                         "case_sensitively"},
          {.block = "acl",
           .key = "equals",
           .type = "string or list of strings",
           .defaultValue = "none",
           .example = "equals: [ \"yes\", \"1\" ]",
           .equivalent = "HAProxy: acl NAME hdr(NAME) VALUE",
           .doc = "With header: matches when a value of the header equals one of these strings, "
                  "case-insensitively unless ignore_case: false.",
           .effectTest =
               "tests/proxy/"
               "proxy_keys_test.py::HttpKeysTest::test_acl_equals_matches_whole_header_values"},
          {.block = "acl",
           .key = "contains",
           .type = "string or list of strings",
           .defaultValue = "none",
           .example = "contains: mobile",
           .equivalent = "HAProxy: acl NAME hdr_sub(NAME) VALUE",
           .doc = "With header: matches when a value of the header contains one of these strings, "
                  "case-insensitively unless ignore_case: false.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_routing_by_path_host_header_and_regex"},
          {.block = "acl",
           .key = "regex",
           .type = "regular expression or list of them (PCRE2)",
           .defaultValue = "none",
           .example = "regex: \"^Bearer \"",
           .equivalent = "HAProxy: acl NAME hdr_reg(NAME) REGEX",
           .doc = "With header: matches when one of these expressions finds a match in a value of "
                  "the header; compiled at load time, case-insensitive unless ignore_case: false.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_acl_regex_matches_a_header_value"},
          {.block = "acl",
           .key = "exists",
           .type = "boolean (only true)",
           .defaultValue = "none",
           .example = "exists: true",
           .equivalent = "HAProxy: acl NAME req.hdr(NAME) -m found",
           .doc = "With header: matches when the header is present, whatever its value; exists: "
                  "false is rejected, use not in the condition.",
           .effectTest = "tests/proxy/"
                         "http_proxy_test.py::HttpProxyTest::test_deny_redirect_and_header_rules"},
          {.block = "http_request",
           .key = "deny",
           .type = "status code 200-599, empty, or mapping",
           .defaultValue = "none (status 403)",
           .example = "deny: 403",
           .equivalent = "HAProxy: http-request deny [deny_status N]",
           .doc = "Answers the request from the proxy with this status (403 when empty), using the "
                  "defaults.errorfiles page for it if any, and closes the connection. Without an "
                  "errorfile only 400, 403, 408, 429, 431, 500, 502, 503 and 504 have a built-in "
                  "page; any other code is currently sent as 500.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_deny_redirect_and_header_rules",
           .child = "http_request.deny"},
          {.block = "http_request",
           .key = "redirect",
           .type = "mapping",
           .defaultValue = "none",
           .example = "redirect: { scheme: https, code: 301 }",
           .equivalent = "HAProxy: http-request redirect",
           .doc = "Answers with a redirect (no body, cache-control: no-cache) and closes the "
                  "connection.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_deny_redirect_and_header_rules",
           .child = "http_request.redirect"},
          {.block = "http_request",
           .key = "return",
           .type = "mapping",
           .defaultValue = "none",
           .example = "return: { status: 503, string: \"maintenance\" }",
           .equivalent = "HAProxy: http-request return",
           .doc =
               "Answers with a response made by the proxy itself (no backend involved; a frontend "
               "whose rules answer every request needs no backend) and closes the connection.",
           .effectTest =
               "tests/proxy/stats_page_test.py::StatsPageTest::test_return_answers_from_the_proxy",
           .child = "http_request.return"},
          {.block = "http_request",
           .key = "set_header",
           .type = "mapping {name, value}",
           .defaultValue = "none",
           .example = "set_header: { name: X-Env, value: prod }",
           .equivalent = "HAProxy: http-request set-header",
           .doc =
               "Replaces every occurrence of the header in the request sent to the server with one "
               "field carrying the value (a later set_header or del_header of the same name wins).",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_deny_redirect_and_header_rules",
           .child = "header_args"},
          {.block = "http_request",
           .key = "add_header",
           .type = "mapping {name, value}",
           .defaultValue = "none",
           .example = "add_header: { name: X-Via, value: tandem }",
           .equivalent = "HAProxy: http-request add-header",
           .doc = "Appends a header field to the request sent to the server, keeping any fields of "
                  "that name already there.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_http_request_add_header_appends_"
                         "to_the_clients_field",
           .child = "header_args"},
          {.block = "http_request",
           .key = "del_header",
           .type = "string (header name)",
           .defaultValue = "none",
           .example = "del_header: X-Internal",
           .equivalent = "HAProxy: http-request del-header",
           .doc = "Removes every field of this name (case-insensitive) from the request sent to "
                  "the server.",
           .effectTest = "tests/proxy/"
                         "http_proxy_test.py::HttpProxyTest::test_deny_redirect_and_header_rules"},
          {.block = "http_request",
           .key = "track",
           .type = "string (rate_limits table name)",
           .defaultValue = "none",
           .example = "track: per_ip",
           .equivalent =
               "HAProxy: http-request track-sc0 src table NAME (with a deny on sc_http_req_rate)",
           .doc = "Counts the request in the named rate_limits table of this frontend under the "
                  "client address; over the table's limit the request is refused with the table's "
                  "status. Frontends and listens only.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_rate_limit_per_source"},
          {.block = "http_request",
           .key = "if",
           .type = "string (condition over ACL names)",
           .defaultValue = "none (always applies)",
           .example = "if: is_api and not is_post",
           .equivalent = "HAProxy: if CONDITION",
           .doc =
               "The rule applies only when the condition holds; names are ACLs of this section or "
               "the built-in LOCALHOST and ssl_fc, checked at load time. Not together with unless.",
           .effectTest = "tests/proxy/"
                         "http_proxy_test.py::HttpProxyTest::test_deny_redirect_and_header_rules"},
          {.block = "http_request",
           .key = "unless",
           .type = "string (condition over ACL names)",
           .defaultValue = "none (always applies)",
           .example = "unless: ssl_fc",
           .equivalent = "HAProxy: unless CONDITION",
           .doc = "The rule applies only when the condition does not hold. Not together with if.",
           .effectTest =
               "tests/proxy/tls_test.py::TlsTest::test_plain_http_is_redirected_unless_ssl_fc"},
          {.block = "http_request.deny",
           .key = "status",
           .type = "integer 200-599",
           .defaultValue = "403",
           .example = "deny: { status: 429 }",
           .equivalent = "HAProxy: http-request deny deny_status N",
           .doc = "Status of the deny answer, the same as writing the bare code after deny; a code "
                  "without a built-in page (400, 403, 408, 429, 431, 500, 502-504) or a "
                  "defaults.errorfiles page is currently sent as 500.",
           .effectTest =
               "tests/proxy/"
               "proxy_keys_test.py::HttpKeysTest::test_http_request_deny_status_is_the_answer"},
          {.block = "http_request.redirect",
           .key = "scheme",
           .type = "one of http, https",
           .defaultValue = "none",
           .example = "redirect: { scheme: https }",
           .equivalent = "HAProxy: http-request redirect scheme",
           .doc = "Redirects to SCHEME://HOST followed by the original path and query, HOST being "
                  "the request's Host header with its port removed.",
           .effectTest = "tests/proxy/"
                         "http_proxy_test.py::HttpProxyTest::test_deny_redirect_and_header_rules"},
          {.block = "http_request.redirect",
           .key = "location",
           .type = "string (URL)",
           .defaultValue = "none",
           .example = "redirect: { location: \"https://example.com/moved\" }",
           .equivalent = "HAProxy: http-request redirect location",
           .doc = "Redirects to exactly this URL, whatever the request.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_http_request_redirect_location_is_"
                         "sent_as_is"},
          {.block = "http_request.redirect",
           .key = "prefix",
           .type = "string (URL prefix)",
           .defaultValue = "none",
           .example = "redirect: { prefix: \"https://new.example.com\" }",
           .equivalent = "HAProxy: http-request redirect prefix",
           .doc = "Redirects to this prefix followed by the original path and query.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_http_request_redirect_prefix_"
                         "keeps_path_and_query"},
          {.block = "http_request.redirect",
           .key = "code",
           .type = "one of 301, 302, 303, 307, 308",
           .defaultValue = "302",
           .example = "redirect: { scheme: https, code: 301 }",
           .equivalent = "HAProxy: http-request redirect ... code",
           .doc = "Status code of the redirect.",
           .effectTest = "tests/proxy/"
                         "http_proxy_test.py::HttpProxyTest::test_deny_redirect_and_header_rules"},
          {.block = "http_request.return",
           .key = "status",
           .type = "integer 200-599",
           .defaultValue = "200",
           .example = "return: { status: 503, string: \"down for maintenance\" }",
           .equivalent = "HAProxy: http-request return status",
           .doc = "Status code of the answer.",
           .effectTest =
               "tests/proxy/stats_page_test.py::StatsPageTest::test_return_answers_from_the_proxy"},
          {.block = "http_request.return",
           .key = "content_type",
           .type = "string (one line)",
           .defaultValue = "text/plain",
           .example = "return: { content_type: text/html, file: maintenance.html }",
           .equivalent = "HAProxy: http-request return content-type",
           .doc = "Content-Type header of the answer.",
           .effectTest =
               "tests/proxy/stats_page_test.py::StatsPageTest::test_return_answers_from_the_proxy"},
          {.block = "http_request.return",
           .key = "string",
           .type = "string",
           .defaultValue = "none (empty body)",
           .example = "return: { string: \"ok\" }",
           .equivalent = "HAProxy: http-request return string",
           .doc = "Body of the answer (not sent to HEAD requests). Not together with file.",
           .effectTest =
               "tests/proxy/stats_page_test.py::StatsPageTest::test_return_answers_from_the_proxy"},
          {.block = "http_request.return",
           .key = "file",
           .type = "file path",
           .defaultValue = "none",
           .example = "return: { content_type: text/html, file: maintenance.html }",
           .equivalent = "HAProxy: http-request return file",
           .doc =
               "File whose content is the body, read once at load time (edits need a reload); a "
               "relative path resolves against the config file's folder. Not together with string.",
           .effectTest =
               "tests/proxy/stats_page_test.py::StatsPageTest::test_return_answers_from_the_proxy"},
          {.block = "header_args",
           .key = "name",
           .type = "string (header name)",
           .defaultValue = "required",
           .example = "name: X-Frame-Options",
           .equivalent = "HAProxy: set-header NAME ... / add-header NAME ...",
           .doc = "Name of the header field to set or add; must be a valid HTTP token.",
           .effectTest = "tests/proxy/"
                         "http_proxy_test.py::HttpProxyTest::test_deny_redirect_and_header_rules"},
          {.block = "header_args",
           .key = "value",
           .type = "string",
           .defaultValue = "required",
           .example = "value: DENY",
           .equivalent = "HAProxy: set-header ... FMT / add-header ... FMT",
           .doc = "Value of the header field, sent literally (no HAProxy log-format expansion such "
                  "as %[src]).",
           .effectTest = "tests/proxy/"
                         "http_proxy_test.py::HttpProxyTest::test_deny_redirect_and_header_rules"},
          {.block = "http_response",
           .key = "set_header",
           .type = "mapping {name, value}",
           .defaultValue = "none",
           .example = "set_header: { name: X-Frame-Options, value: DENY }",
           .equivalent = "HAProxy: http-response set-header",
           .doc = "Replaces every occurrence of the header in the response sent to the client with "
                  "one field carrying the value.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_deny_redirect_and_header_rules",
           .child = "header_args"},
          {.block = "http_response",
           .key = "add_header",
           .type = "mapping {name, value}",
           .defaultValue = "none",
           .example = "add_header: { name: Vary, value: Origin }",
           .equivalent = "HAProxy: http-response add-header",
           .doc = "Appends a header field to the response sent to the client, keeping any fields "
                  "of that name already there.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_http_response_add_header_keeps_"
                         "the_servers_field",
           .child = "header_args"},
          {.block = "http_response",
           .key = "del_header",
           .type = "string (header name)",
           .defaultValue = "none",
           .example = "del_header: Server",
           .equivalent = "HAProxy: http-response del-header",
           .doc = "Removes every field of this name (case-insensitive) from the response sent to "
                  "the client.",
           .effectTest = "tests/proxy/"
                         "http_proxy_test.py::HttpProxyTest::test_deny_redirect_and_header_rules"},
          {.block = "http_response",
           .key = "if",
           .type = "string (condition over ACL names)",
           .defaultValue = "none (always applies)",
           .example = "if: is_api",
           .equivalent = "HAProxy: if CONDITION",
           .doc = "The rule applies only when the condition holds, evaluated on the request when "
                  "it is routed. Not together with unless.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_http_response_if_applies_only_"
                         "when_the_condition_holds"},
          {.block = "http_response",
           .key = "unless",
           .type = "string (condition over ACL names)",
           .defaultValue = "none (always applies)",
           .example = "unless: LOCALHOST",
           .equivalent = "HAProxy: unless CONDITION",
           .doc = "The rule applies only when the condition does not hold, evaluated on the "
                  "request when it is routed. Not together with if.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_http_response_unless_applies_only_"
                         "when_the_condition_fails"},
          {.block = "rate_limit",
           .key = "key",
           .type = "one of src",
           .defaultValue = "src",
           .example = "key: src",
           .equivalent = "HAProxy: stick-table type ip + track-sc0 src",
           .doc = "What requests are counted under: the client address (IPv4 and IPv6), the only "
                  "key supported.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_rate_limit_key_src_counts_each_"
                         "client_address_apart"},
          {.block = "rate_limit",
           .key = "window",
           .type = "duration",
           .defaultValue = "10s",
           .example = "window: 10s",
           .equivalent = "HAProxy: store http_req_rate(PERIOD)",
           .doc = "Period the request rate is measured over (1ms-24h), as a sliding window like "
                  "HAProxy's http_req_rate.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_rate_limit_per_source"},
          {.block = "rate_limit",
           .key = "limit",
           .type = "integer 1-1000000000",
           .defaultValue = "required",
           .example = "limit: 100",
           .equivalent = "HAProxy: http-request deny if { sc_http_req_rate(0) gt N }",
           .doc = "Most requests one source may make per window; a tracked request that takes the "
                  "rate above it is refused with status.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_rate_limit_per_source"},
          {.block = "rate_limit",
           .key = "status",
           .type = "integer 400-599",
           .defaultValue = "429",
           .example = "status: 503",
           .equivalent = "HAProxy: http-request deny deny_status N",
           .doc = "Status of the answer to a request over the limit, with the defaults.errorfiles "
                  "page for it if any; a code without a built-in page (400, 403, 408, 429, 431, "
                  "500, 502-504) or an errorfile is currently sent as 500.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_rate_limit_status_answers_"
                         "requests_over_the_limit"},
          {.block = "rate_limit",
           .key = "size",
           .type = "size (entries, accepts k/m/g)",
           .defaultValue = "100k (102400 entries)",
           .example = "size: 100k",
           .equivalent = "HAProxy: stick-table size",
           .doc = "Most sources tracked at once (split over 64 shards, at least one entry each); "
                  "when full, entries idle longer than expire are dropped, and a source that still "
                  "finds no room is not limited.",
           .effectTest = "tests/proxy/"
                         "rate_limiter_test.cc::RateLimiter."
                         "FullTableForgetsIdleEntriesAndNeverRefusesNewcomers"},
          {.block = "rate_limit",
           .key = "expire",
           .type = "duration",
           .defaultValue = "30s",
           .example = "expire: 30s",
           .equivalent = "HAProxy: stick-table expire",
           .doc = "How long a source's entry may stay idle before a full table may drop it "
                  "(1ms-7d); shorter than window draws a warning.",
           .effectTest =
               "tests/proxy/"
               "rate_limiter_test.cc::RateLimiter.IdleEntriesMakeRoomSoNewcomersAreCounted"},
          {.block = "use_backend",
           .key = "backend",
           .type = "string (backend or listen name)",
           .defaultValue = "required",
           .example = "backend: api",
           .equivalent = "HAProxy: use_backend NAME",
           .doc = "The backend to route to when the condition holds; it must exist and be in the "
                  "frontend's mode.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_routing_by_path_host_header_and_regex"},
          {.block = "use_backend",
           .key = "if",
           .type = "string (condition over ACL names)",
           .defaultValue = "none (one of if, unless is required)",
           .example = "if: is_api or is_api_host",
           .equivalent = "HAProxy: use_backend NAME if CONDITION",
           .doc = "The rule routes only when the condition holds. A rule with neither if nor "
                  "unless is rejected (use default_backend).",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_routing_by_path_host_header_and_regex"},
          {.block = "use_backend",
           .key = "unless",
           .type = "string (condition over ACL names)",
           .defaultValue = "none (one of if, unless is required)",
           .example = "unless: is_static",
           .equivalent = "HAProxy: use_backend NAME unless CONDITION",
           .doc = "The rule routes only when the condition does not hold. Not together with if.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_use_backend_unless_routes_when_"
                         "the_condition_fails"},
          {.block = "stats",
           .key = "bind",
           .type = "address:port",
           .defaultValue = "required",
           .example = "bind: \"127.0.0.1:8404\"",
           .equivalent = "HAProxy: bind (of a listen section with stats enable)",
           .doc = "Listening address of the stats page (an IP or *, not a host name); it must not "
                  "overlap any other bind.",
           .effectTest = "tests/proxy/stats_page_test.py::StatsPageTest::test_stats_html_csv_json"},
          {.block = "stats",
           .key = "uri",
           .type = "string (starts with /)",
           .defaultValue = "/stats",
           .example = "uri: \"/haproxy?stats\"",
           .equivalent = "HAProxy: stats uri",
           .doc =
               "Where the page is served; URI;csv and URI;json give the same data as CSV and JSON, "
               "other paths get 404. A query part (the classic /haproxy?stats) is allowed.",
           .effectTest = "tests/proxy/stats_page_test.py::StatsPageTest::test_stats_html_csv_json"},
          {.block = "stats",
           .key = "refresh",
           .type = "duration (bare number = seconds)",
           .defaultValue = "10s",
           .example = "refresh: 5s",
           .equivalent = "HAProxy: stats refresh",
           .doc = "Auto-refresh period of the HTML page, written as a meta refresh in whole "
                  "seconds (1s-24h).",
           .effectTest = "tests/proxy/stats_page_test.py::StatsPageTest::test_stats_html_csv_json"},
          {.block = "stats",
           .key = "auth",
           .type = "list of \"user:password\" strings and/or mappings (a string for one)",
           .defaultValue = "none (no authentication)",
           .example = "auth: [ \"admin:s3cret\" ]",
           .equivalent = "HAProxy: stats auth",
           .doc = "Users allowed in with HTTP basic auth; anyone else gets 401. Without users the "
                  "page is open to every client that reaches the bind.",
           .effectTest = "tests/proxy/stats_page_test.py::StatsPageTest::test_stats_needs_auth",
           .child = "stats.auth"},
          {.block = "stats",
           .key = "admin_allowed_from",
           .type = "network or list of networks",
           .defaultValue = "none (read-only page)",
           .example = "admin_allowed_from: [ 10.0.0.0/8 ]",
           .equivalent = "HAProxy: stats admin if { src NETWORK }",
           .doc = "Clients in these networks get buttons to set servers ready, drain or maint and "
                  "may POST such changes (cross-site posts are refused); others get a read-only "
                  "page and 403 on POST. A warning is given when auth is empty.",
           .effectTest = "tests/proxy/"
                         "stats_page_test.py::StatsAdminTest::test_only_allowed_clients_see_and_"
                         "use_the_buttons"},
          {.block = "stats.auth",
           .key = "user",
           .type = "string",
           .defaultValue = "required",
           .example = "user: admin",
           .equivalent = "HAProxy: stats auth USER:PASSWORD",
           .doc = "User name accepted by the stats page's basic auth.",
           .effectTest = "tests/proxy/stats_page_test.py::StatsPageTest::test_stats_html_csv_json"},
          {.block = "stats.auth",
           .key = "password",
           .type = "string",
           .defaultValue = "required",
           .example = "password: s3cret",
           .equivalent = "HAProxy: stats auth USER:PASSWORD",
           .doc = "Clear-text password of the user; must not be empty.",
           .effectTest = "tests/proxy/stats_page_test.py::StatsPageTest::test_stats_needs_auth"},
          {.block = "prometheus",
           .key = "bind",
           .type = "address:port",
           .defaultValue = "required",
           .example = "bind: \"127.0.0.1:9101\"",
           .equivalent =
               "HAProxy: bind (of a frontend with http-request use-service prometheus-exporter)",
           .doc = "Listening address of the metrics endpoint (an IP or *, not a host name); it "
                  "must not overlap any other bind.",
           .effectTest = "tests/proxy/stats_page_test.py::StatsPageTest::test_prometheus_exporter"},
          {.block = "prometheus",
           .key = "path",
           .type = "string (starts with /)",
           .defaultValue = "/metrics",
           .example = "path: /metrics",
           .equivalent =
               "HAProxy: http-request use-service prometheus-exporter if { path /metrics }",
           .doc = "Path the metrics are served at (query string ignored); other paths get 404.",
           .effectTest = "tests/proxy/stats_page_test.py::StatsPageTest::test_prometheus_exporter"},
          {.block = "backend",
           .key = "mode",
           .type = "one of http, tcp",
           .defaultValue = "http (or defaults.mode)",
           .example = "mode: tcp",
           .equivalent = "HAProxy: mode",
           .doc = "Declares the backend's protocol; every frontend routing to it must have the "
                  "same mode, and forwardfor, balance uri and HTTP-inspecting ACLs need mode http. "
                  "The frontend's mode decides how traffic is proxied.",
           .effectTest = "tests/appliance/broken_configs_test.cc::Table/"
                         "BrokenConfigTest.RejectedAtExactLocation/mode_mismatch"},
          {.block = "backend",
           .key = "timeout",
           .type = "mapping",
           .defaultValue = "from defaults.timeout",
           .example = "timeout: { server: 30s, queue: 2s }",
           .equivalent = "HAProxy: timeout",
           .doc = "Timeouts of this backend, each key overriding the value from defaults; the "
                  "backend's connect, server, queue, tunnel and check timeouts are the ones used "
                  "for requests routed here.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_504_on_server_timeout",
           .child = "timeout"},
          {.block = "backend",
           .key = "balance",
           .type = "one of roundrobin, leastconn, source, uri, first, or mapping",
           .defaultValue = "roundrobin (or defaults.balance)",
           .example = "balance: leastconn",
           .equivalent = "HAProxy: balance",
           .doc = "How a server is chosen: roundrobin (smooth weighted), leastconn (fewest active "
                  "connections per weight), source (weighted hash of the client IP), uri (weighted "
                  "hash of the path; needs mode http) or first (first server in order with a free "
                  "maxconn slot).",
           .effectTest = "tests/proxy/"
                         "http_proxy_test.py::HttpProxyTest::test_leastconn_avoids_the_busy_server",
           .child = "balance"},
          {.block = "backend",
           .key = "forwardfor",
           .type = "boolean",
           .defaultValue = "false",
           .example = "forwardfor: true",
           .equivalent = "HAProxy: option forwardfor",
           .doc = "Adds X-Forwarded-For with the client address and X-Forwarded-Proto (http or "
                  "https) to every request sent to the servers; an X-Forwarded-Proto sent by the "
                  "client is removed so it cannot be forged. Needs mode http.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_forwardfor_proto_and_host_preserved"},
          {.block = "backend",
           .key = "retries",
           .type = "integer 0-100",
           .defaultValue = "3 (or defaults.retries)",
           .example = "retries: 2",
           .equivalent = "HAProxy: retries",
           .doc = "How many further connection attempts follow a failed one (refused, socket "
                  "error, timeout connect, or a bodiless idempotent request whose server closed "
                  "before answering); when all retries + 1 attempts fail the client gets 503 (502 "
                  "after a failure past connect).",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_backend_retries_sets_the_number_"
                         "of_connection_attempts"},
          {.block = "backend",
           .key = "redispatch",
           .type = "boolean",
           .defaultValue = "true (or defaults.redispatch)",
           .example = "redispatch: false",
           .equivalent = "HAProxy: option redispatch",
           .doc = "When true, a retry avoids the server that just failed if another usable server "
                  "exists; when false, a retry goes to the same server again while it is usable "
                  "(as HAProxy without option redispatch). Unlike HAProxy, on by default.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_backend_redispatch_false_retries_"
                         "on_the_failed_server"},
          {.block = "backend",
           .key = "allbackups",
           .type = "boolean",
           .defaultValue = "false",
           .example = "allbackups: true",
           .equivalent = "HAProxy: option allbackups",
           .doc = "When no active server is usable, balance traffic over all usable backup servers "
                  "instead of only the first one in configuration order.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_allbackups_uses_every_backup"},
          {.block = "backend",
           .key = "fullconn",
           .type = "integer 0-10000000",
           .defaultValue = "0",
           .example = "fullconn: 1000",
           .equivalent = "HAProxy: fullconn",
           .doc = "The backend load (streams using it, queued ones included) at which servers with "
                  "a minconn reach their maxconn; below it their limit is max(minconn, maxconn * "
                  "load / fullconn). 0 means a tenth of the maxconn of the frontends routing here. "
                  "Refused when no server has a minconn below its maxconn.",
           .effectTest = "tests/proxy/"
                         "http_proxy_test.py::HttpProxyTest::test_minconn_and_fullconn_limit_a_"
                         "server_while_the_backend_is_quiet"},
          {.block = "backend",
           .key = "check",
           .type = "mapping",
           .defaultValue = "none (no health checks)",
           .example = "check: { type: http, uri: /health, inter: 2s }",
           .equivalent = "HAProxy: option httpchk / option tcp-check / option mysql-check / option "
                         "redis-check with default-server check inter fall rise",
           .doc = "Health-checks every server of the backend (unless a server says check: false): "
                  "how to check and how often. A server that fails `fall` checks in a row is DOWN "
                  "and gets no traffic until `rise` checks pass.",
           .effectTest = "tests/health/"
                         "health_checks_test.py::HealthChecksTest::test_wrong_status_down_after_"
                         "exactly_fall_checks_then_up_after_rise",
           .child = "check"},
          {.block = "backend",
           .key = "servers",
           .type = "list of mappings",
           .defaultValue = "none (no servers: every request gets 503, with a warning)",
           .example = "servers: [ { name: web1, address: \"10.0.0.11:80\" } ]",
           .equivalent = "HAProxy: server",
           .doc = "The backend's servers, in configuration order (the order balance first uses); "
                  "server names are unique within the backend. A backend with only backup servers "
                  "gets a warning.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_roundrobin_follows_weights_exactly",
           .child = "server"},
          {.block = "backend",
           .key = "acls",
           .type = "map of NAME -> ACL mapping",
           .defaultValue = "none",
           .example = "acls: { is_api: { path_beg: /api/ } }",
           .equivalent = "HAProxy: acl",
           .doc = "Named conditions for the `if`/`unless` of this backend's http_request and "
                  "http_response rules (frontend ACLs are not visible here; LOCALHOST and ssl_fc "
                  "are built in). ACLs that inspect HTTP need mode http.",
           .effectTest = "tests/proxy/"
                         "http_proxy_test.py::HttpProxyTest::test_backend_rules_run_after_the_"
                         "frontends_on_the_chosen_backend",
           .child = "acl"},
          {.block = "backend",
           .key = "http_request",
           .type = "list of mappings",
           .defaultValue = "none",
           .example = "http_request: [ { set_header: { name: X-Backend, value: api } } ]",
           .equivalent = "HAProxy: http-request",
           .doc = "Request rules run in order after the frontend's rules and routing chose this "
                  "backend, before the request goes to a server (deny, redirect, return, "
                  "set/add/del_header; track is refused, rate-limit tables exist only in frontends "
                  "and listens). They run only in mode http.",
           .effectTest = "tests/proxy/"
                         "http_proxy_test.py::HttpProxyTest::test_backend_rules_run_after_the_"
                         "frontends_on_the_chosen_backend",
           .child = "http_request"},
          {.block = "backend",
           .key = "http_response",
           .type = "list of mappings",
           .defaultValue = "none",
           .example = "http_response: [ { del_header: Server } ]",
           .equivalent = "HAProxy: http-response",
           .doc = "Header rules (set/add/del_header) applied to responses of this backend, before "
                  "the frontend's response rules; their conditions are evaluated on the request. "
                  "They run only in mode http.",
           .effectTest = "tests/proxy/"
                         "http_proxy_test.py::HttpProxyTest::test_backend_rules_run_after_the_"
                         "frontends_on_the_chosen_backend",
           .child = "http_response"},
          {.block = "balance",
           .key = "algorithm",
           .type = "one of roundrobin, leastconn, source, uri, first",
           .defaultValue = "required",
           .example = "balance: { algorithm: uri, whole: true }",
           .equivalent = "HAProxy: balance <algorithm>",
           .doc = "The balancing algorithm, as in the short form of balance; uri needs mode http.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_leastconn_avoids_the_busy_server"},
          {.block = "balance",
           .key = "whole",
           .type = "boolean",
           .defaultValue = "false",
           .example = "balance: { algorithm: uri, whole: true }",
           .equivalent = "HAProxy: balance uri whole",
           .doc = "For balance uri, hash the whole request target including the query string "
                  "instead of the path only. Allowed only with algorithm uri.",
           .effectTest =
               "tests/proxy/"
               "proxy_keys_test.py::HttpKeysTest::test_balance_whole_hashes_the_query_string_too"},
          {.block = "check",
           .key = "type",
           .type = "one of tcp, http, tcp-script, mysql, redis",
           .defaultValue = "tcp",
           .example = "type: http",
           .equivalent = "HAProxy: option httpchk / option tcp-check / option mysql-check / option "
                         "redis-check",
           .doc = "What a check does: tcp only connects; http sends a request and judges the "
                  "answer; tcp-script runs `steps`; mysql logs in as `user` and quits; redis sends "
                  "PING and expects +PONG. The type decides which other keys are allowed.",
           .effectTest = "tests/health/"
                         "health_checks_test.py::RealServerChecksTest::test_redis_ping_pong_and_"
                         "error_answer"},
          {.block = "check",
           .key = "timeout",
           .type = "duration (1ms-1h)",
           .defaultValue = "the backend's timeout.check (2s)",
           .example = "timeout: 1s",
           .equivalent = "HAProxy: timeout check",
           .doc = "Time allowed for one whole check (connect and exchange) before it fails with a "
                  "Layer4 or Layer7 timeout; a tcp-script step with its own timeout uses that "
                  "instead for the step.",
           .effectTest =
               "tests/health/"
               "check_keys_test.py::CheckKeysTest::test_check_timeout_overrides_timeout_check"},
          {.block = "check",
           .key = "inter",
           .type = "duration (10ms-24h)",
           .defaultValue = "2s",
           .example = "inter: 500ms",
           .equivalent = "HAProxy: inter",
           .doc = "Interval between two checks of a server; first checks of the servers are spread "
                  "over one interval. Default schedule for every server of the backend (server "
                  "check.inter overrides).",
           .effectTest = "tests/health/"
                         "health_checks_test.py::HealthChecksTest::test_wrong_status_down_after_"
                         "exactly_fall_checks_then_up_after_rise"},
          {.block = "check",
           .key = "fastinter",
           .type = "duration (10ms-24h)",
           .defaultValue = "none (inter)",
           .example = "fastinter: 200ms",
           .equivalent = "HAProxy: fastinter",
           .doc = "Interval used while a server is in transition (failing checks while UP, or "
                  "passing checks while DOWN), to confirm the change sooner.",
           .effectTest =
               "tests/health/"
               "check_keys_test.py::CheckKeysTest::test_check_fastinter_used_while_going_down"},
          {.block = "check",
           .key = "downinter",
           .type = "duration (10ms-24h)",
           .defaultValue = "none (inter)",
           .example = "downinter: 10s",
           .equivalent = "HAProxy: downinter",
           .doc = "Interval used while a server is DOWN.",
           .effectTest = "tests/health/"
                         "check_keys_test.py::CheckKeysTest::test_check_downinter_used_while_down"},
          {.block = "check",
           .key = "fall",
           .type = "integer 1-1000",
           .defaultValue = "3",
           .example = "fall: 2",
           .equivalent = "HAProxy: fall",
           .doc = "Consecutive failed checks that take an UP server DOWN.",
           .effectTest =
               "tests/health/"
               "check_keys_test.py::CheckKeysTest::test_check_fall_five_failures_before_down"},
          {.block = "check",
           .key = "rise",
           .type = "integer 1-1000",
           .defaultValue = "2",
           .example = "rise: 1",
           .equivalent = "HAProxy: rise",
           .doc = "Consecutive passed checks that bring a DOWN server back UP.",
           .effectTest =
               "tests/health/"
               "check_keys_test.py::CheckKeysTest::test_check_rise_four_successes_before_up"},
          {.block = "check",
           .key = "port",
           .type = "integer 1-65535",
           .defaultValue = "none (the server's port)",
           .example = "port: 8081",
           .equivalent = "HAProxy: port (server/default-server option)",
           .doc =
               "Port the checks connect to instead of each server's own port, for every server of "
               "the backend (a server's check.port or a tcp-script connect port overrides it).",
           .effectTest = "tests/health/"
                         "check_keys_test.py::CheckKeysTest::test_check_port_checks_another_port_"
                         "than_the_server"},
          {.block = "check",
           .key = "method",
           .type = "string (HTTP method token)",
           .defaultValue = "GET",
           .example = "method: HEAD",
           .equivalent = "HAProxy: http-check send meth",
           .doc = "Method of the check request. Only with type http.",
           .effectTest = "tests/health/check_keys_test.py::CheckKeysTest::test_check_method_head"},
          {.block = "check",
           .key = "uri",
           .type = "string",
           .defaultValue = "/",
           .example = "uri: /health",
           .equivalent = "HAProxy: http-check send uri",
           .doc = "Request target of the check request; must start with / (or be *). Only with "
                  "type http.",
           .effectTest = "tests/health/"
                         "health_checks_test.py::HealthChecksTest::test_wrong_status_down_after_"
                         "exactly_fall_checks_then_up_after_rise"},
          {.block = "check",
           .key = "version",
           .type = "one of HTTP/1.0, HTTP/1.1",
           .defaultValue = "HTTP/1.1",
           .example = "version: HTTP/1.0",
           .equivalent = "HAProxy: http-check send ver",
           .doc = "HTTP version of the check request; with HTTP/1.1 and no Host in headers, a Host "
                  "header with the server's IPv4 address (or localhost) is added. Only with type "
                  "http.",
           .effectTest =
               "tests/health/"
               "check_keys_test.py::CheckKeysTest::test_check_version_http10_without_host"},
          {.block = "check",
           .key = "headers",
           .type = "map of header NAME -> string",
           .defaultValue = "none",
           .example = "headers: { Host: www.example.com }",
           .equivalent = "HAProxy: http-check send hdr",
           .doc = "Header fields sent with every check request; names must be valid HTTP tokens. "
                  "Only with type http.",
           .effectTest =
               "tests/health/"
               "check_keys_test.py::CheckKeysTest::test_check_headers_sent_and_host_not_added"},
          {.block = "check",
           .key = "expect",
           .type = "mapping or list of mappings",
           .defaultValue = "none (any 2xx or 3xx passes)",
           .example = "expect: [ { status: 200 }, { string: ok } ]",
           .equivalent = "HAProxy: http-check expect",
           .doc = "Rules the check response must all satisfy (status, body substring or body "
                  "regex). Only with type http.",
           .effectTest =
               "tests/health/health_checks_test.py::HealthChecksTest::test_wrong_body_goes_down",
           .child = "http_expect"},
          {.block = "check",
           .key = "steps",
           .type = "list of mappings",
           .defaultValue = "required with type tcp-script",
           .example = "steps: [ { send: \"PING\\r\\n\" }, { expect: { string: \"+PONG\" } } ]",
           .equivalent = "HAProxy: tcp-check connect / send / send-binary / expect",
           .doc = "The ordered dialogue of a tcp-script check, at least one step; the check passes "
                  "when every step succeeds. Only with type tcp-script.",
           .effectTest = "tests/health/health_checks_test.py::HealthChecksTest::test_smtp_sequence",
           .child = "tcp_check_step"},
          {.block = "check",
           .key = "user",
           .type = "string",
           .defaultValue = "required with type mysql",
           .example = "user: haproxy_check",
           .equivalent = "HAProxy: option mysql-check user",
           .doc = "MySQL user the check logs in as, without a password; the check reads the "
                  "server's greeting, sends the login, expects an OK packet and ends with "
                  "COM_QUIT. Only with type mysql.",
           .effectTest = "tests/health/"
                         "health_checks_test.py::RealServerChecksTest::test_mysql_check_user_and_"
                         "no_aborted_connections"},
          {.block = "http_expect",
           .key = "status",
           .type = "status or range string (200, 200-399), or a list of them",
           .defaultValue = "none (one of status, string, rstring is required)",
           .example = "status: [ 200, \"301-302\" ]",
           .equivalent = "HAProxy: http-check expect status",
           .doc = "Passes when the response status is one of the codes or within one of the "
                  "inclusive ranges (100-599).",
           .effectTest = "tests/health/check_test.cc::HttpCheck.StatusListsRangesAndNegation"},
          {.block = "http_expect",
           .key = "string",
           .type = "string",
           .defaultValue = "none (one of status, string, rstring is required)",
           .example = "string: '\"status\":\"ok\"'",
           .equivalent = "HAProxy: http-check expect string",
           .doc = "Passes when the response body (de-chunked, at most the first 16 KiB of the "
                  "response) contains this text.",
           .effectTest =
               "tests/health/health_checks_test.py::HealthChecksTest::test_wrong_body_goes_down"},
          {.block = "http_expect",
           .key = "rstring",
           .type = "string (PCRE2 regular expression)",
           .defaultValue = "none (one of status, string, rstring is required)",
           .example = "rstring: '\"status\":\\s*\"ok\"'",
           .equivalent = "HAProxy: http-check expect rstring",
           .doc = "Passes when the regular expression matches anywhere in the response body; an "
                  "invalid expression is rejected at load time.",
           .effectTest = "tests/health/check_test.cc::HttpCheck.StringAndRegexOnTheBody"},
          {.block = "http_expect",
           .key = "negate",
           .type = "boolean",
           .defaultValue = "false",
           .example = "negate: true",
           .equivalent = "HAProxy: http-check expect ! <match>",
           .doc = "Inverts the rule: the check fails when the status, string or regex matches.",
           .effectTest = "tests/health/check_test.cc::HttpCheck.StatusListsRangesAndNegation"},
          {.block = "tcp_check_step",
           .key = "connect",
           .type = "empty, true, or mapping",
           .defaultValue = "none",
           .example = "- connect: { port: 25 }",
           .equivalent = "HAProxy: tcp-check connect",
           .doc = "Opens a new connection to the server (closing any previous one), on the check "
                  "port or the port given; a Layer4 failure fails the check.",
           .effectTest = "tests/health/health_checks_test.py::HealthChecksTest::test_smtp_sequence",
           .child = "tcp_check_step.connect"},
          {.block = "tcp_check_step",
           .key = "send",
           .type = "string",
           .defaultValue = "none",
           .example = "- send: \"EHLO tandem\\r\\n\"",
           .equivalent = "HAProxy: tcp-check send",
           .doc = "Sends these bytes as written (use YAML double-quote escapes such as \\r\\n for "
                  "line ends).",
           .effectTest =
               "tests/health/health_checks_test.py::HealthChecksTest::test_smtp_sequence"},
          {.block = "tcp_check_step",
           .key = "send_binary",
           .type = "string (hexadecimal bytes, even length)",
           .defaultValue = "none",
           .example = "- send_binary: 2a310d0a",
           .equivalent = "HAProxy: tcp-check send-binary",
           .doc = "Sends the bytes written in hexadecimal; anything but pairs of hex digits is "
                  "rejected at load time.",
           .effectTest = "tests/health/"
                         "check_keys_test.py::CheckKeysTest::test_tcp_check_step_send_binary_sends_"
                         "the_bytes"},
          {.block = "tcp_check_step",
           .key = "expect",
           .type = "mapping",
           .defaultValue = "none",
           .example = "- expect: { string: \"220\" }",
           .equivalent = "HAProxy: tcp-check expect",
           .doc = "Waits for data matching a pattern in what the server sent since the previous "
                  "match; fails at end of stream, after 16 KiB without a match, or at the timeout.",
           .effectTest =
               "tests/health/"
               "health_checks_test.py::HealthChecksTest::test_tcp_check_step_timeout_applies",
           .child = "tcp_check_step.expect"},
          {.block = "tcp_check_step.connect",
           .key = "port",
           .type = "integer 1-65535",
           .defaultValue = "none (check.port, else the server's port)",
           .example = "connect: { port: 25 }",
           .equivalent = "HAProxy: tcp-check connect port",
           .doc = "Port this connect step uses instead of the check port or the server's port.",
           .effectTest =
               "tests/health/health_checks_test.py::HealthChecksTest::test_smtp_sequence"},
          {.block = "tcp_check_step.connect",
           .key = "timeout",
           .type = "duration (1ms-1h)",
           .defaultValue = "none (the check timeout)",
           .example = "connect: { timeout: 500ms }",
           .equivalent = "none (Tandem only)",
           .doc = "Time allowed for this connect step alone, replacing the check's timeout for the "
                  "step.",
           .effectTest = "tests/health/"
                         "check_keys_test.py::CheckKeysTest::test_tcp_check_step_connect_timeout"},
          {.block = "tcp_check_step.expect",
           .key = "string",
           .type = "string",
           .defaultValue = "none (one of string, rstring, binary is required)",
           .example = "expect: { string: \"250 \" }",
           .equivalent = "HAProxy: tcp-check expect string",
           .doc = "Passes when the received data contains this text; the next expect searches "
                  "after it.",
           .effectTest =
               "tests/health/health_checks_test.py::HealthChecksTest::test_smtp_sequence"},
          {.block = "tcp_check_step.expect",
           .key = "rstring",
           .type = "string (PCRE2 regular expression)",
           .defaultValue = "none (one of string, rstring, binary is required)",
           .example = "expect: { rstring: \"^\\\\+OK\" }",
           .equivalent = "HAProxy: tcp-check expect rstring",
           .doc = "Passes when the regular expression matches the unread received data; an invalid "
                  "expression is rejected at load time.",
           .effectTest = "tests/health/"
                         "check_keys_test.py::CheckKeysTest::test_tcp_check_step_expect_rstring"},
          {.block = "tcp_check_step.expect",
           .key = "binary",
           .type = "string (hexadecimal bytes, even length)",
           .defaultValue = "none (one of string, rstring, binary is required)",
           .example = "expect: { binary: 2b4f4b }",
           .equivalent = "HAProxy: tcp-check expect binary",
           .doc = "Passes when the received data contains these bytes, written in hexadecimal.",
           .effectTest =
               "tests/health/check_keys_test.py::CheckKeysTest::test_tcp_check_step_expect_binary"},
          {.block = "tcp_check_step.expect",
           .key = "negate",
           .type = "boolean",
           .defaultValue = "false",
           .example = "expect: { string: \"-ERR\", negate: true }",
           .equivalent = "HAProxy: tcp-check expect ! <match>",
           .doc = "Inverts the step: it fails as soon as the pattern arrives and passes only when "
                  "the server ends the stream (or 16 KiB arrive) without it; a silent open "
                  "connection makes it time out.",
           .effectTest =
               "tests/health/check_keys_test.py::CheckKeysTest::test_tcp_check_step_expect_negate"},
          {.block = "tcp_check_step.expect",
           .key = "timeout",
           .type = "duration (1ms-1h)",
           .defaultValue = "none (the check timeout)",
           .example = "expect: { string: OK, timeout: 150ms }",
           .equivalent = "none (Tandem only)",
           .doc = "Time allowed for this step alone, replacing the check's timeout; when it passes "
                  "the check fails with Layer7 timeout at step N.",
           .effectTest =
               "tests/health/"
               "health_checks_test.py::HealthChecksTest::test_tcp_check_step_timeout_applies"},
          {.block = "server",
           .key = "name",
           .type = "string ([A-Za-z0-9_.:-], at most 64)",
           .defaultValue = "required",
           .example = "name: web1",
           .equivalent = "HAProxy: server <name>",
           .doc = "The server's name, unique within its backend; it names the server in logs, the "
                  "stats page, metrics and admin commands (backend/name).",
           .effectTest = "tests/proxy/"
                         "admin_socket_test.py::AdminSocketTest::test_drain_lets_the_request_in_"
                         "flight_finish"},
          {.block = "server",
           .key = "address",
           .type = "address:port (IPv4, [IPv6] or host name)",
           .defaultValue = "required",
           .example = "address: \"10.0.0.11:8080\"",
           .equivalent = "HAProxy: server <name> <address>:<port>",
           .doc = "Where requests for this server go; a host name is resolved once when the proxy "
                  "starts, and a wildcard address such as 0.0.0.0 is rejected.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_roundrobin_follows_weights_exactly"},
          {.block = "server",
           .key = "weight",
           .type = "integer 0-256",
           .defaultValue = "1",
           .example = "weight: 3",
           .equivalent = "HAProxy: weight",
           .doc = "The server's share relative to the others in roundrobin, leastconn and the "
                  "source/uri hashes; 0 takes it out of rotation. The admin socket can change it "
                  "at run time.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_roundrobin_follows_weights_exactly"},
          {.block = "server",
           .key = "maxconn",
           .type = "integer 0-10000000",
           .defaultValue = "0 (unlimited)",
           .example = "maxconn: 500",
           .equivalent = "HAProxy: maxconn (server option)",
           .doc = "Most concurrent connections sent to this server; when every candidate is full a "
                  "request waits in the backend queue (FIFO) up to timeout.queue, then gets 503.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_maxconn_queue_serves_waiters_in_order"},
          {.block = "server",
           .key = "minconn",
           .type = "integer 0-10000000",
           .defaultValue = "0 (the limit is maxconn)",
           .example = "minconn: 50",
           .equivalent = "HAProxy: minconn",
           .doc = "With maxconn, the server's limit while its backend is quiet: it grows from "
                  "minconn to maxconn as the backend's load approaches fullconn (HAProxy's dynamic "
                  "maxconn), so a busy backend queues less and a quiet one spares its servers. "
                  "Needs maxconn; must not exceed it.",
           .effectTest = "tests/proxy/"
                         "load_balancer_test.cc::LoadBalancer."
                         "MinconnGrowsTheLimitWithTheBackendLoadUpToMaxconnAtFullconn"},
          {.block = "server",
           .key = "backup",
           .type = "boolean",
           .defaultValue = "false",
           .example = "backup: true",
           .equivalent = "HAProxy: backup",
           .doc = "Marks a backup server: it gets traffic only when no active server is usable "
                  "(the first usable backup only, unless the backend sets allbackups).",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_backup_takes_over_when_no_active_server"},
          {.block = "server",
           .key = "drain",
           .type = "boolean",
           .defaultValue = "false",
           .example = "drain: true",
           .equivalent =
               "none (Tandem only; HAProxy sets DRAIN at run time with set server ... state drain)",
           .doc = "Starts the server in DRAIN: it takes no new traffic but keeps its connections "
                  "and checks, until set ready. Cannot be combined with disabled.",
           .effectTest =
               "tests/health/"
               "check_keys_test.py::CheckKeysTest::test_server_drain_takes_no_new_traffic"},
          {.block = "server",
           .key = "disabled",
           .type = "boolean",
           .defaultValue = "false",
           .example = "disabled: true",
           .equivalent = "HAProxy: disabled (server option)",
           .doc = "Starts the server in MAINT: it gets no traffic until an admin sets it ready "
                  "(admin socket or stats page). Cannot be combined with drain.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_503_when_no_server_uses_the_errorfile"},
          {.block = "server",
           .key = "slowstart",
           .type = "duration (0-24h)",
           .defaultValue = "0s (off)",
           .example = "slowstart: 60s",
           .equivalent = "HAProxy: slowstart",
           .doc = "After health checks bring the server back UP, or it leaves MAINT, its effective "
                  "weight ramps linearly from near 0 to its weight over this time. Needs a checked "
                  "server (refused otherwise).",
           .effectTest = "tests/health/"
                         "health_checks_test.py::HealthChecksTest::test_slowstart_ramps_the_share_"
                         "of_a_recovered_server"},
          {.block = "server",
           .key = "send_proxy",
           .type = "v1, v2 or none",
           .defaultValue = "none",
           .example = "send_proxy: v2",
           .equivalent = "HAProxy: send-proxy / send-proxy-v2",
           .doc = "Starts each new connection to this server with a PROXY protocol header naming "
                  "the client's address and port and the address it connected to (v1: the text "
                  "line; v2: the binary form), in HTTP and TCP mode. Such a connection speaks for "
                  "one client, so it is never pooled for another. A client and a server address "
                  "of different families send UNKNOWN (v1) or LOCAL (v2), as the protocol asks. "
                  "Health checks of the server start with UNKNOWN (v1) or LOCAL (v2) too, so a "
                  "server that requires the header keeps passing them (HAProxy needs "
                  "check-send-proxy for that).",
           .effectTest = "tests/proxy/proxy_protocol_test.py::ProxyProtocolTest::"
                         "test_haproxy_receives_v1_and_v2_with_the_client_address"},
          {.block = "server",
           .key = "proto",
           .type = "h2 or http/1.1",
           .defaultValue = "http/1.1",
           .example = "proto: h2",
           .equivalent = "HAProxy: server ... proto h2",
           .doc = "The protocol requests go to this server in. h2: HTTP/2, with prior knowledge "
                  "on a plain connection (h2c) or over TLS with ALPN h2 (ssl: true; alpn "
                  "defaults to [h2]), so gRPC services and other h2-only servers work end to "
                  "end: request and response trailers (grpc-status), streaming both ways at "
                  "once, flow control toward a slow reader, and the request's te: trailers. "
                  "Each worker shares one connection to the server among its requests (another "
                  "when the server's SETTINGS_MAX_CONCURRENT_STREAMS is reached); a connection "
                  "the server sends GOAWAY on takes no new streams, and an idle one closes after "
                  "5 s. Every rule, ACL, log field and counter applies as for HTTP/1.1; a client "
                  "that gives up resets only its stream (RST_STREAM CANCEL). HTTP/1.1 clients "
                  "may use it too: a response of unknown length reaches them chunked, with its "
                  "trailers. Refused: in mode tcp, with send_proxy (one PROXY header cannot "
                  "name the many clients a shared connection carries); requests HTTP/2 cannot "
                  "carry (CONNECT, an Upgrade) get 502. Health checks still speak HTTP/1.1: "
                  "use a TCP check for a server that only speaks h2.",
           .effectTest = "tests/proxy/grpc_test.py::GrpcTest::test_unary_calls_keep_their_bytes"},
          {.block = "server",
           .key = "ssl",
           .type = "boolean",
           .defaultValue = "false",
           .example = "ssl: true",
           .equivalent = "HAProxy: server ... ssl",
           .doc = "Speaks TLS to this server (re-encryption), in HTTP and TCP mode. The "
                  "certificate is verified (verify) against ca_file or the system's CAs; a "
                  "handshake that fails (an untrusted or misnamed certificate, no common "
                  "protocol) is logged with its reason and the request gets 502, never a "
                  "plaintext fallback. Sessions are resumed on new connections (one cached per "
                  "server and SNI), and connections are pooled for reuse like plain ones.",
           .effectTest = "tests/proxy/"
                         "server_tls_test.py::ServerTlsTest::test_requests_reach_an_https_server"},
          {.block = "server",
           .key = "verify",
           .type = "required or none",
           .defaultValue = "required",
           .example = "verify: none",
           .equivalent = "HAProxy: server ... verify required|none",
           .doc = "required: the server's certificate must chain to a trusted CA (ca_file, else "
                  "the system's) and carry the name in verifyhost (or the SNI) when one is known; "
                  "none: any certificate is taken (encryption without authentication).",
           .effectTest = "tests/proxy/"
                         "server_tls_test.py::ServerTlsTest::test_an_untrusted_certificate_gets_"
                         "502_and_a_log_line"},
          {.block = "server",
           .key = "ca_file",
           .type = "file path (PEM)",
           .defaultValue = "the system's CAs (/etc/ssl/certs)",
           .example = "ca_file: /etc/tandem/internal-ca.pem",
           .equivalent = "HAProxy: server ... ca-file",
           .doc = "The CAs a server certificate must chain to (verify: required).",
           .effectTest = "tests/proxy/"
                         "server_tls_test.py::ServerTlsTest::test_requests_reach_an_https_server"},
          {.block = "server",
           .key = "sni",
           .type = "host name, req.hdr(host) or ssl_fc_sni",
           .defaultValue = "none",
           .example = "sni: req.hdr(host)",
           .equivalent = "HAProxy: server ... sni",
           .doc = "The name sent in the TLS SNI extension: a fixed name, the request's Host "
                  "(req.hdr(host), without its port; a request without Host sends none) or the "
                  "name the client sent in its own TLS handshake on a TLS bind (ssl_fc_sni, HTTP "
                  "or TCP mode: a TCP session then connects once the client's handshake is "
                  "done). A pooled connection is reused only for the same name, and a session "
                  "is resumed only under it. With verify: required the certificate must carry "
                  "it (unless verifyhost names another).",
           .effectTest = "tests/proxy/"
                         "server_tls_test.py::ServerTlsTest::test_sni_fixed_and_from_the_request"},
          {.block = "server",
           .key = "verifyhost",
           .type = "host name",
           .defaultValue = "the SNI, if any",
           .example = "verifyhost: api.internal",
           .equivalent = "HAProxy: server ... verifyhost",
           .doc = "The name the server's certificate must carry (SAN or CN), checked with "
                  "verify: required. Without it and without an SNI, only the chain is checked "
                  "(as HAProxy does).",
           .effectTest = "tests/proxy/"
                         "server_tls_test.py::ServerTlsTest::test_verifyhost_refuses_a_certificate_"
                         "for_another_name"},
          {.block = "server",
           .key = "crt",
           .type = "file path (PEM: certificate chain and key)",
           .defaultValue = "none",
           .example = "crt: /etc/tandem/client.pem",
           .equivalent = "HAProxy: server ... crt",
           .doc = "A client certificate presented to servers that ask for one (mutual TLS "
                  "toward the backend).",
           .effectTest = "tests/proxy/"
                         "server_tls_test.py::ServerTlsTest::test_client_certificate_is_presented"},
          {.block = "server",
           .key = "alpn",
           .type = "list of strings",
           .defaultValue = "none; [h2] with proto: h2",
           .example = "alpn: [ http/1.1 ]",
           .equivalent = "HAProxy: server ... alpn",
           .doc = "Protocols offered to the server by ALPN (for servers that insist on it): "
                  "http/1.1 (or http/1.0), or h2 for a proto: h2 server; anything else is "
                  "refused, as the protocol spoken is the one proto says.",
           .effectTest =
               "tests/proxy/server_tls_test.py::ServerTlsTest::test_alpn_is_offered_to_the_server"},
          {.block = "server",
           .key = "check",
           .type = "boolean or mapping",
           .defaultValue = "true when the backend has a check mapping, else false",
           .example = "check: false",
           .equivalent = "HAProxy: check (server option)",
           .doc = "Turns health checking of this server on or off; the mapping form turns it on "
                  "and overrides the schedule. Without a backend check mapping, a checked server "
                  "gets a plain TCP connect check.",
           .effectTest = "tests/health/"
                         "check_keys_test.py::CheckKeysTest::test_server_check_true_checks_without_"
                         "backend_check",
           .child = "server.check"},
          {.block = "server.check",
           .key = "enabled",
           .type = "boolean",
           .defaultValue = "true",
           .example = "check: { enabled: false, inter: 5s }",
           .equivalent = "HAProxy: check / no-check",
           .doc = "Whether this server is health-checked; the mapping form means on unless this "
                  "says false.",
           .effectTest =
               "tests/health/"
               "check_keys_test.py::CheckKeysTest::test_server_check_enabled_false_never_checked"},
          {.block = "server.check",
           .key = "ssl",
           .type = "boolean",
           .defaultValue = "the server's ssl",
           .example = "check: { ssl: false, port: 8080 }",
           .equivalent = "HAProxy: check-ssl / no-check-ssl",
           .doc = "Whether health checks speak TLS (with the server's verify, ca_file, crt and "
                  "fixed sni): on for a server with ssl: true, so an HTTP check reaches an HTTPS "
                  "server; false for a plain check port beside it. A handshake that fails marks "
                  "the check failed at layer 6 (\"Layer6 invalid response: SSL certificate verify "
                  "failed: ...\").",
           .effectTest = "tests/proxy/server_tls_test.py::ServerTlsTest::"
                         "test_health_checks_speak_tls"},
          {.block = "server.check",
           .key = "inter",
           .type = "duration (10ms-24h)",
           .defaultValue = "the backend check's inter (2s)",
           .example = "check: { inter: 1s }",
           .equivalent = "HAProxy: inter",
           .doc = "Interval between two checks of this server.",
           .effectTest = "tests/health/"
                         "check_keys_test.py::CheckKeysTest::test_server_check_inter_overrides_"
                         "backend_inter"},
          {.block = "server.check",
           .key = "fastinter",
           .type = "duration (10ms-24h)",
           .defaultValue = "the backend check's fastinter (else inter)",
           .example = "check: { fastinter: 200ms }",
           .equivalent = "HAProxy: fastinter",
           .doc = "Interval used while this server is in transition between UP and DOWN.",
           .effectTest = "tests/health/"
                         "check_keys_test.py::CheckKeysTest::test_server_check_fastinter_used_"
                         "while_going_down"},
          {.block = "server.check",
           .key = "downinter",
           .type = "duration (10ms-24h)",
           .defaultValue = "the backend check's downinter (else inter)",
           .example = "check: { downinter: 10s }",
           .equivalent = "HAProxy: downinter",
           .doc = "Interval used while this server is DOWN.",
           .effectTest =
               "tests/health/"
               "check_keys_test.py::CheckKeysTest::test_server_check_downinter_used_while_down"},
          {.block = "server.check",
           .key = "fall",
           .type = "integer 1-1000",
           .defaultValue = "the backend check's fall (3)",
           .example = "check: { fall: 2 }",
           .equivalent = "HAProxy: fall",
           .doc = "Consecutive failed checks that take this server DOWN.",
           .effectTest =
               "tests/health/"
               "check_keys_test.py::CheckKeysTest::test_server_check_fall_overrides_backend_fall"},
          {.block = "server.check",
           .key = "rise",
           .type = "integer 1-1000",
           .defaultValue = "the backend check's rise (2)",
           .example = "check: { rise: 1 }",
           .equivalent = "HAProxy: rise",
           .doc = "Consecutive passed checks that bring this server back UP.",
           .effectTest =
               "tests/health/"
               "check_keys_test.py::CheckKeysTest::test_server_check_rise_overrides_backend_rise"},
          {.block = "server.check",
           .key = "port",
           .type = "integer 1-65535",
           .defaultValue = "the backend check's port (else the server's port)",
           .example = "check: { port: 9000 }",
           .equivalent = "HAProxy: port (server option)",
           .doc = "Port the checks of this server connect to (a tcp-script connect port still "
                  "overrides it).",
           .effectTest =
               "tests/health/"
               "check_keys_test.py::CheckKeysTest::test_server_check_port_checks_another_port"},
          {.block = "server.check",
           .key = "addr",
           .type = "string (IP address)",
           .defaultValue = "none (the server's address)",
           .example = "check: { addr: 10.0.1.11 }",
           .equivalent = "HAProxy: addr (server option)",
           .doc = "Address the checks of this server connect to instead of the server's. Applied "
                  "only when both the server address and addr are IPv4; otherwise the server's "
                  "address is checked.",
           .effectTest =
               "tests/health/"
               "check_keys_test.py::CheckKeysTest::test_server_check_addr_checks_another_address"},
      }};
  return part;
}

}  // namespace tandem::appliance::reference
