// A table of broken configurations. Each must be rejected with an error at the exact
// file:line:column, naming the key path and saying what is expected.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "appliance/config/config_loader.h"

namespace tandem::appliance {
namespace {

struct BrokenCase {
  const char* name;
  std::string yaml;
  int line;
  int column;
  const char* path;            // key path of the error
  const char* fragment;        // part of the message
  const char* file = nullptr;  // the file the error is in when not the config itself
};

void PrintTo(const BrokenCase& c, std::ostream* os) {
  *os << c.name;
}

const std::string kData = std::string(TANDEM_SOURCE_DIR) + "/tests/appliance/testdata/";

// A valid frontend + backend to which cases append or which they replace.
const std::string kBackend =
    "backends:\n"
    "  app:\n"
    "    servers:\n"
    "      - { name: s1, address: \"127.0.0.1:9001\" }\n";  // lines 1-4
const std::string kFrontend =
    "frontends:\n"
    "  web:\n"
    "    bind: \"*:80\"\n"
    "    default_backend: app\n";  // lines 1-4

std::string fe(const std::string& extra) {  // frontend 'web' (lines 1-4) + extra keys from line 5
  return kFrontend + extra;
}
std::string be(const std::string& servers) {  // backend 'app' with the given body, from line 3
  return "backends:\n  app:\n" + servers;
}
std::string vrrp(const std::string& instanceBody) {  // one instance; body starts at line 4
  return "vrrp:\n  instances:\n    VI_1:\n" + instanceBody;
}
const std::string kVrrpBase =
    "      interface: eth0\n"
    "      virtual_router_id: 51\n"
    "      virtual_ipaddress: [198.18.0.100/24]\n";  // lines 4-6

std::vector<BrokenCase> cases() {
  return {
      // ---- file and top level
      {"yaml_syntax", "frontends:\n  web: [a, b\n", 3, 1, "", "YAML syntax error"},
      {"top_level_list", "- a\n- b\n", 1, 1, "(top level)", "expected a mapping"},
      {"empty_file", "", 0, 0, "", "the configuration is empty"},
      {"unknown_top_key", "frontend:\n  web: {}\n", 1, 1, "frontend",
       "unknown key 'frontend' (did you mean 'frontends'?)"},
      {"duplicate_key", kBackend + "  app:\n    servers: []\n", 5, 3, "backends.app",
       "duplicate key 'app' (first defined at line 2)"},
      // ---- global
      {"threads_range", "global:\n  threads: 100\n", 2, 12, "global.threads",
       "expected an integer from 0 to 64, got '100'"},
      {"log_level", "global:\n  log: { level: verbose }\n", 2, 17, "global.log.level",
       "expected a level"},
      {"log_target", "global:\n  log: { target: file }\n", 2, 18, "global.log.target",
       "expected one of auto, stderr, syslog, journal"},
      {"admin_socket_mode", "global:\n  admin_socket: { mode: \"0999\" }\n", 2, 25,
       "global.admin_socket.mode", "octal file mode"},
      {"tls_min_version", "global:\n  tls: { min_version: TLSv1.4 }\n", 2, 23,
       "global.tls.min_version", "expected one of TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3"},
      {"tls_ciphers", "global:\n  tls: { ciphers: NOT-A-CIPHER }\n", 2, 19, "global.tls.ciphers",
       "OpenSSL accepts none of these ciphers"},
      // ---- defaults
      {"defaults_mode", "defaults:\n  mode: udp\n", 2, 9, "defaults.mode",
       "expected one of http, tcp, got 'udp'"},
      {"timeout_unit", "defaults:\n  timeout: { connect: 5x }\n", 2, 23, "defaults.timeout.connect",
       "expected a duration"},
      {"timeout_negative", "defaults:\n  timeout: { server: -1 }\n", 2, 22,
       "defaults.timeout.server", "expected a duration"},
      {"errorfile_not_http", "defaults:\n  errorfiles: { 503: " + kData + "bad-503.http }\n", 2, 22,
       "defaults.errorfiles.503", "must hold a complete HTTP response"},
      {"errorfile_status", "defaults:\n  errorfiles: { 418: x.http }\n", 2, 17,
       "defaults.errorfiles.418", "unknown key '418'"},
      // ---- binds
      {"bind_missing", "frontends:\n  web:\n    default_backend: app\n" + kBackend, 3, 5,
       "frontends.web.bind", "missing required key 'bind'"},
      {"bind_port_zero",
       "frontends:\n  web:\n    bind: \"*:0\"\n    default_backend: app\n" + kBackend, 3, 11,
       "frontends.web.bind", "port must be 1-65535"},
      {"bind_hostname",
       "frontends:\n  web:\n    bind: \"localhost:80\"\n    default_backend: app\n" + kBackend, 3,
       11, "frontends.web.bind", "bind needs an IP address or '*'"},
      {"bind_ipv6_brackets",
       "frontends:\n  web:\n    bind: \"::1:80\"\n    default_backend: app\n" + kBackend, 3, 11,
       "frontends.web.bind", "IPv6 addresses need brackets"},
      {"bind_conflict_wildcard",
       kFrontend + "  other:\n    bind: \"127.0.0.1:80\"\n    default_backend: app\n" + kBackend, 6,
       11, "frontends.other.bind", "bind 127.0.0.1:80 conflicts with *:80 at frontends.web.bind"},
      {"bind_conflict_stats", kFrontend + kBackend + "stats:\n  bind: \"*:80\"\n", 10, 9,
       "stats.bind", "conflicts with *:80"},
      {"ssl_without_crt",
       "frontends:\n  web:\n    bind: [{ address: \"*:443\", ssl: true }]\n    default_backend: "
       "app\n" +
           kBackend,
       3, 12, "frontends.web.bind[0]", "ssl needs at least one certificate"},
      {"accept_proxy_from_nobody",
       "frontends:\n  web:\n    bind: [{ address: \"*:80\", accept_proxy: [] }]\n"
       "    default_backend: app\n" +
           kBackend,
       3, 45, "frontends.web.bind[0].accept_proxy", "would take a PROXY header from nobody"},
      {"accept_proxy_bad_network",
       "frontends:\n  web:\n    bind: [{ address: \"*:80\", accept_proxy: [ 10.0.0.0/33 ] }]\n"
       "    default_backend: app\n" +
           kBackend,
       3, 47, "frontends.web.bind[0].accept_proxy[0]", "invalid network '10.0.0.0/33'"},
      {"send_proxy_unknown_version",
       "backends:\n  app:\n    servers:\n      - { name: s1, address: \"127.0.0.1:9\", "
       "send_proxy: v3 }\n",
       4, 57, "backends.app.servers[0].send_proxy", "expected one of v1, v2, none"},
      {"verify_without_ca_file",
       "frontends:\n  web:\n    bind: [{ address: \"*:443\", verify: optional, crt: " + kData +
           "good.pem }]\n    default_backend: app\n" + kBackend,
       3, 40, "frontends.web.bind[0].verify", "needs the CAs that sign them"},
      {"ca_file_on_a_plain_bind",
       "frontends:\n  web:\n    bind: [{ address: \"*:80\", ca_file: " + kData +
           "good.pem }]\n    default_backend: app\n" + kBackend,
       3, 40, "frontends.web.bind[0].ca_file", "need TLS on this bind"},
      {"unknown_fetch_in_a_header_value",
       "frontends:\n  web:\n    bind: \"*:80\"\n    http_request:\n"
       "      - { set_header: { name: X-A, value: \"%[req.hdr(host)]\" } }\n"
       "    default_backend: app\n" +
           kBackend,
       5, 43, "frontends.web.http_request[0].set_header.value", "'%[req.hdr(host)]' is not"},
      {"ticket_keys_not_a_key",
       "global:\n  tls: { ticket_keys: " + kData + "bad-ticket-keys }\n" + kBackend, 2, 23,
       "global.tls.ticket_keys", "line 2: not a ticket key"},
      {"crt_missing",
       "frontends:\n  web:\n    bind: [{ address: \"*:443\", crt: /nonexistent/x.pem }]\n"
       "    default_backend: app\n" +
           kBackend,
       3, 37, "frontends.web.bind[0].crt", "cannot open certificate file"},
      {"crt_without_key",
       "frontends:\n  web:\n    bind: [{ address: \"*:443\", crt: " + kData +
           "cert-only.pem }]\n    default_backend: app\n" + kBackend,
       3, 37, "frontends.web.bind[0].crt", "no private key found"},
      {"crt_key_mismatch",
       "frontends:\n  web:\n    bind: [{ address: \"*:443\", crt: " + kData +
           "mismatched.pem }]\n    default_backend: app\n" + kBackend,
       3, 37, "frontends.web.bind[0].crt", "does not match its certificate"},
      {"alpn_h3_on_http",
       "frontends:\n  web:\n    bind: [{ address: \"*:443\", alpn: [h3, http/1.1], crt: " + kData +
           "good.pem }]\n    default_backend: app\n" + kBackend,
       3, 38, "frontends.web.bind[0].alpn", "'h3': an HTTP frontend speaks h2 and http/1.1"},
      {"server_proto_h3",
       kFrontend + "backends:\n  app:\n    servers:\n"
                   "      - { name: s1, address: \"127.0.0.1:9001\", proto: h3 }\n",
       8, 55, "backends.app.servers[0].proto", "expected one of"},
      {"server_proto_h2_with_send_proxy",
       kFrontend + "backends:\n  app:\n    servers:\n"
                   "      - { name: s1, address: \"127.0.0.1:9001\", proto: h2, send_proxy: v2 }\n",
       8, 71, "backends.app.servers[0].send_proxy", "one PROXY header cannot name them all"},
      {"server_proto_h2_alpn_http11",
       kFrontend + "backends:\n  app:\n    servers:\n"
                   "      - { name: s1, address: \"127.0.0.1:9001\", proto: h2, ssl: true, "
                   "alpn: [http/1.1] }\n",
       8, 76, "backends.app.servers[0].alpn", "spoken to in HTTP/2 (proto: h2); offer h2"},
      {"server_proto_h2_in_tcp_mode",
       "frontends:\n  db:\n    mode: tcp\n    bind: \"*:3306\"\n    default_backend: db\n"
       "backends:\n  db:\n    mode: tcp\n    servers:\n"
       "      - { name: s1, address: \"127.0.0.1:9001\", proto: h2 }\n",
       10, 55, "backends.db.servers[0].proto", "proto: h2 is for HTTP backends"},
      {"server_alpn_h2_without_proto",
       kFrontend + "backends:\n  app:\n    servers:\n"
                   "      - { name: s1, address: \"127.0.0.1:9001\", ssl: true, alpn: [h2] }\n",
       8, 65, "backends.app.servers[0].alpn", "HTTP/1.1 unless proto: h2"},
      {"server_verify_without_ssl",
       kFrontend + "backends:\n  app:\n    servers:\n"
                   "      - { name: s1, address: \"127.0.0.1:9001\", verify: none }\n",
       8, 56, "backends.app.servers[0].verify", "is for TLS to the server: add 'ssl: true'"},
      {"server_sni_expression",
       kFrontend +
           "backends:\n  app:\n    servers:\n"
           "      - { name: s1, address: \"127.0.0.1:9001\", ssl: true, sni: \"req.hdr(x)\" }\n",
       8, 64, "backends.app.servers[0].sni", "a host name, or req.hdr(host)"},
      {"server_check_ssl_without_ssl",
       kFrontend + "backends:\n  app:\n    servers:\n"
                   "      - { name: s1, address: \"127.0.0.1:9001\", check: { ssl: true } }\n",
       8, 62, "backends.app.servers[0].check.ssl", "add 'ssl: true' to the server"},
      {"proto_h2_on_tcp",
       "frontends:\n  db:\n    mode: tcp\n    bind: [{ address: \"*:3306\", proto: h2 }]\n"
       "    default_backend: app\n" +
           kBackend,
       4, 40, "frontends.db.bind[0].proto", "proto: h2 is for HTTP frontends"},
      {"streams_out_of_range",
       "frontends:\n  web:\n    bind: [{ address: \"*:80\", proto: h2, max_concurrent_streams: 0 "
       "}]\n"
       "    default_backend: app\n" +
           kBackend,
       3, 66, "frontends.web.bind[0].max_concurrent_streams", "from 1 to 10000, got '0'"},
      // ---- references and routing
      {"default_backend_undefined", kFrontend + "backends:\n  ap:\n    servers: []\n", 4, 22,
       "frontends.web.default_backend", "undefined backend 'app' (did you mean 'ap'?)"},
      {"use_backend_without_if", fe("    use_backend:\n      - { backend: app }\n") + kBackend, 6,
       9, "frontends.web.use_backend[0]", "always matches"},
      {"no_default_backend", "frontends:\n  web:\n    bind: \"*:80\"\n" + kBackend, 3, 5,
       "frontends.web.default_backend", "no default_backend and no use_backend"},
      {"acl_undefined",
       fe("    acls:\n      is_api: { host: api.test }\n    use_backend:\n"
          "      - { backend: app, if: is_apj }\n") +
           kBackend,
       8, 29, "frontends.web.use_backend[0].if", "undefined ACL 'is_apj' (did you mean 'is_api'?)"},
      {"condition_syntax",
       fe("    acls:\n      a: { method: GET }\n      b: { method: POST }\n    http_request:\n"
          "      - deny: 403\n        if: a and or b\n") +
           kBackend,
       10, 19, "frontends.web.http_request[0].if",
       "expected an ACL name, 'not' or '(' but found 'or'"},
      {"if_and_unless",
       fe("    acls:\n      a: { method: GET }\n    http_request:\n"
          "      - { deny: 403, if: a, unless: a }\n") +
           kBackend,
       8, 29, "frontends.web.http_request[0].unless", "use either 'if' or 'unless'"},
      // ---- ACLs
      {"acl_two_criteria", fe("    acls:\n      x: { host: a.test, path: /a }\n") + kBackend, 6, 10,
       "frontends.web.acls.x", "an ACL tests one criterion, found 'host' and 'path'"},
      {"acl_no_criterion", fe("    acls:\n      x: { ignore_case: true }\n") + kBackend, 6, 10,
       "frontends.web.acls.x", "an ACL needs one criterion"},
      {"acl_bad_regex", fe("    acls:\n      x: { path_reg: \"^/api/(v1\" }\n") + kBackend, 6, 22,
       "frontends.web.acls.x.path_reg", "missing closing parenthesis at offset 9"},
      {"acl_bad_prefix", fe("    acls:\n      x: { src: [198.18.0.0/33] }\n") + kBackend, 6, 18,
       "frontends.web.acls.x.src[0]", "prefix length must be 0-32"},
      {"acl_host_bits", fe("    acls:\n      x: { src: 198.18.0.1/15 }\n") + kBackend, 6, 17,
       "frontends.web.acls.x.src", "host bits set"},
      {"acl_src_file_line",
       fe("    acls:\n      x: { src_file: " + kData + "bad-cidrs.txt }\n") + kBackend, 3, 1,
       "frontends.web.acls.x.src_file", "'198.18.1.300'", "bad-cidrs.txt"},
      {"acl_src_file_missing",
       fe("    acls:\n      x: { src_file: /nonexistent/list }\n") + kBackend, 6, 22,
       "frontends.web.acls.x.src_file", "cannot read address file"},
      {"acl_header_no_op", fe("    acls:\n      x: { header: X-Test }\n") + kBackend, 6, 10,
       "frontends.web.acls.x", "exactly one of equals, contains, regex, exists"},
      {"acl_http_in_tcp",
       "frontends:\n  db:\n    mode: tcp\n    bind: \"*:3306\"\n    default_backend: db\n"
       "    acls:\n      x: { path: /a }\nbackends:\n  db:\n    mode: tcp\n    servers: []\n",
       7, 10, "frontends.db.acls.x", "inspects HTTP but the section is in tcp mode"},
      {"http_rules_in_tcp_backend",
       "frontends:\n  db:\n    mode: tcp\n    bind: \"*:3306\"\n    default_backend: db\n"
       "backends:\n  db:\n    mode: tcp\n    servers: []\n    http_request:\n"
       "      - deny: 403\n",
       10, 5, "backends.db.http_request", "http_request needs mode http"},
      {"minconn_without_maxconn",
       kFrontend + "backends:\n  app:\n    servers:\n"
                   "      - { name: s1, address: \"127.0.0.1:9001\", minconn: 5 }\n",
       8, 57, "backends.app.servers[0].minconn", "minconn needs maxconn"},
      {"minconn_above_maxconn",
       kFrontend + "backends:\n  app:\n    servers:\n"
                   "      - { name: s1, address: \"127.0.0.1:9001\", maxconn: 5, minconn: 8 }\n",
       8, 69, "backends.app.servers[0].minconn", "minconn 8 is above maxconn 5"},
      {"fullconn_without_minconn",
       kFrontend + "backends:\n  app:\n    fullconn: 100\n    servers:\n"
                   "      - { name: s1, address: \"127.0.0.1:9001\", maxconn: 5 }\n",
       7, 15, "backends.app.fullconn", "fullconn has no effect"},
      {"access_log_without_a_line_style", fe("    log: { dontlognull: true }\n") + kBackend, 5, 10,
       "frontends.web.log", "no line is written: add httplog: true"},
      {"access_log_relative_target",
       fe("    log: { httplog: true, target: access.log }\n") + kBackend, 5, 35,
       "frontends.web.log.target", "expected stderr, an absolute file path, syslog"},
      {"access_log_udp_target_by_name",
       fe("    log: { httplog: true, target: \"udp:logs.example:514\" }\n") + kBackend, 5, 35,
       "frontends.web.log.target", "needs a literal address"},
      {"access_log_facility_without_syslog",
       fe("    log: { httplog: true, facility: local1 }\n") + kBackend, 5, 27,
       "frontends.web.log.facility", "applies to syslog and journal targets only"},
      {"access_log_syslog_format_on_the_journal",
       fe("    log: { httplog: true, target: journal, syslog_format: rfc5424 }\n") + kBackend, 5,
       44, "frontends.web.log.syslog_format", "the journal has no header"},
      {"access_log_unknown_variable", fe("    log: { format: \"%ci %zz\" }\n") + kBackend, 5, 20,
       "frontends.web.log.format", "unknown variable %zz"},
      {"access_log_http_variable_in_tcp",
       "frontends:\n  db:\n    mode: tcp\n    bind: \"*:3306\"\n    default_backend: db\n"
       "    log: { format: \"%ci %ST\" }\nbackends:\n  db:\n    mode: tcp\n    servers: []\n",
       6, 20, "frontends.db.log.format", "%ST needs mode http"},
      {"access_log_sample_out_of_range",
       fe("    log: { httplog: true, sample: \"1,11:10\" }\n") + kBackend, 5, 35,
       "frontends.web.log.sample", "the range '11' is not within 1-10"},
      {"access_log_both_styles", fe("    log: { httplog: true, tcplog: true }\n") + kBackend, 5, 27,
       "frontends.web.log.tcplog", "choose one"},
      {"access_log_unknown_key", fe("    log: { httplog: true, level: info }\n") + kBackend, 5, 27,
       "frontends.web.log.level", "unknown key 'level'"},
      {"httplog_in_tcp",
       "frontends:\n  db:\n    mode: tcp\n    bind: \"*:3306\"\n    default_backend: db\n"
       "    log: { httplog: true }\nbackends:\n  db:\n    mode: tcp\n    servers: []\n",
       6, 12, "frontends.db.log.httplog", "httplog needs mode http"},
      {"timeout_client_fin_refused",
       "defaults:\n  timeout: { client_fin: 1s }\n" + kFrontend + kBackend, 2, 14,
       "defaults.timeout.client_fin", "client_fin is not applied yet"},
      {"header_value_with_line_break",
       fe("    http_request:\n      - set_header: { name: X-A, value: \"a\\r\\nX-Evil: 1\" }\n") +
           kBackend,
       6, 41, "frontends.web.http_request[0].set_header.value", "a header value is one line"},
      {"use_backend_in_tcp",
       "frontends:\n  db:\n    mode: tcp\n    bind: \"*:3306\"\n    default_backend: db\n"
       "    use_backend:\n      - { backend: db, if: LOCALHOST }\n"
       "backends:\n  db:\n    mode: tcp\n    servers: []\n",
       6, 5, "frontends.db.use_backend", "use_backend needs mode http"},
      {"timeout_server_fin_refused",
       "defaults:\n  timeout: { server_fin: 1s }\n" + kFrontend + kBackend, 2, 14,
       "defaults.timeout.server_fin", "server_fin is not applied yet"},
      {"garp_interval_refused",
       vrrp("      interface: eth0\n      virtual_router_id: 51\n      priority: 100\n"
            "      virtual_ipaddress: [198.18.0.1/24]\n      garp: { interval: 10ms }\n"),
       8, 15, "vrrp.instances.VI_1.garp.interval", "interval is not applied yet"},
      {"bind_ssl_false_with_crt",
       "frontends:\n  web:\n    bind: [ { address: \"*:443\", ssl: false, crt: " + kData +
           "good.pem } ]\n    default_backend: app\n" + kBackend,
       3, 38, "frontends.web.bind[0].ssl", "'ssl: false' with a crt"},
      {"timeout_server_in_a_frontend", fe("    timeout: { client: 5s, server: 5s }\n") + kBackend,
       5, 28, "frontends.web.timeout.server", "timeout server has no effect in a frontend"},
      {"timeout_client_in_a_backend",
       kFrontend + "backends:\n  app:\n    timeout: { client: 5s }\n    servers: []\n", 7, 16,
       "backends.app.timeout.client", "timeout client has no effect in a backend"},
      {"slowstart_without_check",
       kFrontend + "backends:\n  app:\n    servers:\n"
                   "      - { name: s1, address: \"127.0.0.1:9001\", slowstart: 10s }\n",
       8, 59, "backends.app.servers[0].slowstart", "slowstart ramps a checked server"},
      // ---- rules
      {"rule_unknown_action", fe("    http_request:\n      - denyy: 403\n") + kBackend, 6, 9,
       "frontends.web.http_request[0].denyy", "unknown action 'denyy' (did you mean 'deny'?)"},
      {"deny_status_range", fe("    http_request:\n      - deny: 99\n") + kBackend, 6, 15,
       "frontends.web.http_request[0].deny", "expected an integer from 200 to 599"},
      {"redirect_no_target", fe("    http_request:\n      - redirect: { code: 301 }\n") + kBackend,
       6, 19, "frontends.web.http_request[0].redirect", "exactly one of scheme, location, prefix"},
      {"redirect_code",
       fe("    http_request:\n      - redirect: { scheme: https, code: 304 }\n") + kBackend, 6, 42,
       "frontends.web.http_request[0].redirect.code", "301, 302, 303, 307 or 308"},
      {"track_undefined_table", fe("    http_request:\n      - track: per_ipp\n") + kBackend, 6, 16,
       "frontends.web.http_request[0].track", "undefined rate-limit table 'per_ipp'"},
      {"set_header_bad_name",
       fe("    http_response:\n      - set_header: { name: \"Bad Header\", value: x }\n") +
           kBackend,
       6, 29, "frontends.web.http_response[0].set_header.name", "not a valid header name"},
      {"http_rules_in_tcp",
       "frontends:\n  db:\n    mode: tcp\n    bind: \"*:3306\"\n    default_backend: db\n"
       "    http_request:\n      - deny: 403\nbackends:\n  db:\n    mode: tcp\n    servers: []\n",
       6, 5, "frontends.db.http_request", "needs mode http"},
      {"rate_limit_missing_limit",
       fe("    rate_limits:\n      per_ip: { window: 10s }\n") + kBackend, 6, 15,
       "frontends.web.rate_limits.per_ip.limit", "missing required key 'limit'"},
      {"mode_mismatch", kFrontend + "backends:\n  app:\n    mode: tcp\n    servers: []\n", 4, 22,
       "frontends.web.default_backend",
       "frontend in http mode cannot use backend 'app' in tcp mode"},
      {"duplicate_backend_listen",
       kBackend + "listens:\n  app:\n    bind: \"*:81\"\n    servers: []\n", 6, 3, "listens.app",
       "duplicate backend name 'app' (also backends.app at line 2)"},
      // ---- servers
      {"server_missing_address", be("    servers:\n      - { name: s1 }\n"), 4, 9,
       "backends.app.servers[0].address", "missing required key 'address'"},
      {"server_weight",
       be("    servers:\n      - { name: s1, address: \"127.0.0.1:1\", weight: 257 }\n"), 4, 53,
       "backends.app.servers[0].weight", "expected an integer from 0 to 256, got '257'"},
      {"server_duplicate_name",
       be("    servers:\n      - { name: s1, address: \"127.0.0.1:1\" }\n"
          "      - { name: s1, address: \"127.0.0.1:2\" }\n"),
       5, 17, "backends.app.servers[1].name", "duplicate server name 's1'"},
      {"server_wildcard_address",
       be("    servers:\n      - { name: s1, address: \"0.0.0.0:80\" }\n"), 4, 30,
       "backends.app.servers[0].address", "needs a real address"},
      {"server_typo",
       be("    servers:\n      - { name: s1, address: \"127.0.0.1:1\", backpu: true }\n"), 4, 45,
       "backends.app.servers[0].backpu", "unknown key 'backpu' (did you mean 'backup'?)"},
      {"server_drain_disabled",
       be("    servers:\n      - { name: s1, address: \"127.0.0.1:1\", drain: true, disabled: true "
          "}\n"),
       4, 9, "backends.app.servers[0]", "either drain or disabled"},
      {"balance_typo", be("    balance: roundrobbin\n    servers: []\n"), 3, 14,
       "backends.app.balance", "(did you mean 'roundrobin'?)"},
      {"balance_whole",
       be("    balance: { algorithm: roundrobin, whole: true }\n    servers: []\n"), 3, 46,
       "backends.app.balance.whole", "applies to balance uri only"},
      // ---- checks
      {"check_type", be("    check: { type: htp }\n    servers: []\n"), 3, 20,
       "backends.app.check.type", "(did you mean 'http'?)"},
      {"check_status", be("    check: { type: http, expect: { status: abc } }\n    servers: []\n"),
       3, 44, "backends.app.check.expect.status", "expected a status (200), or a range (200-399)"},
      {"check_rstring",
       be("    check: { type: http, expect: { rstring: \"[a-\" } }\n    servers: []\n"), 3, 45,
       "backends.app.check.expect.rstring", "invalid regular expression"},
      {"check_uri", be("    check: { type: http, uri: health }\n    servers: []\n"), 3, 31,
       "backends.app.check.uri", "uri must start with '/'"},
      {"check_mysql_user", be("    mode: tcp\n    check: { type: mysql }\n    servers: []\n"), 4,
       12, "backends.app.check.user", "missing required key 'user'"},
      {"check_send_binary",
       be("    mode: tcp\n    check:\n      type: tcp-script\n      steps:\n        - send_binary: "
          "zz\n"
          "    servers: []\n"),
       7, 24, "backends.app.check.steps[0].send_binary", "expected hexadecimal bytes"},
      {"check_key_for_other_type", be("    check: { type: tcp, uri: /health }\n    servers: []\n"),
       3, 25, "backends.app.check.uri", "unknown key 'uri'"},
      {"forwardfor_tcp", be("    mode: tcp\n    forwardfor: true\n    servers: []\n"), 4, 17,
       "backends.app.forwardfor", "forwardfor needs mode http"},
      {"listen_without_servers", "listens:\n  db:\n    mode: tcp\n    bind: \"*:3306\"\n", 3, 5,
       "listens.db.servers", "missing required key 'servers'"},
      // ---- stats / prometheus
      {"stats_uri", "stats:\n  bind: \"127.0.0.1:8404\"\n  uri: stats\n", 3, 8, "stats.uri",
       "uri must start with '/'"},
      {"stats_auth", "stats:\n  bind: \"127.0.0.1:8404\"\n  auth: admin\n", 3, 9, "stats.auth",
       "expected user:password"},
      {"prometheus_bind", "prometheus:\n  path: /metrics\n", 2, 3, "prometheus.bind",
       "missing required key 'bind'"},
      // ---- vrrp
      {"vrrp_vrid",
       vrrp("      interface: eth0\n      virtual_router_id: 0\n"
            "      virtual_ipaddress: [198.18.0.100/24]\n"),
       5, 26, "vrrp.instances.VI_1.virtual_router_id",
       "expected an integer from 1 to 255, got '0'"},
      {"vrrp_priority", vrrp(kVrrpBase + "      priority: 255\n"), 7, 17,
       "vrrp.instances.VI_1.priority", "expected an integer from 1 to 254"},
      {"vrrp_v3_advert_min", vrrp(kVrrpBase + "      advert_int: 5ms\n"), 7, 19,
       "vrrp.instances.VI_1.advert_int", "VRRPv3 advert_int must be 10ms to 40.95s"},
      {"vrrp_v3_advert_step", vrrp(kVrrpBase + "      advert_int: 15ms\n"), 7, 19,
       "vrrp.instances.VI_1.advert_int", "in steps of 10ms"},
      {"vrrp_v2_subsecond", vrrp(kVrrpBase + "      version: 2\n      advert_int: 100ms\n"), 8, 19,
       "vrrp.instances.VI_1.advert_int", "VRRPv2 advert_int must be whole seconds"},
      {"vrrp_auth_v3", vrrp(kVrrpBase + "      authentication: { type: PASS, password: secret }\n"),
       7, 23, "vrrp.instances.VI_1.authentication", "VRRPv3 has no authentication"},
      {"vrrp_auth_long",
       vrrp(kVrrpBase +
            "      version: 2\n      authentication: { type: PASS, password: toolongpass }\n"),
       8, 47, "vrrp.instances.VI_1.authentication.password", "1 to 8 characters"},
      {"vrrp_track_script_undefined",
       "vrrp:\n  scripts:\n    chk_proxy: { command: /bin/true }\n  instances:\n    VI_1:\n" +
           kVrrpBase + "      track_script: [chk_prxy]\n",
       9, 22, "vrrp.instances.VI_1.track_script[0]",
       "undefined track script 'chk_prxy' (did you mean 'chk_proxy'?)"},
      {"vrrp_empty_unicast_peer", vrrp(kVrrpBase + "      unicast_peer: []\n"), 7, 21,
       "vrrp.instances.VI_1.unicast_peer", "remove the key to use multicast"},
      {"vrrp_peer_is_self",
       vrrp(kVrrpBase + "      unicast_src_ip: 198.18.0.1\n      unicast_peer: [198.18.0.1]\n"), 8,
       22, "vrrp.instances.VI_1.unicast_peer[0]", "own unicast_src_ip"},
      {"vrrp_duplicate_vrid", vrrp(kVrrpBase) + "    VI_2:\n" + kVrrpBase, 9, 26,
       "vrrp.instances.VI_2.virtual_router_id",
       "virtual_router_id 51 is already used on eth0 by instance 'VI_1'"},
      {"vrrp_interface_name",
       vrrp("      interface: averyveryverylongname0\n      virtual_router_id: 51\n"
            "      virtual_ipaddress: [198.18.0.100/24]\n"),
       4, 18, "vrrp.instances.VI_1.interface", "invalid interface name"},
      {"vrrp_vip_invalid",
       vrrp("      interface: eth0\n      virtual_router_id: 51\n      virtual_ipaddress: "
            "[198.18.0.300/24]\n"),
       6, 27, "vrrp.instances.VI_1.virtual_ipaddress[0]",
       "expected an address with optional prefix"},
      {"vrrp_v2_ipv6",
       vrrp("      interface: eth0\n      virtual_router_id: 51\n      version: 2\n"
            "      virtual_ipaddress: [\"2001:db8::1/64\"]\n"),
       7, 26, "vrrp.instances.VI_1.virtual_ipaddress", "VRRPv2 carries IPv4 addresses only"},
      {"vrrp_mixed_families",
       vrrp("      interface: eth0\n      virtual_router_id: 51\n"
            "      virtual_ipaddress: [198.18.0.1/24, \"2001:db8::1/64\"]\n"),
       6, 26, "vrrp.instances.VI_1.virtual_ipaddress", "IPv4 or IPv6 addresses, not both"},
      {"vrrp_ipv6_not_supported_yet",
       vrrp("      interface: eth0\n      virtual_router_id: 51\n"
            "      virtual_ipaddress: [\"2001:db8::1/64\"]\n"),
       6, 26, "vrrp.instances.VI_1.virtual_ipaddress",
       "IPv6 virtual routers are not supported yet"},
      {"vrrp_nopreempt_contradiction",
       vrrp(kVrrpBase + "      preempt: true\n      nopreempt: true\n"), 8, 18,
       "vrrp.instances.VI_1.nopreempt", "contradicts 'preempt'"},
      {"vrrp_track_proxy_weight", vrrp(kVrrpBase + "      track_proxy: { weight: 10 }\n"), 7, 30,
       "vrrp.instances.VI_1.track_proxy.weight", "expected an integer from -253 to 0"},
      {"return_string_and_file",
       kBackend + "frontends:\n  web:\n    bind: \"*:80\"\n    default_backend: app\n"
                  "    http_request:\n      - return: { string: hi, file: x.html }\n",
       10, 17, "frontends.web.http_request[0].return", "a string or a file, not both"},
      {"return_missing_file",
       kBackend + "frontends:\n  web:\n    bind: \"*:80\"\n    default_backend: app\n"
                  "    http_request:\n      - return: { file: nope.html }\n",
       10, 25, "frontends.web.http_request[0].return.file", "cannot read"},
      // ---- supervisor
      {"supervisor_probe_wildcard",
       kFrontend + kBackend + "supervisor:\n  probe: { address: \"*:80\" }\n", 10, 21,
       "supervisor.probe.address", "literal, non-wildcard address"},
      {"supervisor_probe_http_without_address",
       kFrontend + kBackend + "supervisor:\n  probe: { type: http }\n", 10, 10,
       "supervisor.probe.address", "an http probe needs an address"},
      {"supervisor_probe_type", kFrontend + kBackend + "supervisor:\n  probe: { type: icmp }\n", 10,
       18, "supervisor.probe.type", "icmp"},
      {"supervisor_probe_uri",
       kFrontend + kBackend +
           "supervisor:\n  probe: { type: http, address: \"127.0.0.1:80\", uri: health }\n",
       10, 54, "supervisor.probe.uri", "expected a path starting with '/'"},
      {"supervisor_control_socket_mode",
       kFrontend + kBackend + "supervisor:\n  control_socket: { path: /run/t.sock, mode: rw }\n",
       10, 46, "supervisor.control_socket.mode", "octal file mode"},
      {"vrrp_script_missing",
       "vrrp:\n  scripts:\n    chk: { command: /nonexistent/chk.sh --quick }\n", 3, 21,
       "vrrp.scripts.chk.command", "/nonexistent/chk.sh: No such file"},
      {"vrrp_script_not_on_path",
       "vrrp:\n  scripts:\n    chk:\n      command: no-such-checker-xyz\n", 4, 16,
       "vrrp.scripts.chk.command", "no program 'no-such-checker-xyz' on PATH"},
      {"vrrp_notify_relative_path", vrrp(kVrrpBase + "      notify: { master: ./up.sh }\n"), 7, 25,
       "vrrp.instances.VI_1.notify.master", "relative path"},
      {"supervisor_unknown_key", kFrontend + kBackend + "supervisor:\n  restart: 1s\n", 10, 3,
       "supervisor.restart", "unknown key 'restart'"},
  };
}

class BrokenConfigTest : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenConfigTest, RejectedAtExactLocation) {
  const BrokenCase& c = GetParam();
  auto dir = std::filesystem::temp_directory_path() /
             ("tandem-broken-" + std::to_string(::getpid()) + "-" + c.name);
  std::filesystem::create_directories(dir);
  auto file = dir / "tandem.yaml";
  std::ofstream(file) << c.yaml;
  LoadResult r = loadConfigFile(file.string());
  std::filesystem::remove_all(dir);

  EXPECT_FALSE(r.config.has_value()) << "config was accepted";
  std::string all;
  bool found = false;
  std::string expectFile = c.file ? kData + c.file : file.string();
  for (const auto& d : r.diagnostics.all()) {
    all += "  " + d.format() + "\n";
    if (d.severity == Severity::Error && d.location.file == expectFile &&
        d.location.line == c.line && d.location.column == c.column && d.path == c.path &&
        d.message.find(c.fragment) != std::string::npos)
      found = true;
  }
  EXPECT_TRUE(found) << "expected " << c.line << ":" << c.column << " " << c.path << ": ..."
                     << c.fragment << "...\n got:\n"
                     << all;
}

INSTANTIATE_TEST_SUITE_P(Table, BrokenConfigTest, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(BrokenConfigTable, HasAtLeastFortyCases) {
  EXPECT_GE(cases().size(), 40u);
}

TEST(BrokenConfig, AllErrorsReportedInOneRun) {
  std::string yaml =
      "global:\n  threads: 99\n"
      "frontends:\n  web:\n    bind: \"*:0\"\n    default_backend: nope\n"
      "backends:\n  app:\n    servers:\n      - { name: s1, address: \"127.0.0.1:1\", weight: -1 "
      "}\n";
  LoadResult r = loadConfigString(yaml, "multi.yaml");
  EXPECT_FALSE(r.config);
  EXPECT_EQ(r.diagnostics.errorCount(), 4u);
}

// keepalived's enable_script_security: the agent is root, so a script anyone can rewrite is
// refused at its line, naming the file and the fix.
TEST(BrokenConfig, WorldWritableScriptIsRefusedAtItsCommand) {
  auto dir = std::filesystem::temp_directory_path() /
             ("tandem-unsafe-script-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms(0755));
  std::string script = (dir / "chk.sh").string();
  std::ofstream(script) << "#!/bin/sh\nexit 0\n";
  std::filesystem::permissions(script, std::filesystem::perms(0777));
  std::string yaml = "vrrp:\n  scripts:\n    chk:\n      command: \"" + script + " -q\"\n";
  LoadResult unsafe = loadConfigString(yaml, "unsafe.yaml");
  std::filesystem::permissions(script, std::filesystem::perms(0755));
  LoadResult safe = loadConfigString(yaml, "safe.yaml");
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(unsafe.config);
  ASSERT_EQ(unsafe.diagnostics.errorCount(), 1u);
  const auto& d = unsafe.diagnostics.all()[0];
  EXPECT_EQ(d.path, "vrrp.scripts.chk.command");
  EXPECT_EQ(d.location.line, 4);
  EXPECT_EQ(d.location.column, 16);
  EXPECT_NE(d.message.find(script + " is writable by everyone"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("chmod go-w " + script), std::string::npos) << d.message;
  EXPECT_TRUE(safe.config) << safe.diagnostics.all()[0].format();
}

TEST(BrokenConfig, ScriptUserMissingHereIsAWarningAtItsKey) {
  // As global.user: the file may be written for a node that has the user.
  auto warningAt = [](const LoadResult& r, const std::string& path) -> const Diagnostic* {
    for (const auto& d : r.diagnostics.all())
      if (d.severity == Severity::Warning && d.path == path) return &d;
    return nullptr;
  };
  LoadResult r = loadConfigString("vrrp:\n  script_user: no-such-user-xyz\n", "su.yaml");
  ASSERT_TRUE(r.config);
  const Diagnostic* d = warningAt(r, "vrrp.script_user");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->location.line, 2);
  EXPECT_NE(d->message.find("no user 'no-such-user-xyz'"), std::string::npos);
  LoadResult g =
      loadConfigString("vrrp:\n  script_user: nobody\n  script_group: ng-xyz\n", "g.yaml");
  ASSERT_TRUE(g.config);
  EXPECT_NE(warningAt(g, "vrrp.script_group"), nullptr);
}

TEST(BrokenConfig, BackupOnlyBackendIsAWarningNotAnError) {
  std::string yaml =
      kFrontend +
      be("    servers:\n      - { name: s1, address: \"127.0.0.1:1\", backup: true }\n");
  LoadResult r = loadConfigString(yaml, "warn.yaml");
  ASSERT_TRUE(r.config);
  ASSERT_EQ(r.diagnostics.warningCount(), 1u);
  EXPECT_NE(r.diagnostics.all()[0].message.find("only backup servers"), std::string::npos);
}

}  // namespace
}  // namespace tandem::appliance
