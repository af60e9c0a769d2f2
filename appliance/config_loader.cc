#include "appliance/config_loader.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "appliance/schema.h"
#include "proxy/tls_certificate.h"

namespace tandem::appliance {
namespace schema {

using namespace std::chrono_literals;

std::string LoaderState::resolvePath(const std::string& p) const {
  if (p.empty() || p.front() == '/' || baseDir.empty()) return p;
  return (std::filesystem::path(baseDir) / p).lexically_normal().string();
}

bool validName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' &&
        c != ':')
      return false;
  }
  return true;
}

namespace {

void readLog(LoaderState& st, MapReader& parent, logging::Config* out) {
  YAML::Node n = parent.get("log");
  if (!n.IsDefined()) return;
  MapReader m(st.yaml, n, parent.pathOf("log"));
  if (YAML::Node t = m.get("target"); t.IsDefined()) {
    if (auto s = readString(st.yaml, t, m.pathOf("target"))) {
      if (auto target = logging::parseTarget(*s))
        out->target = *target;
      else
        st.yaml.error(t, m.pathOf("target"),
                      "expected one of auto, stderr, syslog, journal, got '" + *s + "'" +
                          didYouMean(*s, {"auto", "stderr", "syslog", "journal"}));
    }
  }
  if (YAML::Node l = m.get("level"); l.IsDefined()) {
    if (auto s = readString(st.yaml, l, m.pathOf("level"))) {
      if (auto level = logging::parseLevel(*s))
        out->level = *level;
      else
        st.yaml.error(
            l, m.pathOf("level"),
            "expected a level (emerg alert crit err warning notice info debug), got '" + *s + "'");
    }
  }
  if (YAML::Node f = m.get("facility"); f.IsDefined()) {
    if (auto s = readString(st.yaml, f, m.pathOf("facility"))) {
      if (logging::parseFacility(*s))
        out->facility = *s;
      else
        st.yaml.error(
            f, m.pathOf("facility"),
            "expected a syslog facility (daemon, local0 ... local7, ...), got '" + *s + "'");
    }
  }
  m.string("ident", &out->ident);
  m.finish();
}

void readTlsDefaults(LoaderState& st, MapReader& parent, proxy::TlsDefaults* out) {
  YAML::Node n = parent.get("tls");
  if (!n.IsDefined()) return;
  MapReader m(st.yaml, n, parent.pathOf("tls"));
  m.string("ciphers", &out->ciphers);
  m.string("ciphersuites", &out->ciphersuites);
  m.choice<std::string>("min_version", &out->minVersion,
                        {{"TLSv1.0", "TLSv1.0"},
                         {"TLSv1.1", "TLSv1.1"},
                         {"TLSv1.2", "TLSv1.2"},
                         {"TLSv1.3", "TLSv1.3"}});
  m.boolean("tickets", &out->tickets);
  if (auto err = proxy::checkTlsDefaults(*out)) {
    YAML::Node at = m.get(err->field);
    st.yaml.error(at.IsDefined() ? at : n, m.pathOf(err->field), err->message);
  }
  m.finish();
}

}  // namespace

void readGlobal(LoaderState& st, const YAML::Node& node, Config* out) {
  MapReader m(st.yaml, node, "global");
  readLog(st, m, &out->log);
  m.string("user", &out->runAs.user);
  m.string("group", &out->runAs.group);
  m.string("chroot", &out->runAs.chroot);
  // A user or chroot missing here may exist on the node the file is written for: warn only.
  if (!out->runAs.user.empty() && !getpwnam(out->runAs.user.c_str()))
    st.yaml.warning(m.get("user"), m.pathOf("user"),
                    "user '" + out->runAs.user + "' does not exist on this machine");
  if (!out->runAs.group.empty() && !getgrnam(out->runAs.group.c_str()))
    st.yaml.warning(m.get("group"), m.pathOf("group"),
                    "group '" + out->runAs.group + "' does not exist on this machine");
  if (!out->runAs.chroot.empty() && !std::filesystem::is_directory(out->runAs.chroot))
    st.yaml.warning(m.get("chroot"), m.pathOf("chroot"),
                    "chroot directory '" + out->runAs.chroot + "' does not exist on this machine");
  m.integer("threads", &out->proxy.threads, 0, 64);
  m.integer("maxconn", &out->proxy.maxconn, 1, 10000000);
  out->proxy.maxconnSet = m.has("maxconn");
  m.duration("hard_stop_after", &out->proxy.gracePeriod, DefaultUnit::Milliseconds, 0s, 24h);
  if (YAML::Node a = m.get("admin_socket"); a.IsDefined()) {
    MapReader am(st.yaml, a, m.pathOf("admin_socket"));
    am.string("path", &out->admin.path);
    readFileMode(st, am, "mode", &out->admin.mode);
    am.finish();
    out->proxy.adminSocket = proxy::AdminSocketConfig{out->admin.path, out->admin.mode};
  }
  readTlsDefaults(st, m, &out->proxy.tls);
  m.finish();
}

void readFileMode(LoaderState& st, MapReader& m, std::string_view key, unsigned* out) {
  YAML::Node mode = m.get(key);
  if (!mode.IsDefined()) return;
  auto s = readString(st.yaml, mode, m.pathOf(key));
  char* end = nullptr;
  unsigned long v = s ? std::strtoul(s->c_str(), &end, 8) : 0;
  if (s && (s->empty() || *end != '\0' || v > 0777))
    st.yaml.error(mode, m.pathOf(key),
                  "expected an octal file mode such as \"0660\", got '" + *s + "'");
  else if (s)
    *out = static_cast<unsigned>(v);
}

void readDefaults(LoaderState& st, const YAML::Node& node, Config* out) {
  MapReader m(st.yaml, node, "defaults");
  ProxyDefaults& d = st.defaults;
  m.choice<proxy::Mode>("mode", &d.mode, {{"http", proxy::Mode::Http}, {"tcp", proxy::Mode::Tcp}});
  readTimeouts(st, m, &d.timeouts);
  if (YAML::Node l = m.get("log"); l.IsDefined()) {
    MapReader lm(st.yaml, l, m.pathOf("log"));
    lm.boolean("httplog", &d.httplog);
    lm.boolean("dontlognull", &d.dontlognull);
    lm.finish();
  }
  m.integer("retries", &d.retries, 0, 100);
  m.boolean("redispatch", &d.redispatch);
  m.integer("maxconn", &d.maxconn, 0, 10000000);
  m.choice<proxy::Balance::Algorithm>("balance", &d.balance.algorithm,
                                      {{"roundrobin", proxy::Balance::Algorithm::RoundRobin},
                                       {"leastconn", proxy::Balance::Algorithm::LeastConn},
                                       {"source", proxy::Balance::Algorithm::Source},
                                       {"uri", proxy::Balance::Algorithm::Uri},
                                       {"first", proxy::Balance::Algorithm::First}});
  if (YAML::Node e = m.get("errorfiles"); e.IsDefined()) {
    MapReader em(st.yaml, e, m.pathOf("errorfiles"));
    static const int kStatuses[] = {200, 400, 401, 403, 404, 405, 407, 408, 410,
                                    413, 425, 429, 431, 500, 501, 502, 503, 504};
    for (int status : kStatuses) {
      YAML::Node f = em.get(std::to_string(status));
      if (!f.IsDefined()) continue;
      std::string path = em.pathOf(std::to_string(status));
      auto file = readString(st.yaml, f, path);
      if (!file) continue;
      std::string resolved = st.resolvePath(*file);
      std::ifstream in(resolved);
      std::string first;
      if (!in) {
        st.yaml.error(f, path, "cannot read error file '" + resolved + "'");
      } else if (!std::getline(in, first) || first.rfind("HTTP/1.", 0) != 0) {
        st.yaml.error(f, path,
                      "error file '" + resolved +
                          "' must hold a complete HTTP response starting with 'HTTP/1.x " +
                          std::to_string(status) + "'");
      } else {
        out->proxy.errorFiles[status] = resolved;
      }
    }
    em.finish();  // anything else is an unsupported status
  }
  m.finish();
}

}  // namespace schema

namespace {

void loadNode(const YAML::Node& root, YamlContext& yaml, const std::string& baseDir,
              LoadResult* result) {
  Config cfg;
  cfg.sourcePath = yaml.file();
  schema::LoaderState st(yaml, baseDir);
  if (root.IsNull() || !root.IsDefined()) {
    yaml.error(root, "", "the configuration is empty");
    return;
  }
  MapReader top(yaml, root, "");
  if (!top.valid()) return;
  // Order matters: global and defaults first (they seed the others), backends before the
  // cross-checks that need every name.
  if (YAML::Node n = top.get("global"); n.IsDefined()) schema::readGlobal(st, n, &cfg);
  if (YAML::Node n = top.get("defaults"); n.IsDefined()) schema::readDefaults(st, n, &cfg);
  if (YAML::Node n = top.get("backends"); n.IsDefined()) schema::readBackends(st, n, &cfg.proxy);
  if (YAML::Node n = top.get("frontends"); n.IsDefined()) schema::readFrontends(st, n, &cfg.proxy);
  if (YAML::Node n = top.get("listens"); n.IsDefined()) schema::readListens(st, n, &cfg.proxy);
  if (YAML::Node n = top.get("stats"); n.IsDefined()) schema::readStats(st, n, &cfg.proxy);
  if (YAML::Node n = top.get("prometheus"); n.IsDefined())
    schema::readPrometheus(st, n, &cfg.proxy);
  if (YAML::Node n = top.get("vrrp"); n.IsDefined()) schema::readVrrp(st, n, &cfg.vrrp);
  if (YAML::Node n = top.get("supervisor"); n.IsDefined())
    schema::readSupervisor(st, n, &cfg.supervisor);
  top.finish();
  schema::crossCheckProxy(st, cfg.proxy);
  if (cfg.proxy.frontends.empty() && cfg.vrrp.instances.empty())
    yaml.warning(root, "", "no frontends, listens or vrrp instances: this node does nothing");
  if (result->diagnostics.errorCount() == 0) result->config = std::move(cfg);
}

LoadResult loadImpl(const std::string& text, const std::string& name, const std::string& baseDir) {
  LoadResult result;
  YamlContext yaml(name, result.diagnostics);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    result.diagnostics.error({name, e.mark.line + 1, e.mark.column + 1}, "",
                             "YAML syntax error: " + e.msg);
    return result;
  } catch (const YAML::Exception& e) {
    result.diagnostics.error({name, 0, 0}, "", std::string("YAML error: ") + e.what());
    return result;
  }
  try {
    loadNode(root, yaml, baseDir, &result);
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws on some malformed trees (e.g. aliases); never crash `check`.
    result.diagnostics.error({name, e.mark.line + 1, e.mark.column + 1}, "",
                             std::string("YAML error: ") + e.what());
    result.config.reset();
  }
  return result;
}

}  // namespace

LoadResult loadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.diagnostics.error({path, 0, 0}, "",
                        std::string("cannot open configuration file: ") + std::strerror(errno));
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return loadConfigText(ss.str(), path);
}

LoadResult loadConfigText(const std::string& text, const std::string& path) {
  std::string dir = std::filesystem::absolute(path).parent_path().string();
  LoadResult r = loadImpl(text, path, dir);
  r.source = text;
  return r;
}

LoadResult loadConfigString(const std::string& yaml, const std::string& name) {
  std::string dir = std::filesystem::current_path().string();
  return loadImpl(yaml, name, dir);
}

}  // namespace tandem::appliance
