#!/usr/bin/env python3
"""testssl.sh (Debian's testssl.sh) against a TLS bind with nothing but `crt:` — the defaults an
operator gets — and against one offering h2: protocols, cipher lists, forward secrecy, server
defaults and every vulnerability check. No finding of Tandem's TLS may be rated HIGH or
CRITICAL. Findings about the test certificate itself (self-signed, so untrusted; valid for two
days; no revocation URLs) say nothing of the proxy and are left out."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import Backend, Tandem, free_port, make_cert  # noqa

CTEST_TIMEOUT = 600

# The certificate's own properties, not the server's configuration.
CERTIFICATE_FINDINGS = {"cert_trust", "cert_chain_of_trust", "cert_expirationStatus",
                        "cert_notAfter", "cert_revocation", "cert_ocspURL",
                        "cert_crlDistributionPoints", "cert_certificateTransparency"}


class TestsslTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-testssl-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        pem, _ = make_cert(cls.tmp, "site", "site.test", ["site.test"])
        cls.web = Backend("web", cls.tmp)
        cls.addClassCleanup(cls.web.stop)
        cls.plain, cls.h2 = free_port(), free_port()
        cls.tandem = Tandem(f"""
frontends:
  site:
    bind:
      - {{ address: "127.0.0.1:{cls.plain}", crt: "{pem}" }}
      - {{ address: "127.0.0.1:{cls.h2}", crt: "{pem}", alpn: [ h2, http/1.1 ] }}
    default_backend: web
backends:
  web:
    servers: [ {{ name: w1, address: "{cls.web.address}" }} ]
""", cls.tmp, [cls.plain, cls.h2])
        cls.addClassCleanup(cls.tandem.stop)

    def findings(self, port):
        out = os.path.join(self.tmp, f"testssl-{port}.json")
        r = subprocess.run(["testssl", "--quiet", "--color", "0", "--warnings", "off",
                            "--jsonfile-pretty", out,
                            "-p", "-s", "-f", "-S", "-U", f"127.0.0.1:{port}"],
                           capture_output=True, text=True, timeout=500)
        self.assertTrue(os.path.exists(out), r.stdout[-2000:] + r.stderr[-2000:])
        with open(out) as f:
            report = json.load(f)
        scan = report["scanResult"][0]
        found = []
        for section, items in scan.items():
            if isinstance(items, list):
                found += [i for i in items if isinstance(i, dict) and "severity" in i]
        # It did test: the protocols it saw, and the vulnerability checks ran.
        ids = {f["id"] for f in found}
        self.assertIn("TLS1_3", ids, r.stdout[-2000:])
        self.assertIn("heartbleed", ids, r.stdout[-2000:])
        return found

    def check(self, port):
        bad = [f"{f['id']}: {f.get('finding')}" for f in self.findings(port)
               if f["severity"] in ("HIGH", "CRITICAL") and f["id"] not in CERTIFICATE_FINDINGS]
        self.assertEqual(bad, [], "testssl.sh rates these HIGH or CRITICAL")

    def test_default_tls_bind_has_no_high_or_critical_finding(self):
        self.check(self.plain)

    def test_h2_tls_bind_has_no_high_or_critical_finding(self):
        self.check(self.h2)


if __name__ == "__main__":
    unittest.main()
