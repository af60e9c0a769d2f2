#include "appliance/config/config_loader.h"
#include "appliance/config/config_reference.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "appliance/config/schema.h"
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
  MapReader m(st.yaml, n, parent.pathOf("log"), "global.log");
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
  MapReader m(st.yaml, n, parent.pathOf("tls"), "global.tls");
  m.string("ciphers", &out->ciphers);
  m.string("ciphersuites", &out->ciphersuites);
  m.choice<std::string>("min_version", &out->minVersion,
                        {{"TLSv1.0", "TLSv1.0"},
                         {"TLSv1.1", "TLSv1.1"},
                         {"TLSv1.2", "TLSv1.2"},
                         {"TLSv1.3", "TLSv1.3"}});
  m.boolean("tickets", &out->tickets);
  if (YAML::Node k = m.get("ticket_keys"); k.IsDefined()) {
    m.string("ticket_keys", &out->ticketKeysFile);
    out->ticketKeysFile = st.resolvePath(out->ticketKeysFile);
    std::ifstream in(out->ticketKeysFile, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::string why;
    if (!in)
      st.yaml.error(k, m.pathOf("ticket_keys"), "cannot read '" + out->ticketKeysFile + "'");
    else if (auto keys = proxy::parseTicketKeys(text.str(), &why))
      out->ticketKeys = std::move(*keys);
    else
      st.yaml.error(k, m.pathOf("ticket_keys"), out->ticketKeysFile + ": " + why);
    if (!out->tickets)
      st.yaml.error(k, m.pathOf("ticket_keys"), "ticket keys with 'tickets: false' do nothing");
  }
  if (auto err = proxy::checkTlsDefaults(*out)) {
    YAML::Node at = m.get(err->field);
    st.yaml.error(at.IsDefined() ? at : n, m.pathOf(err->field), err->message);
  }
  m.finish();
}

}  // namespace

void readGlobal(LoaderState& st, const YAML::Node& node, Config* out) {
  MapReader m(st.yaml, node, "global", "global");
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
    MapReader am(st.yaml, a, m.pathOf("admin_socket"), "global.admin_socket");
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
  MapReader m(st.yaml, node, "defaults", "defaults");
  ProxyDefaults& d = st.defaults;
  m.choice<proxy::Mode>("mode", &d.mode, {{"http", proxy::Mode::Http}, {"tcp", proxy::Mode::Tcp}});
  readTimeouts(st, m, &d.timeouts);
  readAccessLog(st, m, &d.log, std::nullopt);
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
  MapReader top(yaml, root, "", "root");
  if (!top.valid()) return;
  top.get("nodes");  // taken apart before (selectNode): this node's part is laid over the rest
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
  if (YAML::Node n = top.get("pair"); n.IsDefined()) schema::readPair(st, n, &cfg.pair);
  top.finish();
  schema::crossCheckProxy(st, cfg.proxy);
  if (cfg.proxy.frontends.empty() && cfg.vrrp.instances.empty())
    yaml.warning(root, "", "no frontends, listens or vrrp instances: this node does nothing");
  if (result->diagnostics.errorCount() == 0) result->config = std::move(cfg);
}

// ---- one file for the pair ------------------------------------------------------------------

// Lays `over` on `base`: mappings merge key by key, all the way down; anything else (a scalar,
// a list such as a frontend's binds) replaces what the shared part says. Values keep the marks
// of where they were written, so an error points at the node's own line.
void overlay(YAML::Node base, const YAML::Node& over) {
  for (auto it = over.begin(); it != over.end(); ++it) {
    if (!it->first.IsScalar()) continue;  // the reader reports the bad key after the merge
    const std::string key = it->first.Scalar();
    const YAML::Node& constBase = base;
    YAML::Node current = constBase[key];
    if (current.IsDefined() && current.IsMap() && it->second.IsMap()) {
      overlay(current, it->second);
    } else {
      base[key] = it->second;
    }
  }
}

// A file with `nodes:`: picks this node's part and lays it over the shared part, so the rest of
// the loader reads a one-node file. False (with an error) when the node is not there.
bool selectNode(YAML::Node& root, YamlContext& yaml, const NodeChoice& choice, LoadResult* result) {
  if (!root.IsMap()) return true;
  const YAML::Node& constRoot = root;
  YAML::Node nodes = constRoot["nodes"];
  if (!nodes.IsDefined()) return true;
  if (!nodes.IsMap() || nodes.size() == 0) {
    yaml.error(nodes, "nodes",
               "expected a mapping of node name to what differs on that node, e.g. "
               "nodes: { lb1: { vrrp: ... }, lb2: { vrrp: ... } }");
    return false;
  }
  YAML::Node mine;  // (a default Node is a defined null: `found` says whether it is set)
  bool found = false;
  std::string wanted = choice.name.empty() ? localNodeName() : choice.name;
  bool ok = true;
  for (auto it = nodes.begin(); it != nodes.end(); ++it) {
    std::string name = it->first.IsScalar() ? it->first.Scalar() : std::string();
    std::string path = "nodes." + name;
    if (!schema::validName(name)) {
      yaml.error(it->first, "nodes", "invalid node name '" + name + "' (letters, digits, _ - . :)");
      ok = false;
      continue;
    }
    if (!it->second.IsMap()) {
      yaml.error(it->second, path,
                 "expected a mapping of what differs on this node (the file's own sections)");
      ok = false;
      continue;
    }
    YAML::Node part = it->second;  // a handle: it->second is a temporary's member
    if (YAML::Node inner = part["nodes"]; inner.IsDefined()) {
      yaml.error(inner, path + ".nodes", "a node's part cannot list nodes itself");
      ok = false;
    }
    result->nodes.push_back(name);
    if (name == wanted) {
      mine = it->second;
      found = true;
    }
  }
  if (!ok) return false;
  if (!found) {
    std::string listed;
    for (const auto& n : result->nodes) listed += (listed.empty() ? "" : ", ") + n;
    yaml.error(nodes, "nodes",
               "this node is '" + wanted + "' (" +
                   (choice.name.empty() ? "the host name" : "--node") +
                   "), which nodes: does not list (" + listed + "); run with --node NAME");
    return false;
  }
  root.remove("nodes");
  overlay(root, mine);
  result->node = wanted;
  return true;
}

LoadResult loadImpl(const std::string& text, const std::string& name, const std::string& baseDir,
                    DeclaredKeys* declared, const NodeChoice& node) {
  LoadResult result;
  YamlContext yaml(name, result.diagnostics);
  yaml.recordKeysInto(declared);
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
    if (!selectNode(root, yaml, node, &result)) return result;
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

std::string localNodeName() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return {};
  std::string name(host);
  return name.substr(0, name.find('.'));
}

std::vector<std::string> nodeNames(const std::string& path) {
  std::vector<std::string> names;
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (!root.IsMap()) return names;
    const YAML::Node& constRoot = root;
    YAML::Node nodes = constRoot["nodes"];
    if (!nodes.IsMap()) return names;
    for (auto it = nodes.begin(); it != nodes.end(); ++it)
      if (it->first.IsScalar()) names.push_back(it->first.Scalar());
  } catch (const YAML::Exception&) {
    names.clear();  // the loader reports what is wrong
  }
  return names;
}

LoadResult loadConfigFile(const std::string& path, DeclaredKeys* declared, const NodeChoice& node) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.diagnostics.error({path, 0, 0}, "",
                        std::string("cannot open configuration file: ") + std::strerror(errno));
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return loadConfigText(ss.str(), path, declared, node);
}

LoadResult loadConfigText(const std::string& text, const std::string& path, DeclaredKeys* declared,
                          const NodeChoice& node) {
  std::string dir = std::filesystem::absolute(path).parent_path().string();
  LoadResult r = loadImpl(text, path, dir, declared, node);
  r.source = text;
  return r;
}

LoadResult loadConfigString(const std::string& yaml, const std::string& name) {
  std::string dir = std::filesystem::current_path().string();
  return loadImpl(yaml, name, dir, nullptr, {});
}

}  // namespace tandem::appliance

// ---- the configuration reference of the keys read above (config_reference.h) -------------

namespace tandem::appliance::reference {

const Part& nodeReference() {
  static const Part part{
      {
          {.id = "root",
           .title = "Top level",
           .doc = "The top-level mapping of the configuration file (tandem.yaml). Every section is "
                  "optional and unknown keys are errors; a file with no frontends, listens or vrrp "
                  "instances gets a warning because the node would do nothing."},
          {.id = "global",
           .title = "Global settings",
           .doc = "The top-level `global:` mapping: process-wide settings (HAProxy's global "
                  "section) - daemon logging, the unprivileged user of the proxy worker, worker "
                  "threads, the global connection limit, the drain time on reload and stop, the "
                  "admin socket and TLS defaults."},
          {.id = "global.log",
           .title = "Daemon logging",
           .doc = "The `log:` mapping under global: where Tandem's own log lines (components "
                  "proxy, health, vrrp, supervisor, config) go and from which level. It configures "
                  "daemon logging, not per-request access logs."},
          {.id = "global.tls",
           .title = "TLS defaults",
           .doc =
               "The `tls:` mapping under global: cipher lists, minimum protocol version and "
               "session tickets applied to every TLS bind of every frontend and listen (HAProxy's "
               "ssl-default-bind-* settings). Values OpenSSL rejects are errors at check time."},
          {.id = "global.admin_socket",
           .title = "Admin socket",
           .doc = "The `admin_socket:` mapping under global. When present (even empty) the proxy "
                  "opens a unix-socket runtime API (HAProxy's stats socket at level admin) for "
                  "line commands such as `show servers state` and `set server BACKEND/SERVER state "
                  "drain`; when absent there is none."},
          {.id = "defaults",
           .title = "Proxy defaults",
           .doc = "The top-level `defaults:` mapping: values every frontend, backend and listen "
                  "inherits unless it sets its own (HAProxy's defaults section), plus the custom "
                  "error pages of the whole proxy. Only sections read after it are affected, and "
                  "the loader always reads it first."},
      },
      {
          {.block = "root",
           .key = "nodes",
           .type = "map of NODE -> the file's sections, as they differ on that node",
           .defaultValue = "none (the file is one node's)",
           .example = "nodes: { lb1: { vrrp: { instances: { VI_1: { priority: 150 } } } }, lb2: "
                      "{ vrrp: { instances: { VI_1: { priority: 100 } } } } }",
           .equivalent = "none (keepalived and HAProxy keep one file per node)",
           .doc = "One file for both nodes of the pair. Everything outside nodes: is shared; a "
                  "node's part is laid over it, mapping by mapping (a value or a list there, such "
                  "as a frontend's bind, replaces the shared one). The node is chosen by --node "
                  "NAME on run, check, proxy, vrrp, status and reload, else by the host name up "
                  "to its first dot; a node the file does not list is an error. `tandem run` "
                  "hands its node to the proxy worker, the VRRP agent and every reload. `tandem "
                  "check` without --node checks the file as every node will load it: an error "
                  "in a node's part is reported at that line with the node's name, one in the "
                  "shared part once.",
           .effectTest = "tests/appliance/"
                         "nodes_test.py::NodesRunTest::test_run_node_runs_its_own_part_and_"
                         "reloads_as_it"},
          {.block = "root",
           .key = "global",
           .type = "mapping",
           .defaultValue = "none (every global setting at its default)",
           .example = "global: { threads: 2, log: { target: stderr, level: info } }",
           .equivalent = "HAProxy: global",
           .doc = "Process-wide settings: logging, privileges of the proxy worker, threads, global "
                  "maxconn, drain time, admin socket and TLS defaults.",
           .effectTest = "tests/proxy/"
                         "fd_limit_test.py::FdLimitTest::test_explicit_maxconn_over_the_limit_is_"
                         "refused_with_the_numbers",
           .child = "global"},
          {.block = "root",
           .key = "defaults",
           .type = "mapping",
           .defaultValue = "none (built-in defaults)",
           .example = "defaults: { mode: http, retries: 3, timeout: { connect: 5s } }",
           .equivalent = "HAProxy: defaults",
           .doc = "Values inherited by every frontend, backend and listen that does not set its "
                  "own, and the proxy-wide error pages.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_503_when_no_server_uses_the_errorfile",
           .child = "defaults"},
          {.block = "root",
           .key = "frontends",
           .type = "map of NAME -> frontend",
           .defaultValue = "none",
           .example = "frontends: { www: { bind: \"*:80\", default_backend: app } }",
           .equivalent = "HAProxy: frontend",
           .doc = "The listening sections, keyed by name (1-64 characters of A-Z a-z 0-9 _ . : -); "
                  "names must be unique among frontends and listens.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_routing_by_path_host_header_and_regex",
           .child = "frontend"},
          {.block = "root",
           .key = "backends",
           .type = "map of NAME -> backend",
           .defaultValue = "none",
           .example =
               "backends: { app: { servers: [ { name: s1, address: \"10.0.0.1:8080\" } ] } }",
           .equivalent = "HAProxy: backend",
           .doc = "The server pools, keyed by name (1-64 characters of A-Z a-z 0-9 _ . : -); names "
                  "must be unique among backends and listens, and every "
                  "default_backend/use_backend must name one.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_roundrobin_follows_weights_exactly",
           .child = "backend"},
          {.block = "root",
           .key = "listens",
           .type = "map of NAME -> listen",
           .defaultValue = "none",
           .example = "listens: { db: { mode: tcp, bind: \"*:3306\", servers: [ { name: m1, "
                      "address: \"10.0.0.5:3306\" } ] } }",
           .equivalent = "HAProxy: listen",
           .doc = "Combined sections, keyed by name: each becomes a frontend and a backend of the "
                  "same name wired together, so the name may be used by neither another frontend "
                  "nor another backend.",
           .effectTest = "tests/proxy/"
                         "tcp_and_integrity_test.py::TcpAndIntegrityTest::test_tcp_half_close_is_"
                         "carried_both_ways",
           .child = "listen"},
          {.block = "root",
           .key = "stats",
           .type = "mapping",
           .defaultValue = "none (no stats page)",
           .example = "stats: { bind: \"127.0.0.1:8404\", uri: /stats }",
           .equivalent = "HAProxy: stats enable / stats uri (in a listen section)",
           .doc = "Turns on the built-in HTML/CSV/JSON statistics page on its own listener; its "
                  "bind may not conflict with any other bind.",
           .effectTest = "tests/proxy/stats_page_test.py::StatsPageTest::test_stats_html_csv_json",
           .child = "stats"},
          {.block = "root",
           .key = "prometheus",
           .type = "mapping",
           .defaultValue = "none (no exporter)",
           .example = "prometheus: { bind: \"127.0.0.1:9101\", path: /metrics }",
           .equivalent = "HAProxy: http-request use-service prometheus-exporter",
           .doc = "Turns on the built-in Prometheus metrics exporter on its own listener; its bind "
                  "may not conflict with any other bind.",
           .effectTest = "tests/proxy/stats_page_test.py::StatsPageTest::test_prometheus_exporter",
           .child = "prometheus"},
          {.block = "root",
           .key = "vrrp",
           .type = "mapping",
           .defaultValue = "none (no VRRP agent work)",
           .example = "vrrp: { instances: { VI_1: { interface: eth0, virtual_router_id: 51, "
                      "virtual_ipaddress: [198.18.0.100/24] } } }",
           .equivalent = "keepalived: vrrp_instance / vrrp_script",
           .doc = "The VRRP agent's configuration: track scripts, virtual router instances and the "
                  "agent's socket and state locations.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpNetnsTest::test_election_takeover_and_preemption",
           .child = "vrrp"},
          {.block = "root",
           .key = "supervisor",
           .type = "mapping",
           .defaultValue = "none (every supervisor setting at its default)",
           .example = "supervisor: { control_socket: /run/tandem/tandem.sock }",
           .equivalent = "none (Tandem only)",
           .doc = "How `tandem run` supervises the proxy worker and the VRRP agent: control "
                  "socket, local proxy probe, restart back-off and reload deadline.",
           .effectTest = "tests/appliance/"
                         "supervisor_test.py::SupervisorTest::test_unknown_control_request_and_"
                         "missing_socket",
           .child = "supervisor"},
          {.block = "global",
           .key = "log",
           .type = "mapping",
           .defaultValue = "none (target auto, level info)",
           .example = "log: { target: syslog, level: info, facility: local0 }",
           .equivalent = "HAProxy: log (global section)",
           .doc = "Destination, level, syslog facility and identifier of Tandem's own log lines, "
                  "applied when `tandem run`, `tandem proxy` or `tandem vrrp` starts; a reload "
                  "applies a change to the new proxy worker only (the supervisor and the VRRP "
                  "agent keep theirs until restarted).",
           .effectTest =
               "tests/common/"
               "logging_test.cc::Logging.EveryComponentHasItsOwnNamedLoggerAtTheConfiguredLevel",
           .child = "global.log"},
          {.block = "global",
           .key = "user",
           .type = "string",
           .defaultValue = "none (the worker keeps the user it was started as)",
           .example = "user: tandem",
           .equivalent = "HAProxy: user",
           .doc = "User the proxy worker switches to once its listening sockets are open; the "
                  "supervisor and the VRRP agent stay root. Without `group` the user's primary "
                  "group is used and supplementary groups are dropped; a user unknown on this "
                  "machine is only a warning at check time but stops the worker when it starts.",
           .effectTest = "tests/appliance/"
                         "supervisor_test.py::SupervisorTest::test_proxy_worker_gives_up_root_for_"
                         "global_user_and_group"},
          {.block = "global",
           .key = "group",
           .type = "string",
           .defaultValue = "none (the primary group of user)",
           .example = "group: tandem",
           .equivalent = "HAProxy: group",
           .doc = "Group the proxy worker switches to (its only group); overrides the primary "
                  "group of `user`. A group unknown on this machine is a warning at check time and "
                  "stops the worker when it starts.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::HttpKeysTest::test_global_group_worker_runs_with_"
                         "that_group_only"},
          {.block = "global",
           .key = "chroot",
           .type = "file path (directory)",
           .defaultValue = "none",
           .example = "chroot: /var/empty",
           .equivalent = "HAProxy: chroot",
           .doc =
               "Directory the proxy worker chroots into before it drops privileges (user and group "
               "names are resolved first). A missing directory is a warning at check time.",
           .effectTest = "tests/appliance/"
                         "supervisor_test.py::SupervisorTest::test_worker_chroots_and_dies_with_"
                         "its_supervisor"},
          {.block = "global",
           .key = "threads",
           .type = "integer 0-64",
           .defaultValue = "0 (one per CPU core)",
           .example = "threads: 4",
           .equivalent = "HAProxy: nbthread",
           .doc = "Number of proxy worker threads; each has its own listening socket per bind and "
                  "its own load-balancing state, so weights are followed exactly per thread. 0 "
                  "means one thread per CPU core.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_roundrobin_follows_weights_exactly"},
          {.block = "global",
           .key = "maxconn",
           .type = "integer 1-10000000",
           .defaultValue = "20000 (lowered to fit the open-file limit when not set)",
           .example = "maxconn: 50000",
           .equivalent = "HAProxy: maxconn (global section)",
           .doc = "Limit of concurrent client connections of the whole proxy; at the limit "
                  "listeners pause until a connection closes. The open-file limit is raised to "
                  "what it needs (2 descriptors per connection plus listeners and checks); an "
                  "explicit value that cannot be met stops start-up with the numbers, while the "
                  "unset default is lowered with a warning.",
           .effectTest = "tests/proxy/"
                         "fd_limit_test.py::FdLimitTest::test_explicit_maxconn_over_the_limit_is_"
                         "refused_with_the_numbers"},
          {.block = "global",
           .key = "hard_stop_after",
           .type = "duration (bare number = milliseconds), 0 to 24h",
           .defaultValue = "30s",
           .example = "hard_stop_after: 30s",
           .equivalent = "HAProxy: hard-stop-after",
           .doc = "How long an old proxy worker may finish in-flight requests after a reload or "
                  "stop before its remaining connections are closed; the supervisor kills a worker "
                  "still alive 1 s later (2 s on stop).",
           .effectTest = "tests/appliance/"
                         "supervisor_test.py::SupervisorTest::test_old_worker_outliving_grace_"
                         "period_is_stopped"},
          {.block = "global",
           .key = "admin_socket",
           .type = "mapping",
           .defaultValue = "none (no admin socket)",
           .example = "admin_socket: { path: /run/tandem/admin.sock, mode: \"0660\" }",
           .equivalent = "HAProxy: stats socket ... level admin",
           .doc = "Opens the proxy's runtime API on a unix socket (show servers state, set ssl "
                  "ocsp-response, set server "
                  "state/weight, enable/disable server); present but empty means the default path "
                  "and mode.",
           .effectTest =
               "tests/proxy/"
               "admin_socket_test.py::AdminSocketTest::test_socket_mode_and_show_servers_state",
           .child = "global.admin_socket"},
          {.block = "global",
           .key = "tls",
           .type = "mapping",
           .defaultValue = "none (built-in TLS defaults)",
           .example = "tls: { min_version: TLSv1.3, tickets: false }",
           .equivalent = "HAProxy: ssl-default-bind-ciphers / ssl-default-bind-options",
           .doc = "TLS settings shared by every TLS bind: cipher lists, minimum protocol version "
                  "and session tickets.",
           .effectTest = "tests/proxy/tls_test.py::TlsMinVersionTest::test_min_version_is_enforced",
           .child = "global.tls"},
          {.block = "global.log",
           .key = "target",
           .type = "one of auto, stderr, syslog, journal",
           .defaultValue = "auto",
           .example = "target: journal",
           .equivalent = "HAProxy: log <address> (global section)",
           .doc = "Where log lines go: auto means the systemd journal when started by systemd "
                  "(JOURNAL_STREAM set) and stderr otherwise; stderr uses a timestamped human "
                  "format, syslog goes through syslog(3) with facility and ident, journal sends "
                  "native journal fields.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::LogKeysTest::test_global_log_target_syslog_sends_"
                         "lines_to_syslog_not_stderr"},
          {.block = "global.log",
           .key = "level",
           .type = "one of emerg, alert, crit, err, warning, notice, info, debug (also critical, "
                   "error, warn, trace, off)",
           .defaultValue = "info",
           .example = "level: debug",
           .equivalent = "HAProxy: log ... <level> (global section)",
           .doc = "Lowest severity logged by every component; notice is treated as info and "
                  "emerg/alert as crit.",
           .effectTest =
               "tests/common/"
               "logging_test.cc::Logging.EveryComponentHasItsOwnNamedLoggerAtTheConfiguredLevel"},
          {.block = "global.log",
           .key = "facility",
           .type = "one of kern, user, mail, daemon, auth, syslog, local0 ... local7",
           .defaultValue = "daemon",
           .example = "facility: local0",
           .equivalent = "HAProxy: log ... <facility> (global section)",
           .doc = "Syslog facility of the log lines; used only with target syslog.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::LogKeysTest::test_global_log_facility_sets_the_"
                         "syslog_priority"},
          {.block = "global.log",
           .key = "ident",
           .type = "string",
           .defaultValue = "tandem",
           .example = "ident: tandem-edge1",
           .equivalent = "HAProxy: log-tag",
           .doc = "Program identifier of the log lines (syslog ident, journal SYSLOG_IDENTIFIER); "
                  "used with targets syslog and journal.",
           .effectTest =
               "tests/proxy/"
               "proxy_keys_test.py::LogKeysTest::test_global_log_ident_names_the_program"},
          {.block = "global.tls",
           .key = "ciphers",
           .type = "string (OpenSSL cipher list)",
           .defaultValue = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-"
                           "AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-"
                           "POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
           .example = "ciphers: \"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384\"",
           .equivalent = "HAProxy: ssl-default-bind-ciphers",
           .doc = "Cipher list offered for TLS 1.2 and below on every TLS bind; an empty string "
                  "leaves OpenSSL's default. A list OpenSSL accepts none of is an error at check "
                  "time.",
           .effectTest =
               "tests/proxy/"
               "proxy_keys_test.py::TlsKeysTest::test_global_tls_ciphers_limits_tls12_ciphers"},
          {.block = "global.tls",
           .key = "ciphersuites",
           .type = "string (OpenSSL TLS 1.3 ciphersuites)",
           .defaultValue =
               "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
           .example = "ciphersuites: \"TLS_AES_256_GCM_SHA384\"",
           .equivalent = "HAProxy: ssl-default-bind-ciphersuites",
           .doc = "TLS 1.3 ciphersuites offered on every TLS bind; an empty string leaves "
                  "OpenSSL's default. Suites OpenSSL rejects are an error at check time.",
           .effectTest =
               "tests/proxy/"
               "proxy_keys_test.py::TlsKeysTest::test_global_tls_ciphersuites_limits_tls13_suites"},
          {.block = "global.tls",
           .key = "min_version",
           .type = "one of TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3",
           .defaultValue = "TLSv1.2",
           .example = "min_version: TLSv1.3",
           .equivalent = "HAProxy: ssl-default-bind-options ssl-min-ver",
           .doc = "Lowest TLS protocol version a client may negotiate; older handshakes fail with "
                  "a protocol_version alert.",
           .effectTest =
               "tests/proxy/tls_test.py::TlsMinVersionTest::test_min_version_is_enforced"},
          {.block = "global.tls",
           .key = "tickets",
           .type = "boolean",
           .defaultValue = "true",
           .example = "tickets: false",
           .equivalent = "HAProxy: ssl-default-bind-options no-tls-tickets (inverted)",
           .doc = "Whether stateless (RFC 5077) session tickets are issued for resumption; false "
                  "leaves only short session-cache ids.",
           .effectTest =
               "tests/proxy/tls_test.py::TlsMinVersionTest::test_min_version_is_enforced"},
          {.block = "global.tls",
           .key = "ticket_keys",
           .type = "file path",
           .defaultValue = "none (keys random per worker process)",
           .example = "ticket_keys: /etc/tandem/ticket-keys",
           .equivalent = "HAProxy: tls-ticket-keys",
           .doc = "Session ticket keys shared by every worker and kept across reloads (and, with "
                  "the same file on both nodes, across a failover), so a returning client "
                  "resumes instead of a full handshake. HAProxy's format: one key per line, "
                  "base64 of 48 bytes (AES-128) or 80 bytes (AES-256), e.g. openssl rand 80 | "
                  "base64 -w0; the first line encrypts new tickets, every line decrypts (a ticket "
                  "under an older key is renewed). To rotate, put a new key first, drop the last "
                  "and reload. Keep the file secret (mode 0600): it decrypts every session.",
           .effectTest = "tests/proxy/tls_test.py::TicketKeysTest::"
                         "test_a_session_resumes_on_another_worker_process_with_the_same_keys"},
          {.block = "global.admin_socket",
           .key = "path",
           .type = "file path",
           .defaultValue = "/run/tandem/admin.sock",
           .example = "path: /run/tandem/admin.sock",
           .equivalent = "HAProxy: stats socket <path>",
           .doc = "Unix socket path of the runtime API; it survives reloads, and the supervisor "
                  "removes the file once every worker has ended.",
           .effectTest =
               "tests/proxy/"
               "admin_socket_test.py::AdminSocketTest::test_socket_mode_and_show_servers_state"},
          {.block = "global.admin_socket",
           .key = "mode",
           .type = "octal file mode string, at most 0777",
           .defaultValue = "0660",
           .example = "mode: \"0600\"",
           .equivalent = "HAProxy: stats socket ... mode",
           .doc =
               "Permission bits of the socket file, written as an octal string (quote it in YAML).",
           .effectTest =
               "tests/proxy/"
               "admin_socket_test.py::AdminSocketTest::test_socket_mode_and_show_servers_state"},
          {.block = "defaults",
           .key = "mode",
           .type = "one of http, tcp",
           .defaultValue = "http",
           .example = "mode: tcp",
           .equivalent = "HAProxy: mode",
           .doc = "Default proxy mode of frontends, backends and listens: http parses and routes "
                  "requests, tcp forwards bytes. A frontend and the backends it uses must have the "
                  "same mode.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::DefaultsKeysTest::test_defaults_mode_tcp_relays_"
                         "bytes_unparsed"},
          {.block = "defaults",
           .key = "timeout",
           .type = "mapping",
           .defaultValue = "none (built-in timeouts)",
           .example = "timeout: { connect: 5s, client: 50s, server: 50s }",
           .equivalent = "HAProxy: timeout",
           .doc = "Default timeouts, copied whole into every frontend, backend and listen, where "
                  "each key may be overridden.",
           .effectTest =
               "tests/proxy/http_proxy_test.py::HttpProxyTest::test_408_when_the_head_is_too_slow",
           .child = "timeout"},
          {.block = "defaults",
           .key = "log",
           .type = "mapping",
           .defaultValue = "none (no access log)",
           .example =
               "log: { httplog: true, dontlognull: true, target: /var/log/tandem/access.log }",
           .equivalent = "HAProxy: option httplog / option tcplog / option dontlognull in defaults",
           .doc = "Default access log of every frontend and listen, each of which may override "
                  "single keys. httplog here logs TCP frontends with tcplog lines, as HAProxy "
                  "does. global.log sets where Tandem's own log goes.",
           .effectTest = "tests/proxy/"
                         "access_log_test.py::AccessLogTest::test_defaults_log_applies_to_every_"
                         "frontend_in_its_mode",
           .child = "log"},
          {.block = "defaults",
           .key = "retries",
           .type = "integer 0-100",
           .defaultValue = "3",
           .example = "retries: 2",
           .equivalent = "HAProxy: retries",
           .doc = "Default number of extra connection attempts to a server after a failed connect, "
                  "before the request fails with 503.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::DefaultsKeysTest::test_defaults_retries_sets_the_"
                         "attempts_of_backends_without_their_own"},
          {.block = "defaults",
           .key = "redispatch",
           .type = "boolean",
           .defaultValue = "true",
           .example = "redispatch: false",
           .equivalent = "HAProxy: option redispatch",
           .doc = "Default for backends: whether a retry after a failed connect avoids the server "
                  "that just failed when another is usable; false retries on the same server "
                  "while it is usable.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::DefaultsKeysTest::test_defaults_redispatch_false_"
                         "lets_a_retry_pick_the_failed_server"},
          {.block = "defaults",
           .key = "maxconn",
           .type = "integer 0-10000000",
           .defaultValue = "0 (only the global limit)",
           .example = "maxconn: 2000",
           .equivalent = "HAProxy: maxconn (defaults section)",
           .doc = "Default per-frontend limit of concurrent client connections, shared by all "
                  "worker threads; at the limit the listener pauses until a connection closes. 0 "
                  "means only global.maxconn applies.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::DefaultsKeysTest::test_defaults_maxconn_limits_"
                         "frontends_without_their_own"},
          {.block = "defaults",
           .key = "balance",
           .type = "one of roundrobin, leastconn, source, uri, first",
           .defaultValue = "roundrobin",
           .example = "balance: leastconn",
           .equivalent = "HAProxy: balance",
           .doc = "Default load-balancing algorithm of backends and listens. Only the bare "
                  "algorithm name is accepted here (not the mapping form with `whole`), and uri "
                  "needs mode http in the backend.",
           .effectTest = "tests/proxy/"
                         "proxy_keys_test.py::DefaultsKeysTest::test_defaults_balance_is_used_by_"
                         "backends_without_their_own"},
          {.block = "defaults",
           .key = "errorfiles",
           .type = "map of HTTP status -> file path (statuses 200 400 401 403 404 405 407 408 410 "
                   "413 425 429 431 500 501 502 503 504)",
           .defaultValue = "none (built-in error pages)",
           .example = "errorfiles: { 503: errors/503.http }",
           .equivalent = "HAProxy: errorfile",
           .doc = "Replaces the proxy's built-in answer for a status with the file's bytes, sent "
                  "as they are; each file must hold a complete HTTP response whose first line "
                  "starts with HTTP/1. Relative paths resolve against the configuration file's "
                  "folder and another status is an unknown key.",
           .effectTest =
               "tests/proxy/"
               "http_proxy_test.py::HttpProxyTest::test_503_when_no_server_uses_the_errorfile"},
      }};
  return part;
}

}  // namespace tandem::appliance::reference
