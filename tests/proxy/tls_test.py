#!/usr/bin/env python3
"""TLS termination (`bind: [{address, crt}]`), checked with real curl, openssl s_client and
Python's ssl module: HTTPS with ALPN http/1.1 and X-Forwarded-Proto, certificate choice by SNI
(exact and wildcard names, default without SNI), `ssl_fc` routing (redirect plain HTTP to
HTTPS), keep-alive and pipelining over TLS, data integrity 1 KiB - 50 MiB both ways in HTTP and
TCP mode, global.tls.min_version enforced, and garbage or plain HTTP on a TLS port closing only
that connection."""
import base64
import contextlib
import ctypes
import hashlib
import json
import os
import random
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import Backend, Tandem, curl, free_port, get, make_cert  # noqa

SIZES = [1024, 5 * 1024 * 1024, 50 * 1024 * 1024]


def session_ticket_lines(port, cafile, path):
    """Connects with openssl s_client for a second (long enough to read the tickets sent after
    a TLS 1.3 handshake), keeps the session in `path`, and returns how many hexdump lines (16
    bytes each) its ticket has: a stateless ticket (RFC 5077, the session encrypted in it) takes
    ~12, a stateful one (an id into the server's session cache) at most 2; 0 when none came."""
    p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername",
                          "a.test", "-CAfile", cafile, "-sess_out", path, "-ign_eof"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    p.kill()
    p.wait()
    if not os.path.exists(path):
        return 0
    text = subprocess.run(["openssl", "sess_id", "-in", path, "-text", "-noout"],
                          capture_output=True, text=True, timeout=30).stdout
    dump = text.split("TLS session ticket:", 1)[1] if "TLS session ticket:" in text else ""
    return sum(1 for line in dump.splitlines() if line.strip()[:4].isalnum() and " - " in line)


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.a_pem, cls.a_crt = make_cert(cls.tmp, "a", "a.test", ["a.test"])
        cls.b_pem, cls.b_crt = make_cert(cls.tmp, "b", "b.test", ["*.b.test"])
        cls.web = Backend("web", cls.tmp)
        cls.addClassCleanup(cls.web.stop)
        cls.tls_port, cls.http, cls.tcp = free_port(), free_port(), free_port()
        cfg = f"""
global: {{ threads: 2, log: {{ target: stderr, level: info }} }}
defaults:
  timeout: {{ connect: 1s, client: 10s, server: 10s, http_request: 500ms }}
frontends:
  web:
    bind:
      - "127.0.0.1:{cls.http}"
      - {{ address: "127.0.0.1:{cls.tls_port}", crt: [ {cls.a_pem}, {cls.b_pem} ] }}
    http_request:
      - redirect: {{ scheme: https, code: 301 }}
        unless: ssl_fc
    default_backend: web
listens:
  tcptls:
    mode: tcp
    bind: [ {{ address: "127.0.0.1:{cls.tcp}", crt: {cls.a_pem} }} ]
    servers: [ {{ name: w1, address: "{cls.web.address}" }} ]
backends:
  web:
    forwardfor: true
    servers: [ {{ name: w1, address: "{cls.web.address}" }} ]
"""
        cls.proxy = Tandem(cfg, cls.tmp, [cls.http, cls.tls_port, cls.tcp])
        cls.addClassCleanup(cls.proxy.stop)

    def fetch(self, path, *extra, host="a.test", cafile=None, port=None):
        port = port or self.tls_port
        return curl("--cacert", cafile or self.a_crt, "--resolve", f"{host}:{port}:127.0.0.1",
                    *extra, f"https://{host}:{port}{path}")

    def context(self, cafile=None):
        ctx = ssl.create_default_context(cafile=cafile or self.a_crt)
        return ctx

    def test_https_with_alpn_and_forwarded_proto(self):
        r = self.fetch("/echo", "-w", "\n%{http_version} %{http_code}")
        self.assertEqual(r.returncode, 0, r.stderr)
        body, meta = r.stdout.rsplit(b"\n", 1)
        self.assertEqual(meta, b"1.1 200")  # ALPN: curl offers h2, the proxy picks http/1.1
        headers = {k.lower(): v for k, v in json.loads(body)["headers"]}
        self.assertEqual(headers["x-forwarded-proto"], "https")
        self.assertEqual(headers["x-forwarded-for"], "127.0.0.1")
        self.assertEqual(headers["host"], f"a.test:{self.tls_port}")

    def test_sni_picks_the_certificate(self):
        # Verified against each CA file: only the right certificate passes.
        r = self.fetch("/", "-o", "/dev/null", "-w", "%{http_code}", host="x.b.test",
                       cafile=self.b_crt)
        self.assertEqual((r.returncode, r.stdout), (0, b"200"), r.stderr)
        r = self.fetch("/", "-o", "/dev/null", host="a.test", cafile=self.b_crt)
        # a.test gets certificate A, not B: curl's 60 is "peer certificate cannot be
        # authenticated" (any other failure would not prove which certificate came).
        self.assertEqual(r.returncode, 60, r.stderr)
        out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.tls_port}",
                              "-noservername"], input=b"", capture_output=True, timeout=30).stdout
        self.assertIn(b"CN = a.test", out)  # no SNI: the first certificate

    def test_unknown_sni_gets_the_default_certificate(self):
        out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.tls_port}",
                              "-servername", "unknown.test"], input=b"", capture_output=True,
                             timeout=30).stdout
        self.assertIn(b"CN = a.test", out)  # HAProxy's rule: the first certificate
        self.assertNotIn(b"CN = b.test", out)

    def test_session_resumes_with_a_ticket(self):
        # global.tls.tickets defaults to on: a returning client resumes without a full
        # handshake (TLS 1.3 PSK from the ticket).
        sess = os.path.join(self.tmp, "session.pem")
        base = ["openssl", "s_client", "-connect", f"127.0.0.1:{self.tls_port}", "-servername",
                "a.test", "-CAfile", self.a_crt]
        # A stateless ticket (the session encrypted in it, ~190 bytes).
        self.assertGreaterEqual(session_ticket_lines(self.tls_port, self.a_crt, sess), 6)
        again = subprocess.run(base + ["-sess_in", sess], input=b"", capture_output=True,
                               timeout=30).stdout
        self.assertIn(b"Reused, TLSv1.3", again)

    def test_a_session_resumes_only_under_its_own_certificate(self):
        # Each certificate has its own session-id context, and the certificate is chosen (by
        # SNI) before the offered session is judged: a session made with a.test is not taken
        # for x.b.test, with TLS 1.2 or 1.3 (one shared context resumed it there: certificate
        # A's session answering for a name only certificate B may serve).
        for version in ("-tls1_2", "-tls1_3"):
            sess = os.path.join(self.tmp, f"session{version}.pem")
            first = subprocess.Popen(
                ["openssl", "s_client", version, "-connect", f"127.0.0.1:{self.tls_port}",
                 "-servername", "a.test", "-sess_out", sess, "-ign_eof"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)  # the TLS 1.3 tickets come after the handshake
            first.kill()
            first.wait()
            first.stdin.close()

            def handshake(name):
                out = subprocess.run(["openssl", "s_client", version, "-connect",
                                      f"127.0.0.1:{self.tls_port}", "-servername", name,
                                      "-sess_in", sess], input=b"", capture_output=True,
                                     timeout=30).stdout
                return [line for line in out.decode().splitlines()
                        if line.startswith(("Reused,", "New,"))]
            self.assertTrue(handshake("a.test")[0].startswith("Reused"), version)
            self.assertTrue(handshake("x.b.test")[0].startswith("New"), version)

    def test_renegotiation_is_refused(self):
        # TLS 1.2 renegotiation ("R" in s_client) is a CPU lever for a client: refused.
        # The TCP-mode TLS listener: no request timeout to race (same TLS settings).
        p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{self.tcp}",
                              "-servername", "a.test", "-tls1_2", "-CAfile", self.a_crt],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        try:
            time.sleep(0.5)  # handshake done
            p.stdin.write(b"R\n")
            p.stdin.flush()
            time.sleep(1.0)
            out = p.communicate(timeout=20)[0]  # closes stdin: s_client leaves
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertIn(b"RENEGOTIATING", out)
        self.assertIn(b"no renegotiation", out, out[-2000:])

    def test_plain_http_is_redirected_unless_ssl_fc(self):
        status, headers, _, _ = get(self.http, "/path?q=1")
        self.assertEqual(status, 301)
        self.assertEqual(headers["location"], "https://test/path?q=1")
        r = self.fetch("/", "-o", "/dev/null", "-w", "%{http_code}")
        self.assertEqual(r.stdout, b"200")

    def test_keep_alive_and_pipelining_over_tls(self):
        with socket.create_connection(("127.0.0.1", self.tls_port)) as raw:
            with self.context().wrap_socket(raw, server_hostname="a.test") as s:
                s.settimeout(10)
                reqs = b"".join(f"GET /echo?n={i} HTTP/1.1\r\nHost: a.test\r\n\r\n".encode()
                                for i in range(3))
                s.sendall(reqs)
                got = b""
                while got.count(b"HTTP/1.1 200") < 3 or not got.endswith(b"}"):
                    d = s.recv(65536)
                    if not d:
                        break
                    got += d
                paths = [json.loads(part[part.index(b"{"):part.rindex(b"}") + 1])["path"]
                         for part in got.split(b"HTTP/1.1 200")[1:]]
                self.assertEqual(paths, ["/echo?n=0", "/echo?n=1", "/echo?n=2"])
                s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
                tail = b""
                while True:
                    d = s.recv(65536)
                    if not d:
                        break
                    tail += d
                self.assertTrue(tail.startswith(b"HTTP/1.1 200"), tail[:100])

    def test_integrity_both_ways_in_http_and_tcp_mode(self):
        for port in (self.tls_port, self.tcp):
            for size in SIZES:
                with self.subTest(port=port, size=size, direction="download"):
                    r = self.fetch(f"/download?bytes={size}&seed=5", port=port)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    want = random.Random(5).randbytes(size)
                    self.assertEqual(hashlib.sha256(r.stdout).hexdigest(),
                                     hashlib.sha256(want).hexdigest())
                with self.subTest(port=port, size=size, direction="upload"):
                    path = os.path.join(self.tmp, f"up-{size}")
                    data = random.Random(size + 3).randbytes(size)
                    with open(path, "wb") as f:
                        f.write(data)
                    r = self.fetch("/upload", "--data-binary", f"@{path}", port=port)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertEqual(json.loads(r.stdout)["sha256"],
                                     hashlib.sha256(data).hexdigest())

    def test_garbage_and_plain_http_on_the_tls_port_close_only_that_connection(self):
        for junk in (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", os.urandom(600), b"\x16\x03\x01\x00"):
            with socket.create_connection(("127.0.0.1", self.tls_port)) as s:
                s.settimeout(5)
                s.sendall(junk)
                if junk.startswith(b"\x16"):
                    s.shutdown(socket.SHUT_WR)  # a handshake cut short
                try:
                    while s.recv(65536):
                        pass
                except ConnectionResetError:
                    pass
        r = self.fetch("/", "-o", "/dev/null", "-w", "%{http_code}")
        self.assertEqual(r.stdout, b"200")
        self.assertIsNone(self.proxy.proc.poll())


    def test_unfinished_handshake_times_out_without_spinning(self):
        def cpu():
            with open(f"/proc/{self.proxy.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        before = cpu()
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.tls_port)) as s:
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # half a ClientHello
            s.settimeout(5)
            try:
                while s.recv(65536):
                    pass
            except ConnectionResetError:
                pass
        took = time.monotonic() - t0
        self.assertLess(took, 3.0)  # timeout http_request (500ms) closed it
        self.assertGreater(took, 0.4)
        self.assertLess(cpu() - before, 0.2, "the proxy spun while waiting")


class TlsTcpServerFirstTest(unittest.TestCase):
    """TLS offload in TCP mode in front of a server that speaks first (SMTP-style banner), and a
    server reset that the client must see as an unclean end, not a TLS close_notify."""

    def test_banner_first_server_and_reset(self):
        tmp = tempfile.mkdtemp(prefix="tandem-tls-banner-")
        self.addCleanup(shutil.rmtree, tmp, True)
        pem, crt = make_cert(tmp, "a", "a.test", ["a.test"])
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(10)
        self.addCleanup(listener.close)

        ended = []  # when the proxy ended a server connection without a byte from its client

        def serve():  # every connection, the start-up port probe's included
            while True:
                try:
                    c, _ = listener.accept()
                except OSError:
                    return
                with c:
                    c.settimeout(10)
                    c.sendall(b"220 banner\r\n")  # before the client said anything
                    try:
                        got = c.recv(100)
                    except OSError:
                        got = b""
                    if not got:
                        ended.append(time.monotonic())
                        continue
                    if got.startswith(b"RESET"):
                        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        continue  # closed with a reset
                    c.sendall(b"250 " + got)
        t = threading.Thread(target=serve, daemon=True)
        t.start()
        port = free_port()
        cfg = f"""
listens:
  smtps:
    mode: tcp
    bind: [ {{ address: "127.0.0.1:{port}", crt: {pem} }} ]
    servers: [ {{ name: m1, address: "127.0.0.1:{listener.getsockname()[1]}" }} ]
"""
        proxy = Tandem(cfg, tmp, [port])
        self.addCleanup(proxy.stop)
        ctx = ssl.create_default_context(cafile=crt)
        # Debian's Python 3.11.2 ignores an EOF without close_notify by default (3.11.3 undid
        # that): this test is about telling the two apart.
        ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
        for reset in (False, True):
            with socket.create_connection(("127.0.0.1", port)) as raw:
                with ctx.wrap_socket(raw, server_hostname="a.test",
                                     suppress_ragged_eofs=False) as s:
                    s.settimeout(5)
                    self.assertEqual(s.recv(100), b"220 banner\r\n")
                    if not reset:
                        s.sendall(b"HELO x\r\n")
                        self.assertEqual(s.recv(100), b"250 HELO x\r\n")
                        continue
                    s.sendall(b"RESET\r\n")
                    # No close_notify after a server reset: an unclean EOF (or a reset).
                    # (3.11.2 names it an SSLError with reason UNEXPECTED_EOF_WHILE_READING.)
                    with self.assertRaises((ssl.SSLError, ConnectionResetError)) as cm:
                        while s.recv(100):
                            pass
                    if not isinstance(cm.exception, (ssl.SSLEOFError, ConnectionResetError)):
                        self.assertIn("EOF", str(cm.exception))
        # A client that leaves before its handshake (a port scan, a health probe): the session
        # and its server connection end at once, not at `timeout client` (default 30 s) — the
        # proxy's descriptors come back to what they were.
        time.sleep(0.3)
        base = proxy.fd_count()
        before = len(ended)
        with socket.create_connection(("127.0.0.1", port)):
            pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and (len(ended) == before or proxy.fd_count() > base):
            time.sleep(0.02)
        self.assertGreater(len(ended), before, "the server never saw the connection end")
        self.assertLessEqual(proxy.fd_count(), base, "the session outlived its client")


class TlsMinVersionTest(unittest.TestCase):
    def test_min_version_is_enforced(self):
        tmp = tempfile.mkdtemp(prefix="tandem-tls-min-")
        self.addCleanup(shutil.rmtree, tmp, True)
        pem, crt = make_cert(tmp, "a", "a.test", ["a.test"])
        web = Backend("web", tmp)
        self.addCleanup(web.stop)
        port = free_port()
        cfg = f"""
global: {{ tls: {{ min_version: TLSv1.3, tickets: false }} }}
frontends:
  web:
    bind: [ {{ address: "127.0.0.1:{port}", crt: {pem} }} ]
    default_backend: web
backends:
  web: {{ servers: [ {{ name: w1, address: "{web.address}" }} ] }}
"""
        proxy = Tandem(cfg, tmp, [port])
        self.addCleanup(proxy.stop)
        base = ["--cacert", crt, "--resolve", f"a.test:{port}:127.0.0.1", "-o", "/dev/null",
                "-w", "%{http_code}"]
        ok = curl(*base, f"https://a.test:{port}/")
        self.assertEqual(ok.stdout, b"200", ok.stderr)
        old = curl(*base, "--tls-max", "1.2", f"https://a.test:{port}/")
        # curl's 35: the handshake failed (protocol_version alert), not any other error.
        self.assertEqual(old.returncode, 35, old.stderr)
        self.assertNotEqual(old.stdout, b"200")
        # tickets: false — no stateless (RFC 5077) ticket: what TLS 1.3 still sends is a short
        # id into the server's session cache, as with HAProxy's no-tls-tickets.
        lines = session_ticket_lines(port, crt, os.path.join(tmp, "session.pem"))
        self.assertLessEqual(lines, 2, "a stateless session ticket was issued")


class TicketKeysTest(unittest.TestCase):
    """global.tls.ticket_keys: a session made with one proxy process resumes on another one
    (a reload's new worker, the pair's other node) that reads the same key file; a key file
    rotated with the old key kept second still resumes it; without the file, it does not."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tandem-tls-keys-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.pem, self.crt = make_cert(self.tmp, "a", "a.test", ["a.test"])
        self.web = Backend("web", self.tmp)
        self.addCleanup(self.web.stop)
        self.port = free_port()
        self.keys = os.path.join(self.tmp, "ticket-keys")

    def write_keys(self, *keys):
        with open(self.keys, "w") as f:
            f.write("# newest first\n" + "".join(k + "\n" for k in keys))

    def proxy(self, with_keys):
        tls = f"{{ ticket_keys: {self.keys} }}" if with_keys else "{ tickets: true }"
        cfg = f"""
global: {{ tls: {tls} }}
frontends:
  web:
    bind: [ {{ address: "127.0.0.1:{self.port}", crt: {self.pem} }} ]
    default_backend: web
backends:
  web: {{ servers: [ {{ name: w1, address: "{self.web.address}" }} ] }}
"""
        p = Tandem(cfg, self.tmp, [self.port], name=f"tandem-{time.monotonic_ns()}")
        self.addCleanup(p.stop)
        return p

    def resumes(self, session):
        out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.port}",
                              "-servername", "a.test", "-CAfile", self.crt, "-sess_in", session],
                             input=b"", capture_output=True, timeout=30).stdout
        return b"Reused, TLSv1.3" in out

    def session_from_a_fresh_process(self, with_keys):
        first = self.proxy(with_keys)
        session = os.path.join(self.tmp, f"session-{time.monotonic_ns()}.pem")
        self.assertGreaterEqual(session_ticket_lines(self.port, self.crt, session), 6)
        first.stop()
        return session

    def test_a_session_resumes_on_another_worker_process_with_the_same_keys(self):
        old = base64.b64encode(os.urandom(80)).decode()
        self.write_keys(old)
        session = self.session_from_a_fresh_process(with_keys=True)
        second = self.proxy(with_keys=True)
        self.assertTrue(self.resumes(session), "the same keys in a new process")
        second.stop()
        # Rotated: a new key first, the old one second, still decrypts (and is renewed).
        self.write_keys(base64.b64encode(os.urandom(48)).decode(), old)
        third = self.proxy(with_keys=True)
        self.assertTrue(self.resumes(session), "the old key kept second")
        third.stop()
        # Without the file each process has keys of its own: a full handshake.
        session = self.session_from_a_fresh_process(with_keys=False)
        self.proxy(with_keys=False)
        self.assertFalse(self.resumes(session))


@contextlib.contextmanager
def in_netns(name):
    """Runs the block in network namespace `name`: sockets made and processes started in it
    live there (setns on this thread; the previous namespace is restored after)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    clone_newnet = 0x40000000
    with open("/proc/thread-self/ns/net") as home, open(f"/run/netns/{name}") as there:
        if libc.setns(there.fileno(), clone_newnet) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        try:
            yield
        finally:
            libc.setns(home.fileno(), clone_newnet)


class TlsLargeHandshakeTest(unittest.TestCase):
    """A server handshake flight larger than what the socket takes at once (a long certificate
    chain, 4 KiB TCP send buffers, a client that reads slowly) goes out in several rounds: each
    time the socket drains the proxy writes more of it, whatever the stream above has (nothing)
    to send."""

    def test_a_chain_bigger_than_the_socket_buffer_reaches_a_slow_client(self):
        tmp = tempfile.mkdtemp(prefix="tandem-tls-big-")
        self.addCleanup(shutil.rmtree, tmp, True)
        pem, crt = make_cert(tmp, "a", "a.test", ["a.test"])
        filler, _ = make_cert(tmp, "filler", "filler.test")
        with open(filler) as f:
            filler_cert = f.read().split("-----END CERTIFICATE-----")[0] + \
                "-----END CERTIFICATE-----\n"
        with open(pem) as f:
            parts = f.read().split("-----END CERTIFICATE-----\n")
        big = os.path.join(tmp, "big.pem")
        with open(big, "w") as out:  # leaf, 60 chain certificates (~25 KB), key
            out.write(parts[0] + "-----END CERTIFICATE-----\n" + filler_cert * 60 + parts[1])
        # Our own namespace, where TCP send buffers stay at 4 KiB (loopback's autotuning would
        # otherwise take the whole flight at once).
        ns = f"tdtls{os.getpid()}"
        subprocess.run(["ip", "netns", "add", ns], check=True, timeout=30)
        self.addCleanup(subprocess.run, ["ip", "netns", "del", ns], timeout=30)
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["sysctl", "-qw", "net.ipv4.tcp_wmem=4096 4096 4096"]):
            subprocess.run(["ip", "netns", "exec", ns] + cmd, check=True, timeout=30)
        port = free_port()
        cfg = f"""
global: {{ tls: {{ min_version: TLSv1.3 }} }}
defaults: {{ timeout: {{ client: 20s, http_request: 20s }} }}
frontends:
  web:
    bind: [ {{ address: "127.0.0.1:{port}", crt: {big} }} ]
    default_backend: web
backends:
  web: {{ servers: [ {{ name: w1, address: "{{web}}" }} ] }}
"""
        with in_netns(ns):
            web = Backend("web", tmp)
            self.addCleanup(web.stop)
            proxy = Tandem(cfg.replace("{web}", web.address), tmp, [port])
            self.addCleanup(proxy.stop)
            sock = socket.socket()
            self.addCleanup(sock.close)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)  # a small window
            sock.connect(("127.0.0.1", port))
        ctx = ssl.create_default_context(cafile=crt)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the filler certificates do not chain
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(incoming, outgoing, server_hostname="a.test")
        sock.settimeout(10)

        def pump():
            data = outgoing.read()
            if data:
                sock.sendall(data)

        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            pump()
        time.sleep(0.5)  # the proxy fills the socket and has to wait for it to drain
        received = 0
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pump()
                chunk = sock.recv(1024)  # slowly, in small pieces: many drain rounds
                self.assertTrue(chunk, f"the proxy closed after {received} handshake bytes")
                received += len(chunk)
                incoming.write(chunk)
                time.sleep(0.002)
        pump()
        self.assertGreater(received, 20000)  # the whole chain came
        tls.write(b"GET /echo HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        pump()
        reply = b""
        while b"\r\n\r\n" not in reply:
            try:
                reply += tls.read(65536)
            except ssl.SSLWantReadError:
                chunk = sock.recv(65536)
                self.assertTrue(chunk, reply)
                incoming.write(chunk)
        self.assertTrue(reply.startswith(b"HTTP/1.1 200"), reply[:200])


if __name__ == "__main__":
    unittest.main(verbosity=2)
