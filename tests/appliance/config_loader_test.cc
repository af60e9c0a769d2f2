#include "appliance/config/config_loader.h"

#include <gtest/gtest.h>

#include <string>

namespace tandem::appliance {
namespace {

using namespace std::chrono_literals;

const std::string kExamples = std::string(TANDEM_SOURCE_DIR) + "/examples/";

std::string errorsOf(const LoadResult& r) {
  std::string s;
  for (const auto& d : r.diagnostics.all()) s += d.format() + "\n";
  return s;
}

TEST(ConfigLoader, ShippedFullExampleLoads) {
  LoadResult r = loadConfigFile(kExamples + "tandem.yaml");
  ASSERT_TRUE(r.config) << errorsOf(r);
  EXPECT_EQ(r.diagnostics.errorCount(), 0u);
  const Config& c = *r.config;
  // Listens become a frontend and a backend of the same name.
  ASSERT_EQ(c.proxy.frontends.size(), 3u);
  EXPECT_EQ(c.proxy.frontends[1].name, "mysql");
  EXPECT_EQ(c.proxy.frontends[1].defaultBackend, "mysql");
  EXPECT_EQ(c.proxy.backends.size(), 7u);
  ASSERT_EQ(c.vrrp.instances.size(), 1u);
  EXPECT_EQ(c.vrrp.instances[0].advertInterval, 100ms);
  EXPECT_EQ(c.vrrp.instances[0].unicastPeers.size(), 1u);
  EXPECT_TRUE(c.proxy.stats.has_value());
  EXPECT_TRUE(c.proxy.prometheus.has_value());
}

TEST(ConfigLoader, ShippedMinimalExampleLoads) {
  LoadResult r = loadConfigFile(kExamples + "minimal.yaml");
  ASSERT_TRUE(r.config) << errorsOf(r);
  EXPECT_EQ(r.diagnostics.all().size(), 0u) << errorsOf(r);
}

TEST(ConfigLoader, FullExampleMapsOntoTypedStructs) {
  LoadResult r = loadConfigFile(kExamples + "tandem.yaml");
  ASSERT_TRUE(r.config) << errorsOf(r);
  const auto& www = r.config->proxy.frontends[0];
  EXPECT_EQ(www.binds.size(), 3u);
  EXPECT_TRUE(www.binds[2].ssl);
  ASSERT_EQ(www.binds[2].certificates.size(), 1u);
  EXPECT_NE(www.binds[2].certificates[0].find("examples/certs/demo.pem"), std::string::npos);
  EXPECT_EQ(www.binds[1].endpoint.ip->family, AF_INET6);
  // Blocklist networks come from the file.
  EXPECT_EQ(www.acls.at("blocked").networks.size(), 2u);
  // ssl_fc is a built-in ACL added on use.
  EXPECT_EQ(www.acls.at("ssl_fc").kind, proxy::Acl::Kind::Ssl);
  EXPECT_EQ(www.httpRequest[0].action, proxy::HttpRequestRule::Action::Redirect);
  EXPECT_TRUE(www.httpRequest[0].guard.negate);
  EXPECT_EQ(www.httpRequest[0].status, 301);
  EXPECT_EQ(www.rateLimits.at("per_ip").limit, 100u);
  EXPECT_EQ(www.rateLimits.at("per_ip").size, 100u * 1024);

  const auto& web = r.config->proxy.backends[0];
  ASSERT_TRUE(web.check.has_value());
  EXPECT_EQ(web.check->type, health::CheckType::Http);
  EXPECT_EQ(web.check->expects.size(), 2u);
  EXPECT_EQ(web.servers[0].check.inter, 3s);
  EXPECT_TRUE(web.servers[2].backup);
  EXPECT_EQ(web.servers[1].slowstart, 60s);
  EXPECT_EQ(r.config->proxy.errorFiles.size(), 3u);

  const auto& smtp = r.config->proxy.backends[4];
  ASSERT_TRUE(smtp.check.has_value());
  ASSERT_EQ(smtp.check->steps.size(), 5u);
  EXPECT_EQ(smtp.check->steps[2].data, "EHLO tandem\r\n");
  EXPECT_EQ(smtp.check->steps[0].port, 25);
}

TEST(ConfigLoader, DefaultsAreInheritedAndOverridable) {
  LoadResult r = loadConfigString(R"(
defaults:
  mode: tcp
  timeout: { connect: 3s, server: 1m }
  retries: 5
frontends:
  db:
    bind: "127.0.0.1:3307"
    timeout: { client: 20s }
    default_backend: db
backends:
  db:
    retries: 1
    servers: [ { name: a, address: "127.0.0.1:3306" } ]
)",
                                  "defaults.yaml");
  ASSERT_TRUE(r.config) << errorsOf(r);
  const auto& fe = r.config->proxy.frontends[0];
  const auto& be = r.config->proxy.backends[0];
  EXPECT_EQ(fe.mode, proxy::Mode::Tcp);
  EXPECT_EQ(fe.timeouts.connect, 3s);
  EXPECT_EQ(fe.timeouts.client, 20s);
  EXPECT_EQ(be.timeouts.server, 60s);
  EXPECT_EQ(be.retries, 1);
}

TEST(ConfigLoader, BareNumbersFollowHAProxyAndKeepalivedUnits) {
  LoadResult r = loadConfigString(R"(
defaults:
  timeout: { connect: 5000 }
frontends:
  web: { bind: "127.0.0.1:8080", default_backend: app }
backends:
  app: { servers: [ { name: a, address: "127.0.0.1:1" } ] }
vrrp:
  scripts:
    chk: { command: /bin/true, interval: 2 }
  instances:
    VI_1:
      interface: eth0
      virtual_router_id: 7
      version: 2
      advert_int: 1
      authentication: { type: PASS, password: secret }
      virtual_ipaddress: 198.18.0.100/24
      track_script: [ { name: chk, weight: -30 } ]
)",
                                  "units.yaml");
  ASSERT_TRUE(r.config) << errorsOf(r);
  EXPECT_EQ(r.config->proxy.frontends[0].timeouts.connect, 5s);  // milliseconds
  EXPECT_EQ(r.config->vrrp.scripts[0].interval, 2s);             // seconds
  EXPECT_EQ(r.config->vrrp.instances[0].advertInterval, 1s);
  EXPECT_EQ(r.config->vrrp.instances[0].authPassword, "secret");
  EXPECT_EQ(r.config->vrrp.instances[0].trackScripts[0].weight, -30);
}

TEST(ConfigLoader, ServersAreCheckedWhenTheBackendDefinesACheck) {
  LoadResult r = loadConfigString(R"(
frontends:
  web: { bind: "127.0.0.1:8080", default_backend: app }
backends:
  app:
    check: { type: redis, fall: 4 }
    servers:
      - { name: a, address: "127.0.0.1:1" }
      - { name: b, address: "127.0.0.1:2", check: false }
      - { name: c, address: "127.0.0.1:3", check: { rise: 5, port: 9000, addr: 127.0.0.2 } }
)",
                                  "checks.yaml");
  ASSERT_TRUE(r.config) << errorsOf(r);
  const auto& s = r.config->proxy.backends[0].servers;
  EXPECT_TRUE(s[0].check.enabled);
  EXPECT_EQ(s[0].check.fall, 4);
  EXPECT_FALSE(s[1].check.enabled);
  EXPECT_EQ(s[2].check.rise, 5);
  EXPECT_EQ(s[2].check.fall, 4);
  EXPECT_EQ(s[2].check.port, 9000);
  EXPECT_EQ(*s[2].check.addr, "127.0.0.2");
}

}  // namespace
}  // namespace tandem::appliance
