// %[ssl_c_*] in header values: known names, the certificate's values, nothing that could
// split a header.
#include "proxy/sample_fetch.h"

#include <gtest/gtest.h>

namespace tandem::proxy {
namespace {

TEST(SampleFetchTest, KnownFetchesAreFilledInAndOthersRefused) {
  std::string unknown;
  EXPECT_TRUE(fetchesKnown("dn=%[ssl_c_s_dn];fp=%[ssl_c_sha256]", &unknown));
  EXPECT_TRUE(fetchesKnown("no fetch at all", &unknown));
  EXPECT_FALSE(fetchesKnown("%[req.hdr(host)]", &unknown));
  EXPECT_EQ(unknown, "req.hdr(host)");
  EXPECT_FALSE(fetchesKnown("%[ssl_c_s_dn", &unknown)) << "unterminated";

  PeerCertificate c{true, 0, "/O=Example/CN=billing", "ABCD"};
  EXPECT_EQ(
      expandFetches("dn=%[ssl_c_s_dn] fp=%[ssl_c_sha256] v=%[ssl_c_verify] u=%[ssl_c_used]", &c),
      "dn=/O=Example/CN=billing fp=ABCD v=0 u=1");
  EXPECT_EQ(expandFetches("u=%[ssl_c_used] dn=%[ssl_c_s_dn]", nullptr), "u=0 dn=");
  PeerCertificate none;
  EXPECT_EQ(expandFetches("%[ssl_c_verify]", &none), "") << "no certificate, no result";
  PeerCertificate evil{true, 0, "/CN=a\r\nX-Admin: yes\0", ""};
  EXPECT_EQ(expandFetches("%[ssl_c_s_dn]", &evil), "/CN=aX-Admin: yes");
}

}  // namespace
}  // namespace tandem::proxy
