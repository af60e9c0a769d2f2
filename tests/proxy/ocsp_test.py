#!/usr/bin/env python3
"""OCSP stapling (`crt: X.pem` + a DER response in `X.pem.ocsp`, HAProxy's convention), with a
real CA and real OCSP responses made by the openssl CLI (`openssl ocsp -index`), checked with
openssl s_client -status and curl --cert-status. Proven here:

- a good response beside a certificate is stapled (successful, good, its Next Update) to a
  client that asks, and curl verifies it (signature, certificate id, times); a second
  certificate on the same bind (chosen by SNI, its issuer in `X.pem.issuer`, no .ocsp) gets no
  staple; a client that does not ask gets none and just works; a relative `crt` path finds its
  .ocsp beside it;
- `tandem check -c` exits non-zero naming the .ocsp file and the reason for a response about
  another certificate, a revoked one, an expired one (re-signed by the CA with past times, so
  only its times are wrong), one not yet valid, garbage bytes, and a .ocsp beside a certificate
  whose issuer is nowhere; it exits 0 for the good one and for one 2 minutes past its
  nextUpdate (5 minutes of clock skew are allowed);
- the admin socket's `set ssl ocsp-response <base64>` answers "OCSP Response updated!" and the
  next handshake staples the new response (its Next Update), only for the certificate it is
  about (another certificate's response goes to that certificate alone); a revoked response, one
  about a certificate on no bind, an expired one, DER garbage and non-base64 text are refused
  and the staple stays what it was;
- the admin socket's `set ssl cert FILE <<` (the PEM, an empty line) stages a certificate
  (checked: a key that does not match, or a file no bind serves, is refused) and `commit ssl
  cert FILE` puts it in place: a new connection gets the new certificate, one opened before
  keeps the old one and goes on serving requests; its old OCSP staple is not sent with the
  new certificate; `abort ssl cert` drops a staged one;
- under `tandem run` (the supervisor), a reload reads the .ocsp file again: a fresh response
  written beside the certificate is stapled after `tandem reload`; a revoked one written there
  fails the reload and the running worker keeps stapling the good one.
"""
import base64
import datetime
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import (TANDEM, Backend, Node, Tandem, admin_command, curl, free_port,  # noqa
                     recv_response)

SERIALS = {"site": "1001", "other": "1002", "stray": "1003", "renewed": "1004"}
NAMES = {"site": "site.test", "other": "other.test", "stray": "stray.test",
         "renewed": "site.test"}  # renewed: site.test's next certificate


def openssl(*args, **kw):
    r = subprocess.run(["openssl", *args], capture_output=True, timeout=60, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {r.stderr.decode(errors='replace')}")
    return r.stdout.decode(errors="replace")


def index_time(t):
    return t.strftime("%y%m%d%H%M%SZ")


# A few DER readers: enough of OCSPResponse (RFC 6960 4.2.1) to find its times and signature.
def tlv(buf, pos):
    """(tag, start of the value, end of the element) of the DER element at `pos`."""
    tag = buf[pos]
    n = buf[pos + 1]
    start = pos + 2
    if n & 0x80:
        count = n & 0x7F
        n = int.from_bytes(buf[start:start + count], "big")
        start += count
    return tag, start, start + n


def children(buf, pos):
    _, start, end = tlv(buf, pos)
    out = []
    while start < end:
        out.append(start)
        start = tlv(buf, start)[2]
    return out


def set_time(buf, pos, when):
    tag, start, end = tlv(buf, pos)
    assert tag == 0x18 and end - start == 15, "a GeneralizedTime YYYYMMDDHHMMSSZ"
    buf[start:end] = when.strftime("%Y%m%d%H%M%SZ").encode()


class OcspTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-ocsp-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.ca = os.path.join(cls.tmp, "ca.crt")
        cls.ca_key = os.path.join(cls.tmp, "ca.key")
        # An RSA CA: its signatures have a fixed length, so a response can be re-signed in
        # place after its times are changed (expired_response).
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3", "-subj",
                "/CN=Tandem OCSP test CA", "-keyout", cls.ca_key, "-out", cls.ca)
        cls.crt = {n: cls.issue(n) for n in SERIALS}
        cls.web = Backend("web", cls.tmp)
        cls.addClassCleanup(cls.web.stop)
        cls.count = 0

    @classmethod
    def issue(cls, name):
        """A P-256 certificate for NAMES[name] signed by the CA, with serial SERIALS[name]."""
        key = os.path.join(cls.tmp, f"{name}.key")
        csr = os.path.join(cls.tmp, f"{name}.csr")
        crt = os.path.join(cls.tmp, f"{name}.crt")
        ext = os.path.join(cls.tmp, f"{name}.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName=DNS:{NAMES[name]}\n")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-subj", f"/CN={NAMES[name]}", "-keyout", key, "-out", csr)
        openssl("x509", "-req", "-in", csr, "-CA", cls.ca, "-CAkey", cls.ca_key, "-set_serial",
                "0x" + SERIALS[name], "-days", "2", "-extfile", ext, "-out", crt)
        return crt

    def pem(self, folder, name, issuer_file=False):
        """`folder/name.pem`: the certificate, then the CA (its issuer) and the key; with
        `issuer_file` the CA is in `name.pem.issuer` instead."""
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{name}.pem")
        parts = [self.crt[name]] + ([] if issuer_file else [self.ca]) + \
            [os.path.join(self.tmp, f"{name}.key")]
        with open(path, "w") as out:
            for part in parts:
                with open(part) as f:
                    out.write(f.read())
        if issuer_file:
            shutil.copy(self.ca, path + ".issuer")
        return path

    def response(self, name, status="good", ndays=1):
        """A DER OCSP response of the CA about certificate `name` (status good or revoked),
        valid `ndays` from now, made by `openssl ocsp` as a responder on an index file."""
        self.__class__.count += 1
        base = os.path.join(self.tmp, f"resp{self.count}")
        now = datetime.datetime.now(datetime.timezone.utc)
        expiry = index_time(now + datetime.timedelta(days=2))
        revoked = index_time(now - datetime.timedelta(hours=1)) if status == "revoked" else ""
        with open(base + ".index", "w") as f:
            f.write(f"{'R' if revoked else 'V'}\t{expiry}\t{revoked}\t{SERIALS[name]}\tunknown\t"
                    f"/CN={NAMES[name]}\n")
        openssl("ocsp", "-issuer", self.ca, "-cert", self.crt[name], "-reqout", base + ".req",
                "-no_nonce")
        openssl("ocsp", "-index", base + ".index", "-rsigner", self.ca, "-rkey", self.ca_key,
                "-CA", self.ca, "-reqin", base + ".req", "-respout", base + ".der",
                "-ndays", str(ndays))
        with open(base + ".der", "rb") as f:
            return f.read()

    def retimed_response(self, name, this_update, next_update):
        """A good response about `name` whose producedAt/thisUpdate and nextUpdate are the
        given times, re-signed by the CA: only its times can make it unusable."""
        der = bytearray(self.response(name))
        resp = children(der, 0)  # responseStatus, [0] responseBytes
        rb = children(der, resp[1])[0]  # SEQUENCE { responseType, response OCTET STRING }
        _, basic, _ = tlv(der, children(der, rb)[1])  # BasicOCSPResponse
        tbs, alg, sig = children(der, basic)[:3]
        self.assertIn(bytes.fromhex("2a864886f70d01010b"), der[alg:tlv(der, alg)[2]],
                      "sha256WithRSAEncryption")
        fields = children(der, tbs)  # [0] version?, responderID, producedAt, responses, ...
        produced = next(p for p in fields if der[p] == 0x18)
        set_time(der, produced, this_update)
        single = children(der, children(der, fields[fields.index(produced) + 1])[0])
        set_time(der, single[2], this_update)  # certID, certStatus, thisUpdate, [0] nextUpdate
        self.assertEqual(der[single[3]], 0xA0)
        set_time(der, children(der, single[3])[0], next_update)
        tbs_path = os.path.join(self.tmp, f"tbs{self.count}")
        with open(tbs_path, "wb") as f:
            f.write(der[tbs:tlv(der, tbs)[2]])
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.ca_key, tbs_path],
                                   capture_output=True, timeout=60, check=True).stdout
        _, start, end = tlv(der, sig)
        self.assertEqual(end - start, len(signature) + 1)  # a leading "0 unused bits" byte
        der[start + 1:end] = signature
        der = bytes(der)
        # The CA's signature verifies: the times are what is wrong with it.
        path = os.path.join(self.tmp, f"retimed{self.count}.der")
        with open(path, "wb") as f:
            f.write(der)
        r = subprocess.run(["openssl", "ocsp", "-respin", path, "-CAfile", self.ca, "-issuer",
                            self.ca, "-cert", self.crt[name]], capture_output=True, text=True,
                           timeout=60)
        self.assertIn("Response verify OK", r.stdout + r.stderr)
        return der

    def next_update(self, der):
        """The Next Update line of a response, as openssl prints it."""
        path = os.path.join(self.tmp, "probe.der")
        with open(path, "wb") as f:
            f.write(der)
        text = openssl("ocsp", "-respin", path, "-resp_text", "-noverify")
        return re.search(r"Next Update: (.+)", text).group(1).strip()

    def write(self, path, data):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    def s_client(self, port, name, status=True):
        args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", name,
                "-CAfile", self.ca]
        if status:
            args.append("-status")
        r = subprocess.run(args, input=b"", capture_output=True, timeout=30)
        return r.stdout.decode(errors="replace")

    def stapled_next_update(self, port, name):
        """The Next Update of the staple `name` gets, or None when none is sent."""
        out = self.s_client(port, name)
        self.assertIn(f"CN = {name}", out)
        self.assertIn("Verify return code: 0 (ok)", out)
        if "OCSP response: no response sent" in out:
            return None
        self.assertIn("OCSP Response Status: successful", out)
        self.assertIn("Cert Status: good", out)
        return re.search(r"Next Update: (.+)", out).group(1).strip()

    def proxy_config(self, port, certificates, extra_global=""):
        return f"""
global: {{ threads: 2, log: {{ target: stderr, level: info }}{extra_global} }}
defaults:
  timeout: {{ connect: 1s, client: 10s, server: 10s }}
frontends:
  web:
    bind: [ {{ address: "127.0.0.1:{port}", crt: [ {", ".join(certificates)} ] }} ]
    default_backend: web
backends:
  web:
    servers: [ {{ name: w1, address: "{self.web.address}" }} ]
"""

    def check(self, pem):
        """`tandem check -c` on a config whose TLS bind has `pem`: (exit code, output)."""
        cfg = os.path.join(os.path.dirname(pem), "check.yaml")
        with open(cfg, "w") as f:
            f.write(self.proxy_config(free_port(), [pem]))
        r = subprocess.run([TANDEM, "check", "-c", cfg], capture_output=True, text=True,
                           timeout=60)
        return r.returncode, r.stdout + r.stderr

    def test_a_response_beside_the_certificate_is_stapled(self):
        folder = os.path.join(self.tmp, "stapled")
        site = self.pem(folder, "site")
        other = self.pem(folder, "other", issuer_file=True)  # no other.pem.ocsp
        good = self.response("site", ndays=1)
        self.write(site + ".ocsp", good)
        port = free_port()
        # site.pem by a path relative to the config's folder: its .ocsp is found beside it.
        proxy = Tandem(self.proxy_config(port, ["site.pem", other]), folder, [port])
        self.addCleanup(proxy.stop)

        self.assertEqual(self.stapled_next_update(port, "site.test"), self.next_update(good))
        # Per certificate: SNI picks other.pem, which has no response to staple.
        self.assertIsNone(self.stapled_next_update(port, "other.test"))
        # A client that does not ask gets no staple and the handshake is as usual.
        out = self.s_client(port, "site.test", status=False)
        self.assertIn("Verify return code: 0 (ok)", out)
        self.assertNotIn("OCSP response", out)
        self.assertNotIn("OCSP Response", out)
        # curl checks the staple (the CA's signature, the certificate id, the times) and
        # fails without one.
        url = ["--cacert", self.ca, "--resolve", f"site.test:{port}:127.0.0.1",
               "--resolve", f"other.test:{port}:127.0.0.1"]
        r = curl(*url, "--cert-status", f"https://site.test:{port}/")
        self.assertEqual((r.returncode, r.stdout.split()[:1]), (0, [b"web"]), r.stderr)
        r = curl(*url, "--cert-status", f"https://other.test:{port}/")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"OCSP", r.stderr)
        r = curl(*url, f"https://other.test:{port}/")
        self.assertEqual((r.returncode, r.stdout.split()[:1]), (0, [b"web"]), r.stderr)
        self.assertIsNone(proxy.proc.poll())

    def test_check_refuses_a_response_that_does_not_fit(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        day, minute = datetime.timedelta(days=1), datetime.timedelta(minutes=1)
        cases = {
            "another": (self.response("stray"), "it is about another certificate"),
            "revoked": (self.response("site", "revoked"), "it says the certificate is revoked"),
            "expired": (self.retimed_response("site", now - 2 * day, now - day),
                        "it is out of date"),
            "future": (self.retimed_response("site", now + 10 * minute, now + day),
                       "it is out of date"),
            "garbage": (os.urandom(300), "not a DER OCSP response"),
            "good": (self.response("site"), None),
            "skewed": (self.retimed_response("site", now - day, now - 2 * minute), None),
        }
        for case, (der, why) in cases.items():
            with self.subTest(case=case):
                site = self.pem(os.path.join(self.tmp, "check-" + case), "site")
                self.write(site + ".ocsp", der)
                code, out = self.check(site)
                if why is None:
                    self.assertEqual(code, 0, out)
                else:
                    self.assertNotEqual(code, 0, out)
                    self.assertIn(f"OCSP response '{site}.ocsp': {why}", out)
        with self.subTest(case="no issuer"):
            # The certificate alone (no chain, no .issuer): the response cannot be checked.
            folder = os.path.join(self.tmp, "check-no-issuer")
            os.makedirs(folder)
            site = os.path.join(folder, "site.pem")
            with open(site, "w") as out:
                for part in (self.crt["site"], os.path.join(self.tmp, "site.key")):
                    with open(part) as f:
                        out.write(f.read())
            self.write(site + ".ocsp", self.response("site"))
            code, out = self.check(site)
            self.assertNotEqual(code, 0, out)
            self.assertIn(f"no issuer for '{site}'", out)

    def test_runtime_api_replaces_the_response(self):
        folder = os.path.join(self.tmp, "runtime")
        site = self.pem(folder, "site")
        other = self.pem(folder, "other", issuer_file=True)
        first = self.response("site", ndays=1)
        self.write(site + ".ocsp", first)
        port = free_port()
        sock = os.path.join(folder, "admin.sock")
        proxy = Tandem(self.proxy_config(port, [site, other],
                                         f", admin_socket: {{ path: {sock} }}"), folder, [port])
        self.addCleanup(proxy.stop)

        def api(der):
            line = "set ssl ocsp-response " + base64.b64encode(der).decode()
            return admin_command(sock, line)

        self.assertEqual(self.stapled_next_update(port, "site.test"), self.next_update(first))
        fresh = self.response("site", ndays=3)
        self.assertNotEqual(self.next_update(fresh), self.next_update(first))
        self.assertEqual(api(fresh), "OCSP Response updated!\n")
        self.assertEqual(self.stapled_next_update(port, "site.test"), self.next_update(fresh))
        self.assertIsNone(self.stapled_next_update(port, "other.test"))

        # A response about other.pem's certificate is stapled for other.test alone.
        other_resp = self.response("other", ndays=2)
        self.assertEqual(api(other_resp), "OCSP Response updated!\n")
        self.assertEqual(self.stapled_next_update(port, "other.test"),
                         self.next_update(other_resp))
        self.assertEqual(self.stapled_next_update(port, "site.test"), self.next_update(fresh))

        now = datetime.datetime.now(datetime.timezone.utc)
        refused = {
            "revoked": (api(self.response("site", "revoked")),
                        "OCSP response refused: it says the certificate is revoked.\n"),
            "unrelated": (api(self.response("stray")),
                          "OCSP response refused: it is about another certificate.\n"),
            "expired": (api(self.retimed_response("site", now - datetime.timedelta(days=2),
                                                  now - datetime.timedelta(days=1))),
                        "OCSP response refused: it is out of date (past its nextUpdate, or "
                        "not yet valid).\n"),
            "DER garbage": (api(os.urandom(200)),
                            "OCSP response refused: not a DER OCSP response.\n"),
            "not base64": (admin_command(sock, "set ssl ocsp-response %%not*base64%%"),
                           "'set ssl ocsp-response' expects a base64 response.\n"),
        }
        for case, (answer, want) in refused.items():
            with self.subTest(case=case):
                self.assertEqual(answer, want)
        # The staples are what they were.
        self.assertEqual(self.stapled_next_update(port, "site.test"), self.next_update(fresh))
        self.assertEqual(self.stapled_next_update(port, "other.test"),
                         self.next_update(other_resp))
        self.assertIsNone(proxy.proc.poll())

    def test_set_and_commit_ssl_cert_swap_the_certificate(self):
        folder = os.path.join(self.tmp, "swap")
        site = self.pem(folder, "site")
        self.write(site + ".ocsp", self.response("site"))
        port, sock = free_port(), os.path.join(folder, "admin.sock")
        proxy = Tandem(self.proxy_config(port, [site], f", admin_socket: {{ path: {sock} }}"),
                       folder, [port])
        self.addCleanup(proxy.stop)

        ctx = ssl.create_default_context(cafile=self.ca)
        old = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                              server_hostname="site.test")
        self.addCleanup(old.close)
        self.assertEqual(old.getpeercert()["serialNumber"], SERIALS["site"])
        renewed = os.path.join(folder, "renewed.pem")
        with open(renewed, "w") as out:
            for part in (self.crt["renewed"], self.ca, os.path.join(self.tmp, "renewed.key")):
                with open(part) as f:
                    out.write(f.read())
        with open(renewed) as f:
            pem = f.read()

        def new_serial():
            c = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                server_hostname="site.test")
            with c:
                return c.getpeercert()["serialNumber"]

        # Checked when staged: another certificate's key, a file no bind serves.
        with open(os.path.join(self.tmp, "other.key")) as f:
            wrong_key = pem[:pem.index("-----BEGIN PRIVATE KEY")] + f.read()
        self.assertIn("does not match",
                      admin_command(sock, f"set ssl cert {site} <<\n{wrong_key}\n"))
        self.assertIn("No certificate",
                      admin_command(sock, f"set ssl cert {renewed} <<\n{pem}\n"))
        # Staged, then aborted: nothing changes.
        self.assertIn("Transaction created", admin_command(sock, f"set ssl cert {site} <<\n{pem}\n"))
        self.assertIn("aborted", admin_command(sock, f"abort ssl cert {site}"))
        self.assertIn("No ongoing transaction", admin_command(sock, f"commit ssl cert {site}"))
        self.assertEqual(new_serial(), SERIALS["site"])
        # Staged and committed: new handshakes get it.
        self.assertIn("Transaction created", admin_command(sock, f"set ssl cert {site} <<\n{pem}\n"))
        self.assertEqual(new_serial(), SERIALS["site"])  # not before the commit
        self.assertIn("Success!", admin_command(sock, f"commit ssl cert {site}"))
        self.assertEqual(new_serial(), SERIALS["renewed"])
        self.assertIsNone(self.stapled_next_update(port, "site.test"))  # the old staple is not its
        # The connection opened before keeps its certificate and goes on serving.
        old.sendall(b"GET / HTTP/1.1\r\nHost: site.test\r\n\r\n")
        status, _, _, _ = recv_response(old, 10)
        self.assertEqual(status, 200)
        self.assertEqual(old.getpeercert()["serialNumber"], SERIALS["site"])

    def test_reload_reads_the_file_again(self):
        folder = os.path.join(self.tmp, "reload")
        site = self.pem(folder, "site")
        first = self.response("site", ndays=1)
        self.write(site + ".ocsp", first)
        port = free_port()
        cfg = self.proxy_config(port, [site]).replace("global:", f"""supervisor:
  control_socket: {os.path.join(folder, "node.sock")}
  probe: {{ interval: 100ms, timeout: 200ms }}
global:""").replace("log: {", "hard_stop_after: 2s, log: {")
        node = Node(cfg, folder)
        self.addCleanup(node.stop)
        self.assertEqual(self.stapled_next_update(port, "site.test"), self.next_update(first))

        fresh = self.response("site", ndays=3)
        self.write(site + ".ocsp", fresh)
        code, reply = node.reload()
        self.assertEqual((code, reply.get("ok")), (0, True), reply)
        node.wait(lambda s: not s["draining_workers"], "the old worker to finish")
        self.assertEqual(self.stapled_next_update(port, "site.test"), self.next_update(fresh))

        # A revoked response written there fails the reload: the worker keeps the good one.
        self.write(site + ".ocsp", self.response("site", "revoked"))
        code, reply = node.reload()
        self.assertEqual((code, reply.get("ok")), (1, False), reply)
        self.assertIn(f"OCSP response '{site}.ocsp': it says the certificate is revoked",
                      "\n".join(reply.get("errors", [])))
        self.assertEqual(self.stapled_next_update(port, "site.test"), self.next_update(fresh))


if __name__ == "__main__":
    unittest.main(verbosity=2)
