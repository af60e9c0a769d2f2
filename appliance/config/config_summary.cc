#include "appliance/config/config_summary.h"

#include <sstream>

namespace tandem::appliance {
namespace {

const char* checkName(health::CheckType t) {
  switch (t) {
    case health::CheckType::Tcp:
      return "tcp";
    case health::CheckType::Http:
      return "http";
    case health::CheckType::TcpScript:
      return "tcp-script";
    case health::CheckType::Mysql:
      return "mysql";
    case health::CheckType::Redis:
      return "redis";
  }
  return "?";
}

}  // namespace

std::string summarizeConfig(const Config& c) {
  std::ostringstream o;
  o << "configuration " << c.sourcePath << "\n";
  o << "  threads " << (c.proxy.threads ? std::to_string(c.proxy.threads) : "auto") << ", maxconn "
    << c.proxy.maxconn << ", admin socket " << c.admin.path << "\n";
  for (const auto& fe : c.proxy.frontends) {
    o << "frontend " << fe.name << " (" << proxy::toString(fe.mode) << ")\n";
    for (const auto& b : fe.binds)
      o << "  bind " << b.endpoint.toString() << (b.ssl ? " ssl" : "") << "\n";
    if (!fe.acls.empty())
      o << "  " << fe.acls.size() << " acl(s), ";
    else
      o << "  ";
    o << fe.httpRequest.size() << " http_request rule(s), " << fe.httpResponse.size()
      << " http_response rule(s), " << fe.rateLimits.size() << " rate-limit table(s)\n";
    for (const auto& u : fe.useBackends)
      o << "  use_backend " << u.backend << (u.guard.negate ? " unless ..." : " if ...") << "\n";
    if (!fe.defaultBackend.empty()) o << "  default_backend " << fe.defaultBackend << "\n";
  }
  for (const auto& be : c.proxy.backends) {
    o << "backend " << be.name << " (" << proxy::toString(be.mode) << ", "
      << proxy::toString(be.balance.algorithm);
    if (be.check) o << ", check " << checkName(be.check->type);
    o << ")\n";
    for (const auto& s : be.servers) {
      o << "  server " << s.name << " " << s.address.toString() << " weight " << s.weight;
      if (s.backup) o << " backup";
      if (s.drain) o << " drain";
      if (s.disabled) o << " disabled";
      if (s.check.enabled)
        o << " check inter " << formatDuration(s.check.inter) << " fall " << s.check.fall
          << " rise " << s.check.rise;
      o << "\n";
    }
  }
  if (c.proxy.stats)
    o << "stats on " << c.proxy.stats->bind.toString() << c.proxy.stats->uri << "\n";
  if (c.proxy.prometheus)
    o << "prometheus on " << c.proxy.prometheus->bind.toString() << c.proxy.prometheus->path
      << "\n";
  for (const auto& in : c.vrrp.instances) {
    o << "vrrp instance " << in.name << ": " << in.interface << " vrid " << int(in.virtualRouterId)
      << " priority " << int(in.priority) << " v" << in.version << " advert "
      << formatDuration(in.advertInterval) << (in.preempt ? "" : " nopreempt")
      << (in.unicastPeers.empty() ? " multicast" : " unicast") << "\n";
    for (const auto& v : in.virtualIps)
      o << "  vip " << v.address.network.toString() << "/" << v.address.prefixLength << "\n";
  }
  return o.str();
}

}  // namespace tandem::appliance
