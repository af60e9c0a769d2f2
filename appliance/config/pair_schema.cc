// The `pair:` section: the authenticated channel between the two supervisors of a pair
// (appliance/pair/pair_channel.h).
#include "appliance/config/config_reference.h"
#include "appliance/config/schema.h"

namespace tandem::appliance::schema {

using namespace std::chrono_literals;

namespace {
// A literal, non-wildcard IP:port at `key`.
void readPairEndpoint(LoaderState& st, MapReader& m, std::string_view key, Endpoint* out) {
  YAML::Node n = m.get(key);
  if (!n.IsDefined()) {
    st.yaml.error(m.node(), m.pathOf(key),
                  "the pair channel needs `" + std::string(key) + "` (IP:port)");
    return;
  }
  auto s = readString(st.yaml, n, m.pathOf(key));
  if (!s) return;
  std::string why;
  auto ep = Endpoint::parse(*s, true, &why);
  if (!ep || !ep->ip || ep->ip->isUnspecified())
    st.yaml.error(n, m.pathOf(key),
                  ep ? "expected a literal, non-wildcard address such as 198.18.0.1:7400" : why);
  else
    *out = *ep;
}
}  // namespace

void readPair(LoaderState& st, const YAML::Node& node, PairConfig* out) {
  MapReader m(st.yaml, node, "pair", "pair");
  if (!m.valid()) return;
  out->enabled = true;
  pair::ChannelSettings& c = out->channel;
  readPairEndpoint(st, m, "address", &c.address);
  readPairEndpoint(st, m, "peer", &c.peer);
  if (YAML::Node k = m.get("key_file"); k.IsDefined()) {
    if (auto s = readString(st.yaml, k, m.pathOf("key_file"))) {
      out->keyFile = *s;
      std::string why;
      if (auto key = pair::readPairKeyFile(*s, &why))
        c.key = *key;
      else
        st.yaml.error(k, m.pathOf("key_file"), why);
    }
  } else {
    st.yaml.error(node, m.pathOf("key_file"),
                  "the pair channel needs `key_file` (made by `tandem pair keygen`)");
  }
  m.duration("heartbeat", &c.heartbeat, DefaultUnit::Milliseconds, 100ms, 1min);
  m.duration("dead_after", &c.deadAfter, DefaultUnit::Milliseconds, 200ms, 10min);
  if (c.deadAfter <= c.heartbeat)
    st.yaml.error(m.has("dead_after") ? m.get("dead_after") : node, m.pathOf("dead_after"),
                  "dead_after must be longer than heartbeat (" + formatDuration(c.heartbeat) +
                      "), or the peer would be declared down between two heartbeats");
  if (c.address == c.peer && c.address.port != 0)
    st.yaml.error(m.get("peer"), m.pathOf("peer"),
                  "the peer's address is this node's own pair address");
  m.finish();
}

}  // namespace tandem::appliance::schema

// ---- the configuration reference of the keys read above (config_reference.h) -------------

namespace tandem::appliance::reference {

const Part& pairReference() {
  static const Part part{
      {
          {.id = "pair",
           .title = "Pair channel",
           .doc = "The top-level `pair:` mapping: the channel between the supervisors of the two "
                  "nodes. It is TCP with TLS 1.3 and the pair key as an external pre-shared key "
                  "(with (EC)DHE), so each connection proves both ends hold the key; a "
                  "connection that does not is closed and logged on both nodes, and nothing it "
                  "sent is read. Each node listens on its address and connects to the peer's, "
                  "and sends a heartbeat on its connection every `heartbeat`: its node name, "
                  "version, configuration generation and hash, and VRRP roles. `tandem status` "
                  "shows the peer as last heard (down after `dead_after` without a heartbeat). "
                  "In a `nodes:` file, address and peer go in each node's part."},
      },
      {
          {.block = "root",
           .key = "pair",
           .type = "mapping",
           .defaultValue = "none (no pair channel)",
           .example = "pair: { address: \"198.18.0.1:7400\", peer: \"198.18.0.2:7400\", key_file: "
                      "/etc/tandem/pair.key }",
           .equivalent = "none (HAProxy's peers section is unauthenticated; keepalived has none)",
           .doc = "The authenticated channel to the other node of the pair.",
           .effectTest = "tests/appliance/pair_test.py::PairChannelTest::test_status_shows_the_"
                         "peer_heard_over_the_channel",
           .child = "pair"},
          {.block = "pair",
           .key = "address",
           .type = "IP:port",
           .defaultValue = "none (required)",
           .example = "address: \"198.18.0.1:7400\"",
           .equivalent = "HAProxy: peers section, this node's `peer NAME IP:PORT` line",
           .doc = "Where this node's supervisor listens for the peer (a literal address).",
           .effectTest = "tests/appliance/pair_test.py::PairChannelTest::test_status_shows_the_"
                         "peer_heard_over_the_channel"},
          {.block = "pair",
           .key = "peer",
           .type = "IP:port",
           .defaultValue = "none (required)",
           .example = "peer: \"198.18.0.2:7400\"",
           .equivalent = "HAProxy: peers section, the other node's `peer NAME IP:PORT` line",
           .doc = "Where the peer's supervisor listens; this node connects there.",
           .effectTest = "tests/appliance/pair_test.py::PairChannelTest::test_status_shows_the_"
                         "peer_heard_over_the_channel"},
          {.block = "pair",
           .key = "key_file",
           .type = "file path",
           .defaultValue = "none (required)",
           .example = "key_file: /etc/tandem/pair.key",
           .equivalent = "none (HAProxy peers and keepalived have no authentication)",
           .doc = "The pair key, made once by `tandem pair keygen --out FILE` and copied to both "
                  "nodes. The file must not be readable by group or others; `tandem check` "
                  "reads it. Nodes with different keys never talk: both log the failed "
                  "handshake, and status names the key by a fingerprint, never the key.",
           .effectTest = "tests/appliance/pair_test.py::PairChannelTest::test_a_wrong_key_is_"
                         "refused_and_logged_on_both_nodes"},
          {.block = "pair",
           .key = "heartbeat",
           .type = "duration",
           .defaultValue = "1s",
           .example = "heartbeat: 500ms",
           .equivalent = "none",
           .doc = "How often this node sends its heartbeat (and retries a lost connection).",
           .effectTest = "tests/appliance/pair_test.py::PairChannelTest::test_heartbeat_and_dead_"
                         "after_time_the_peer"},
          {.block = "pair",
           .key = "dead_after",
           .type = "duration",
           .defaultValue = "3s",
           .example = "dead_after: 3s",
           .equivalent = "none",
           .doc = "The peer is shown down when no heartbeat came for this long; must be longer "
                  "than heartbeat.",
           .effectTest = "tests/appliance/pair_test.py::PairChannelTest::test_heartbeat_and_dead_"
                         "after_time_the_peer"},
      }};
  return part;
}

}  // namespace tandem::appliance::reference
