#include "proxy/admin_command.h"

#include <gtest/gtest.h>

namespace tandem::proxy {
namespace {

using K = AdminCommand::Kind;

TEST(AdminCommand, HaproxyRuntimeApiSubset) {
  EXPECT_EQ(parseAdminCommand("").kind, K::Help);
  EXPECT_EQ(parseAdminCommand("help").kind, K::Help);
  EXPECT_EQ(parseAdminCommand("show servers state").kind, K::ShowServers);
  AdminCommand d = parseAdminCommand("disable server app/web1\r");
  EXPECT_EQ(d.kind, K::SetState);
  EXPECT_EQ(d.backend, "app");
  EXPECT_EQ(d.server, "web1");
  EXPECT_EQ(d.state, "maint");
  EXPECT_EQ(parseAdminCommand("enable  server\tapp/web1").state, "ready");
  AdminCommand s = parseAdminCommand("set server app/web1 state drain");
  EXPECT_EQ((s.kind == K::SetState && s.state == "drain"), true);
  AdminCommand w = parseAdminCommand("set server app/web1 weight 256");
  EXPECT_EQ(w.kind, K::SetWeight);
  EXPECT_EQ(w.weight, 256);
  AdminCommand o = parseAdminCommand("set ssl ocsp-response MIIB+w==");
  EXPECT_EQ(o.kind, K::SetOcspResponse);
  EXPECT_EQ(o.payload, "MIIB+w==");
  EXPECT_EQ(parseAdminCommand("set ssl ocsp-response").kind, K::Unknown);
  AdminCommand cert = parseAdminCommand("set ssl cert /etc/a.pem <<", "-----BEGIN...\n");
  EXPECT_EQ(cert.kind, K::SetSslCert);
  EXPECT_EQ(cert.file, "/etc/a.pem");
  EXPECT_EQ(cert.payload, "-----BEGIN...\n");
  EXPECT_EQ(parseAdminCommand("set ssl cert /etc/a.pem").kind, K::Unknown);  // no payload mark
  EXPECT_EQ(parseAdminCommand("commit ssl cert /etc/a.pem").kind, K::CommitSslCert);
  EXPECT_EQ(parseAdminCommand("abort ssl cert /etc/a.pem").file, "/etc/a.pem");
}

TEST(AdminCommand, BadArgumentsAreNamed) {
  EXPECT_EQ(parseAdminCommand("set server app/web1 state up").kind, K::BadState);
  for (const char* bad : {"257", "-1", "1x", "99999999999999999999", "0x10"})
    EXPECT_EQ(parseAdminCommand(std::string("set server a/b weight ") + bad).kind, K::BadWeight)
        << bad;
  for (const char* unknown : {"show servers", "disable server app", "disable server /web1",
                              "disable server app/", "set server app/web1 color red", "shutdown"})
    EXPECT_EQ(parseAdminCommand(unknown).kind, K::Unknown) << unknown;
}

}  // namespace
}  // namespace tandem::proxy
