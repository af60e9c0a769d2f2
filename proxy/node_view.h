// The node around this worker as the supervisor reports it (common/node_status.h): its
// Prometheus families and the stats page's node and pair section. keepalived-exporter names
// and labels (iname, intf, vrid, ip_address) where that exporter has the family, so keepalived
// dashboards and alerts keep working; `tandem_` for the rest. One difference on purpose: the
// exporter labels its counters with the current state, which starts a new series at every
// transition and breaks rate(); ours do not.
#pragma once

#include <cstdint>
#include <string>

#include "common/node_status.h"
#include "proxy/prometheus_text.h"

namespace tandem::proxy {

void appendNodeMetrics(Exposition& e, const NodeStatus& node, int64_t nowUnixMs);
// A <section> for the stats page: generation, last reload, restarts, and each VRRP instance's
// role, priorities, addresses and the peer as last heard. Escaped, no scripts.
std::string nodeHtml(const NodeStatus& node, int64_t nowUnixMs);
int64_t unixNowMs();

}  // namespace tandem::proxy
