// The `supervisor:` section: how `tandem run` watches its children.
#include "appliance/schema.h"

namespace tandem::appliance::schema {

using namespace std::chrono_literals;

void readSupervisor(LoaderState& st, const YAML::Node& node, SupervisorConfig* out) {
  MapReader m(st.yaml, node, "supervisor");
  if (!m.valid()) return;
  if (YAML::Node c = m.get("control_socket"); c.IsDefined()) {
    if (c.IsScalar()) {
      if (auto s = readString(st.yaml, c, m.pathOf("control_socket"))) out->controlSocket = *s;
    } else {
      MapReader cm(st.yaml, c, m.pathOf("control_socket"));
      cm.string("path", &out->controlSocket);
      readFileMode(st, cm, "mode", &out->controlMode);
      cm.finish();
    }
    if (out->controlSocket.empty() || out->controlSocket.size() > 100)
      st.yaml.error(c, m.pathOf("control_socket"),
                    "a unix socket path must be 1 to 100 characters long");
  }
  if (YAML::Node p = m.get("probe"); p.IsDefined()) {
    MapReader pm(st.yaml, p, m.pathOf("probe"));
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
    MapReader rm(st.yaml, r, m.pathOf("restart_delay"));
    // At least 10 ms: a child failing at start-up must never be re-forked in a tight loop.
    rm.duration("initial", &out->restartDelay, DefaultUnit::Milliseconds, 10ms, 1h);
    rm.duration("max", &out->restartDelayMax, DefaultUnit::Milliseconds, 10ms, 24h);
    rm.finish();
  }
  m.duration("reload_timeout", &out->reloadTimeout, DefaultUnit::Seconds, 1s, 1h);
  m.finish();
}

}  // namespace tandem::appliance::schema
