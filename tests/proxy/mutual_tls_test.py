#!/usr/bin/env python3
"""Mutual TLS on a bind, with real curl clients and certificates made by the openssl CLI:
`verify: required` refuses a client without a good certificate, `verify: optional` lets ACLs
route on it (ssl_c_used, ssl_c_verify, ssl_c_s_dn, ssl_c_sha256), header values carry it to
the servers (%[ssl_c_s_dn], %[ssl_c_sha256], %[ssl_c_verify]), and `crl_file` refuses a
revoked certificate."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import Backend, Tandem, curl, free_port, make_cert  # noqa


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60, cwd=cwd)


def make_pki(d):
    """A client CA, two clients it signs (one then revoked, in crl.pem), and a client of
    another CA."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "2",
                "-subj", f"/CN=Test {ca}", cwd=d)
    for name, ca, subject in (("good", "ca", "/O=Example/CN=billing"),
                              ("revoked", "ca", "/O=Example/CN=gone"),
                              ("stranger", "other-ca", "/O=Elsewhere/CN=billing")):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
                cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", cwd=d)
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\n"
                "default_md = sha256\ndefault_crl_days = 2\n")
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "crlnumber"), "w") as f:
        f.write("01\n")
    openssl("ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.crt", "-revoke",
            "revoked.crt", cwd=d)
    openssl("ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.crt", "-gencrl",
            "-out", "crl.pem", cwd=d)


def fingerprint(path):
    r = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-fingerprint", "-sha256"],
                       capture_output=True, text=True, check=True)
    return r.stdout.strip().split("=", 1)[1]  # "AB:CD:..."


class MutualTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-mtls-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        make_pki(cls.tmp)
        cls.backend = Backend("b1", cls.tmp)
        cls.addClassCleanup(cls.backend.stop)
        pem, _ = make_cert(cls.tmp)
        p = {k: free_port() for k in ("required", "optional", "crl")}
        cls.p = p
        cls.pin = fingerprint(os.path.join(cls.tmp, "good.crt"))
        headers = """      - { set_header: { name: X-Client-DN, value: "%[ssl_c_s_dn]" } }
      - { set_header: { name: X-Client-SHA256, value: "%[ssl_c_sha256]" } }
      - { set_header: { name: X-Client-Verify, value: "verify=%[ssl_c_verify]" } }"""
        cfg = f"""
global: {{ log: {{ target: stderr, level: info }} }}
frontends:
  required:
    bind: [ {{ address: "127.0.0.1:{p['required']}", crt: "{pem}", ca_file: ca.crt }} ]
    http_request:
{headers}
    default_backend: app
  optional:
    bind: [ {{ address: "127.0.0.1:{p['optional']}", crt: "{pem}", ca_file: ca.crt,
               verify: optional }} ]
    acls:
      has_cert: {{ ssl_c_used: true }}
      verified: {{ ssl_c_verify: [ 0 ] }}
      billing: {{ ssl_c_s_dn: [ "/O=Example/CN=billing" ] }}
      pinned: {{ ssl_c_sha256: [ "{cls.pin}" ] }}
    http_request:
      - {{ deny: {{ status: 401 }}, unless: has_cert }}
      - {{ deny: {{ status: 403 }}, unless: verified }}
      - {{ set_header: {{ name: X-Billing, value: "yes" }}, if: billing }}
      - {{ set_header: {{ name: X-Pinned, value: "yes" }}, if: pinned }}
    default_backend: app
  crl:
    bind: [ {{ address: "127.0.0.1:{p['crl']}", crt: "{pem}", ca_file: ca.crt,
               crl_file: crl.pem }} ]
    default_backend: app
backends:
  app:
    servers: [ {{ name: b1, address: "{cls.backend.address}" }} ]
"""
        cls.tandem = Tandem(cfg, cls.tmp, list(p.values()))
        cls.addClassCleanup(cls.tandem.stop)

    def request(self, port, client=None):
        """(curl's exit code, the backend's view of the request or None)."""
        args = ["-k", "-s", f"https://127.0.0.1:{port}/echo"]
        if client:
            args += ["--cert", os.path.join(self.tmp, f"{client}.crt"),
                     "--key", os.path.join(self.tmp, f"{client}.key")]
        r = curl(*args, "-w", "\n%{http_code}")
        body, _, code = r.stdout.decode().rpartition("\n")
        if r.returncode != 0:
            return r.returncode, None
        if code != "200":
            return int(code), None
        return 0, {k.lower(): v for k, v in json.loads(body)["headers"]}

    def test_required_refuses_a_client_without_a_good_certificate(self):
        for client in (None, "stranger"):
            code, seen = self.request(self.p["required"], client)
            self.assertIsNone(seen, client)
            self.assertNotEqual(code, 0, client)  # the handshake failed: curl's own error
        code, seen = self.request(self.p["required"], "good")
        self.assertEqual(code, 0)
        self.assertEqual(seen["x-client-dn"], "/O=Example/CN=billing")
        self.assertEqual(seen["x-client-sha256"], self.pin.replace(":", ""))
        self.assertEqual(seen["x-client-verify"], "verify=0")

    def test_optional_lets_acls_route_on_the_certificate(self):
        self.assertEqual(self.request(self.p["optional"])[0], 401)  # no certificate
        self.assertEqual(self.request(self.p["optional"], "stranger")[0], 403)  # unknown issuer
        code, seen = self.request(self.p["optional"], "good")
        self.assertEqual(code, 0)
        self.assertEqual((seen.get("x-billing"), seen.get("x-pinned")), ("yes", "yes"))
        # The same CA, another subject and fingerprint: no header.
        code, seen = self.request(self.p["optional"], "revoked")  # no crl_file here
        self.assertEqual(code, 0)
        self.assertEqual((seen.get("x-billing"), seen.get("x-pinned")), (None, None))

    def test_a_revoked_certificate_is_refused(self):
        self.assertEqual(self.request(self.p["crl"], "good")[0], 0)
        code, seen = self.request(self.p["crl"], "revoked")
        self.assertIsNone(seen)
        self.assertNotEqual(code, 0)


if __name__ == "__main__":
    unittest.main()
