// The `supervisor:` section: how `tandem run` watches its children.
#include "appliance/config/config_reference.h"
#include "appliance/config/schema.h"

namespace tandem::appliance::schema {

using namespace std::chrono_literals;

void readSupervisor(LoaderState& st, const YAML::Node& node, SupervisorConfig* out) {
  MapReader m(st.yaml, node, "supervisor", "supervisor");
  if (!m.valid()) return;
  if (YAML::Node c = m.get("control_socket"); c.IsDefined()) {
    if (c.IsScalar()) {
      if (auto s = readString(st.yaml, c, m.pathOf("control_socket"))) out->controlSocket = *s;
    } else {
      MapReader cm(st.yaml, c, m.pathOf("control_socket"), "supervisor.control_socket");
      cm.string("path", &out->controlSocket);
      readFileMode(st, cm, "mode", &out->controlMode);
      cm.finish();
    }
    if (out->controlSocket.empty() || out->controlSocket.size() > 100)
      st.yaml.error(c, m.pathOf("control_socket"),
                    "a unix socket path must be 1 to 100 characters long");
  }
  if (YAML::Node p = m.get("probe"); p.IsDefined()) {
    MapReader pm(st.yaml, p, m.pathOf("probe"), "supervisor.probe");
    ProbeConfig& probe = out->probe;
    pm.choice<ProbeConfig::Type>("type", &probe.type,
                                 {{"auto", ProbeConfig::Type::Auto},
                                  {"tcp", ProbeConfig::Type::Tcp},
                                  {"http", ProbeConfig::Type::Http},
                                  {"none", ProbeConfig::Type::None}});
    if (YAML::Node a = pm.get("address"); a.IsDefined()) {
      std::string why;
      if (auto s = readString(st.yaml, a, pm.pathOf("address"))) {
        auto ep = Endpoint::parse(*s, true, &why);
        if (!ep || !ep->ip || ep->ip->isUnspecified())
          st.yaml.error(a, pm.pathOf("address"),
                        ep ? "the probe needs a literal, non-wildcard address such as "
                             "127.0.0.1:80"
                           : why);
        else
          probe.address = *ep;
      }
    }
    pm.string("uri", &probe.uri);
    pm.string("host", &probe.host);
    pm.duration("interval", &probe.interval, DefaultUnit::Milliseconds, 10ms, 1h);
    pm.duration("timeout", &probe.timeout, DefaultUnit::Milliseconds, 1ms, 1h);
    pm.integer("fall", &probe.fall, 1, 100);
    pm.integer("rise", &probe.rise, 1, 100);
    if (!probe.uri.empty() && probe.uri[0] != '/')
      st.yaml.error(pm.get("uri"), pm.pathOf("uri"), "expected a path starting with '/'");
    if (probe.type == ProbeConfig::Type::Http && !probe.address)
      st.yaml.error(p, pm.pathOf("address"),
                    "an http probe needs an address (the proxy's own listener, e.g. "
                    "127.0.0.1:80)");
    pm.finish();
  }
  if (YAML::Node r = m.get("restart_delay"); r.IsDefined()) {
    MapReader rm(st.yaml, r, m.pathOf("restart_delay"), "supervisor.restart_delay");
    // At least 10 ms: a child failing at start-up must never be re-forked in a tight loop.
    rm.duration("initial", &out->restartDelay, DefaultUnit::Milliseconds, 10ms, 1h);
    rm.duration("max", &out->restartDelayMax, DefaultUnit::Milliseconds, 10ms, 24h);
    rm.finish();
  }
  m.duration("reload_timeout", &out->reloadTimeout, DefaultUnit::Seconds, 1s, 1h);
  m.finish();
}

}  // namespace tandem::appliance::schema

// ---- the configuration reference of the keys read above (config_reference.h) -------------

namespace tandem::appliance::reference {

const Part& supervisorReference() {
  static const Part part{
      {
          {.id = "supervisor",
           .title = "Supervisor",
           .doc = "The top-level `supervisor:` mapping: how `tandem run` watches its two children, "
                  "the proxy worker and the VRRP agent - its control socket, the local liveness "
                  "probe of the proxy, the crash restart back-off and the reload deadline."},
          {.id = "supervisor.control_socket",
           .title = "Control socket",
           .doc = "The mapping form of supervisor.control_socket (a bare string sets the path "
                  "alone): the unix socket that `tandem status` and `tandem reload` talk to."},
          {.id = "supervisor.probe",
           .title = "Local proxy probe",
           .doc = "The `probe:` mapping under supervisor: the supervisor's built-in liveness check "
                  "of the local proxy (a TCP connect or an HTTP request to the proxy's own "
                  "listener, with no script fork). Its up/down result goes to the VRRP agent, "
                  "which acts on it through each instance's track_proxy."},
          {.id = "supervisor.restart_delay",
           .title = "Restart back-off",
           .doc = "The `restart_delay:` mapping under supervisor: the delay before a crashed child "
                  "is started again. It doubles after each crash up to a cap and starts over after "
                  "a run of 5 s or more; 5 crashes within a minute are reported as a crash loop "
                  "while restarts go on."},
      },
      {
          {.block = "supervisor",
           .key = "control_socket",
           .type = "file path, or mapping",
           .defaultValue = "/run/tandem/tandem.sock",
           .example = "control_socket: /run/tandem/tandem.sock",
           .equivalent = "none (Tandem only)",
           .doc =
               "Unix socket of the supervisor that `tandem status` and `tandem reload` use; a "
               "string is the path, a mapping also sets the file mode. The path must be 1 to 100 "
               "characters; it is bound when `tandem run` starts, and a reload does not move it.",
           .effectTest = "tests/appliance/"
                         "supervisor_test.py::SupervisorTest::test_unknown_control_request_and_"
                         "missing_socket",
           .child = "supervisor.control_socket"},
          {.block = "supervisor",
           .key = "probe",
           .type = "mapping",
           .defaultValue = "none (type auto, every 200ms)",
           .example = "probe: { type: http, address: \"127.0.0.1:80\", uri: /health }",
           .equivalent = "keepalived: vrrp_script + track_script (a chk_haproxy script)",
           .doc = "The built-in liveness probe of the local proxy whose result the VRRP agent acts "
                  "on through track_proxy.",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_probe_"
                         "address_is_the_probe_target",
           .child = "supervisor.probe"},
          {.block = "supervisor",
           .key = "restart_delay",
           .type = "mapping",
           .defaultValue = "none (initial 100ms, max 10s)",
           .example = "restart_delay: { initial: 100ms, max: 10s }",
           .equivalent = "none (Tandem only)",
           .doc = "Back-off before a crashed proxy worker or VRRP agent is restarted.",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_restart_"
                         "delay_initial_is_the_first_restart_delay",
           .child = "supervisor.restart_delay"},
          {.block = "supervisor",
           .key = "reload_timeout",
           .type = "duration (bare number = seconds), 1s to 1h",
           .defaultValue = "15s",
           .example = "reload_timeout: 30s",
           .equivalent = "none (Tandem only)",
           .doc = "How long a reload waits for the new proxy worker to report ready; past it the "
                  "reload fails, the new worker is killed, sockets only the new configuration "
                  "opened are closed and the running generation keeps serving.",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_reload_"
                         "timeout_fails_a_reload_whose_worker_is_not_ready"},
          {.block = "supervisor.control_socket",
           .key = "path",
           .type = "file path (1-100 characters)",
           .defaultValue = "/run/tandem/tandem.sock",
           .example = "path: /run/tandem/tandem.sock",
           .equivalent = "none (Tandem only)",
           .doc = "Path of the supervisor's control socket, as the bare-string form.",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_control_"
                         "socket_path_is_where_status_and_reload_connect"},
          {.block = "supervisor.control_socket",
           .key = "mode",
           .type = "octal file mode string, at most 0777",
           .defaultValue = "0660",
           .example = "mode: \"0600\"",
           .equivalent = "none (Tandem only)",
           .doc = "Permission bits of the control socket file, written as an octal string; who can "
                  "connect may read status and trigger reloads.",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_control_"
                         "socket_mode_lets_other_users_connect"},
          {.block = "supervisor.probe",
           .key = "type",
           .type = "one of auto, tcp, http, none",
           .defaultValue = "auto",
           .example = "type: http",
           .equivalent = "none (Tandem only)",
           .doc = "How the proxy is probed: tcp connects, http sends GET uri and counts any HTTP "
                  "status line as alive, none disables the probe (liveness is the worker process "
                  "alone). auto probes a configured address over TCP, otherwise the first non-TLS "
                  "wildcard or loopback bind with HTTP for an http frontend and TCP for a tcp one.",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_probe_type_"
                         "none_disables_the_probe"},
          {.block = "supervisor.probe",
           .key = "address",
           .type = "address:port (literal, non-wildcard IP)",
           .defaultValue =
               "none (the first wildcard or loopback bind, wildcard probed on 127.0.0.1 or ::1)",
           .example = "address: \"127.0.0.1:80\"",
           .equivalent = "none (Tandem only)",
           .doc = "Where the probe connects; required with type http. A bind on a virtual IP "
                  "cannot be probed on the backup node, so point it at a local listener.",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_probe_"
                         "address_is_the_probe_target"},
          {.block = "supervisor.probe",
           .key = "uri",
           .type = "string (path starting with /)",
           .defaultValue = "/",
           .example = "uri: /health",
           .equivalent = "none (Tandem only)",
           .doc = "Request path of an HTTP probe.",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_probe_uri_"
                         "is_the_request_path"},
          {.block = "supervisor.probe",
           .key = "host",
           .type = "string",
           .defaultValue = "localhost",
           .example = "host: www.example.com",
           .equivalent = "none (Tandem only)",
           .doc = "Host header of an HTTP probe, for routing rules that depend on it.",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_probe_host_"
                         "is_the_host_header"},
          {.block = "supervisor.probe",
           .key = "interval",
           .type = "duration (bare number = milliseconds), 10ms to 1h",
           .defaultValue = "200ms",
           .example = "interval: 100ms",
           .equivalent = "keepalived: vrrp_script interval",
           .doc = "Pause between the end of one probe and the start of the next.",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_probe_"
                         "interval_spaces_the_probes"},
          {.block = "supervisor.probe",
           .key = "timeout",
           .type = "duration (bare number = milliseconds), 1ms to 1h",
           .defaultValue = "200ms",
           .example = "timeout: 100ms",
           .equivalent = "keepalived: vrrp_script timeout",
           .doc = "Time allowed for the connect and, for HTTP, again for the status line; running "
                  "out counts as a failed probe.",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_probe_"
                         "timeout_allows_a_slow_status_line"},
          {.block = "supervisor.probe",
           .key = "fall",
           .type = "integer 1-100",
           .defaultValue = "2",
           .example = "fall: 3",
           .equivalent = "keepalived: vrrp_script fall",
           .doc = "Consecutive failed probes that mark the local proxy down (reported to the VRRP "
                  "agent at once).",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_probe_fall_"
                         "is_the_failures_that_mark_the_proxy_down"},
          {.block = "supervisor.probe",
           .key = "rise",
           .type = "integer 1-100",
           .defaultValue = "2",
           .example = "rise: 3",
           .equivalent = "keepalived: vrrp_script rise",
           .doc = "Consecutive successful probes that mark the local proxy up again.",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_probe_rise_"
                         "is_the_successes_that_mark_the_proxy_up"},
          {.block = "supervisor.restart_delay",
           .key = "initial",
           .type = "duration (bare number = milliseconds), 10ms to 1h",
           .defaultValue = "100ms",
           .example = "initial: 200ms",
           .equivalent = "none (Tandem only)",
           .doc = "Delay before the first restart of a crashed child; it doubles after each "
                  "further crash and returns to this value after a run of 5 s or more.",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_restart_"
                         "delay_initial_is_the_first_restart_delay"},
          {.block = "supervisor.restart_delay",
           .key = "max",
           .type = "duration (bare number = milliseconds), 10ms to 24h",
           .defaultValue = "10s",
           .example = "max: 30s",
           .equivalent = "none (Tandem only)",
           .doc = "Cap of the doubling restart delay of the VRRP agent; the proxy worker's delay "
                  "is capped at the smaller of this and 1 s, since clients queue on its sockets "
                  "meanwhile.",
           .effectTest = "tests/appliance/"
                         "supervisor_keys_test.py::SupervisorKeysTest::test_supervisor_restart_"
                         "delay_max_caps_the_doubling"},
      }};
  return part;
}

}  // namespace tandem::appliance::reference
