#!/usr/bin/env python3
"""HTTP/2 to servers (`proto: h2` on a server) with a real HTTP/2 server peer: HAProxy 2.6
with an h2-only bind (`bind ... proto h2`, or `bind ... ssl crt ... alpn h2`), its backend the
harness's HTTP/1.1 echo server (tests/tools/backend.py). HAProxy stamps every response with
what it saw of the connection the request came on (`fc_http_major`, `ssl_fc`, `ssl_fc_alpn`,
`ssl_fc_sni`) and counts its h2 connections, streams, RST_STREAMs and GOAWAYs (stats socket,
`show stat`). Every address is on 127.0.0.1:

  H2ServerTest             h2c with prior knowledge to HAProxy: an HTTP/1.1 client's GET,
                           HEAD (and the next request on its connection), a 1 MiB POST with
                           content-length and a chunked POST of unknown length reach the echo
                           server with their bytes, HAProxy having seen HTTP major 2 (the same
                           server without `proto: h2` gets 502 from that h2-only bind); a
                           response of unknown length reaches the HTTP/1.1 client chunked; the
                           request's fields cross (Host as :authority, te: trailers; connection
                           and keep-alive dropped) and the server's statuses, bodies and fields
                           reach the client (HAProxy's 404 and 302, the echo server's 503, two
                           set-cookie fields kept apart); 300 requests over 10 keep-alive client
                           connections all succeed on at most one h2 connection (one worker
                           thread); an HTTP/2 client (prior knowledge) crosses both h2 hops: an
                           8 MiB download and uploads (content-length, unknown length) keep their
                           bytes, and 1000 h2load requests on 4 connections share one server
                           connection; a websocket Upgrade gets a 5xx without reaching the
                           server, and the next request is served; an HTTP/2 client that gives
                           up has its stream reset at once (HAProxy counts one RST_STREAM) and
                           the connection stays; an idle server connection ends after about 5 s
                           with a GOAWAY from Tandem; the HTTP/1.1 status lines made of h2
                           responses carry RFC 9110's reason phrases. An expected failure
                           records a Tandem bug: a field the client's Connection names is
                           forwarded to the server.
  H2ServerTlsTest          HTTP/2 over TLS to HAProxy (`ssl: true`, `ca_file`, `sni: localhost`;
                           ALPN h2 by default): requests, a 1 MiB upload and a 3 MiB download
                           work, HAProxy saw TLS, ALPN h2, the SNI and HTTP major 2, and 50
                           requests share one TLS connection; the same server without
                           `proto: h2` gets HTTP/1.1 there (no ALPN offered).
  H2ServerStreamLimitTest  HAProxy allows 2 streams a connection (SETTINGS_MAX_CONCURRENT_STREAMS):
                           6 slow requests at once go on 3 connections, none refused.
  H2ServerRestartTest      the server's side ends the connection: HAProxy stopped (SIGTERM) gives
                           the next requests 502/503 and, restarted on the same port, gets a new
                           h2 connection and the requests work again; a soft stop (SIGUSR1:
                           GOAWAY) lets the request in flight finish with 200; an h2 connection
                           HAProxy closes when idle (`timeout http-keep-alive 1s`) is replaced
                           for the next request.
"""
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

CTEST_TIMEOUT = 120

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from backend import pseudo_random  # noqa: E402
from harness import (Backend, Process, Tandem, admin_command, curl, free_port,  # noqa: E402
                     make_cert, recv_response, wait_port)

# ---- HAProxy as the HTTP/2 server ---------------------------------------------------------------

HAPROXY_DEFAULTS = """defaults
  mode http
  log global
  option httplog
  timeout connect 2s
  timeout client 30s
  timeout server 30s
"""

# What HAProxy saw of the connection a request came on, in every response it sends (those of
# `http-request return` too).
STAMP = """  http-request set-var(txn.path) path
  http-after-response set-header x-fc-http-major %[fc_http_major]
  http-after-response set-header x-ssl-fc %[ssl_fc]
  http-after-response set-header x-alpn %[ssl_fc_alpn]
  http-after-response set-header x-sni %[ssl_fc_sni]
"""


class HAProxy(Process):
    """`haproxy -db` on a config of its own in the test's folder (checked with -c first), with
    a stats socket and the `global` lines given; `stat(frontend)` reads the frontend's row of
    `show stat`. Each instance logs to a file of its own (name-N.log), so a restarted one keeps
    the first one's log."""

    starts = 0

    def __init__(self, tmp, name, body, ports, global_lines=""):
        HAProxy.starts += 1
        self.socket = os.path.join(tmp, f"{name}.sock")
        path = os.path.join(tmp, f"{name}.cfg")
        with open(path, "w") as f:
            f.write(f"""global
  log stderr format short local0 info
  stats socket {self.socket} mode 600 level admin
{global_lines}{HAPROXY_DEFAULTS}{body}""")
        check = subprocess.run(["haproxy", "-c", "-f", path], capture_output=True, text=True,
                               timeout=30)
        if check.returncode != 0:
            raise RuntimeError(check.stdout + check.stderr)
        super().__init__(["haproxy", "-db", "-f", path],
                         os.path.join(tmp, f"{name}-{HAProxy.starts}.log"))
        try:
            for port in ports:
                wait_port(port, proc=self.proc)
            wait_until(lambda: os.path.exists(self.socket), 5, "HAProxy's stats socket")
        except (RuntimeError, AssertionError):
            self.stop()
            raise RuntimeError(f"HAProxy did not start:\n{self.output()[-3000:]}") from None

    def stat(self, frontend):
        """The frontend's counters (show stat), numbers as int."""
        text = admin_command(self.socket, "show stat")
        lines = text.splitlines()
        names = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            fields = line.split(",")
            if fields[:2] == [frontend, "FRONTEND"]:
                return {k: int(v) if v.isdigit() else v for k, v in zip(names, fields)}
        raise AssertionError(f"no frontend {frontend} in show stat:\n{text}")

    def soft_stop(self, timeout=10):
        """SIGUSR1: HAProxy stops listening, sends GOAWAY and exits once its streams ended."""
        self.proc.send_signal(signal.SIGUSR1)
        self.proc.wait(timeout)


def wait_until(predicate, timeout=10.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def sha(data):
    return hashlib.sha256(data).hexdigest()


def write_random(tmp, name, size, seed):
    data = random.Random(seed).randbytes(size)
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path, data


def split_meta(r):
    """curl's stdout with `-w '\\n%{http_version} %{http_code}'`: (body, "version code")."""
    body, meta = r.stdout.rsplit(b"\n", 1)
    return body, meta.decode()


def headers_of(r):
    """The fields curl wrote with -D (the last head, interim 1xx heads skipped), lower-case."""
    heads = [h for h in r.split("\r\n\r\n") if h.strip()]
    lines = heads[-1].split("\r\n")
    out = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        out.setdefault(k.strip().lower(), []).append(v.strip())
    return lines[0], out


class Client:
    """An HTTP/1.1 keep-alive client connection (http.client) that knows the local port each
    answer came on, so reuse of the client connection can be checked."""

    def __init__(self, port, timeout=10):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.ports = set()

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        self.ports.add(self.conn.sock.getsockname()[1])
        r = self.conn.getresponse()
        return r, r.read()

    def close(self):
        self.conn.close()


class HAProxyPeerTest(unittest.TestCase):
    """What the classes share: Tandem and HAProxy still running after each test, clients."""

    frontend = "h2c"

    def tearDown(self):
        self.assertIsNone(self.proxy.proc.poll(), self.proxy.output()[-3000:])

    def client(self, port=None):
        c = Client(port or self.port)
        self.addCleanup(c.close)
        return c

    def stat(self, frontend=None):
        return self.hap.stat(frontend or self.frontend)

    def assert_h2_at_haproxy(self, response):
        self.assertEqual(response.getheader("x-fc-http-major"), "2", response.getheaders())

    def echo(self, client, path="/echo", headers=None):
        """GET `path` from the echo server: (response, the request the echo server saw, its
        fields lower-cased)."""
        r, body = client.request("GET", path, headers=headers)
        self.assertEqual(r.status, 200, body[:300])
        self.assert_h2_at_haproxy(r)
        info = json.loads(body)
        return r, info, {k.lower(): v for k, v in info["headers"]}


# ---- h2c to HAProxy -----------------------------------------------------------------------------

class H2ServerTest(HAProxyPeerTest):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-h2srv-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.web = Backend("b1", cls.tmp)
        cls.addClassCleanup(cls.web.stop)
        cls.hp = free_port()
        cls.hap = HAProxy(cls.tmp, "haproxy", f"""
frontend h2c
  bind 127.0.0.1:{cls.hp} proto h2
{STAMP}
  acl missing path /missing
  http-request return status 404 content-type text/plain string "not here" hdr x-why hap if missing
  http-request redirect location /elsewhere code 302 if {{ path /moved }}
  http-after-response add-header set-cookie a=1 if {{ var(txn.path) -m str /cookies }}
  http-after-response add-header set-cookie b=2 if {{ var(txn.path) -m str /cookies }}
  default_backend echo
backend echo
  server b1 {cls.web.address}
""", [cls.hp])
        cls.addClassCleanup(cls.hap.stop)
        p = {n: free_port() for n in ("h1", "h2", "plain")}
        cls.p = p
        # One worker thread: one shared connection to the server at a time.
        cfg = f"""
global: {{ log: {{ target: stderr, level: info }}, threads: 1 }}
defaults:
  timeout: {{ connect: 1s, client: 30s, server: 30s }}
  log: {{ httplog: true, target: "{cls.tmp}/access.log" }}
frontends:
  web:
    bind: [ "127.0.0.1:{p['h1']}", {{ address: "127.0.0.1:{p['h2']}", proto: h2 }} ]
    default_backend: hap
  plain:
    bind: "127.0.0.1:{p['plain']}"
    default_backend: hap_h1
backends:
  hap:
    servers: [ {{ name: s1, address: "127.0.0.1:{cls.hp}", proto: h2 }} ]
  hap_h1:  # the same h2-only bind, spoken to in HTTP/1.1
    servers: [ {{ name: s1, address: "127.0.0.1:{cls.hp}" }} ]
"""
        cls.proxy = Tandem(cfg, cls.tmp, list(p.values()))
        cls.addClassCleanup(cls.proxy.stop)
        cls.port = p["h1"]

    def tearDown(self):
        super().tearDown()
        self.assertIsNone(self.hap.proc.poll(), self.hap.output()[-3000:])

    def curl11(self, path, *args):
        return curl("--http1.1", *args, "-w", "\n%{http_version} %{http_code}",
                    f"http://127.0.0.1:{self.port}{path}")

    # ---- HTTP/1.1 clients ---------------------------------------------------------------------

    def test_http11_methods_and_bodies_reach_the_server_over_h2(self):
        c = self.client()
        with self.subTest("GET"):
            r, info, fields = self.echo(c, "/echo?q=1")
            self.assertEqual((info["method"], info["path"]), ("GET", "/echo?q=1"))
            self.assertEqual(fields["host"], f"127.0.0.1:{self.port}")  # :authority from Host
        with self.subTest("HEAD, then the next request on the same client connection"):
            r, body = c.request("HEAD", "/echo")
            self.assertEqual((r.status, body), (200, b""))
            self.assertGreater(int(r.getheader("content-length")), 0)  # the GET's length
            self.assert_h2_at_haproxy(r)
            r, info, _ = self.echo(c, "/echo?after-head")
            self.assertEqual(info["path"], "/echo?after-head")
            self.assertEqual(len(c.ports), 1, "the client connection was not kept")
        for name, extra in (("1 MiB with content-length", ()),
                            ("chunked, of unknown length", ("-H", "Transfer-Encoding: chunked"))):
            with self.subTest(name):
                path, data = write_random(self.tmp, "up.bin", 1024 * 1024, 11)
                r = self.curl11("/upload", *extra, "--data-binary", f"@{path}", "-D",
                                os.path.join(self.tmp, "up.head"))
                body, meta = split_meta(r)
                self.assertEqual(meta, "1.1 200", r.stderr)
                self.assertEqual(json.loads(body), {"sha256": sha(data), "size": len(data),
                                                    "server": "b1"})
                with open(os.path.join(self.tmp, "up.head"), newline="") as f:
                    self.assertEqual(headers_of(f.read())[1].get("x-fc-http-major"), ["2"])
        with self.subTest("without proto: h2 the h2-only bind refuses the HTTP/1.1 request"):
            r = curl("--http1.1", "-o", "/dev/null", "-w", "%{http_code}",
                     f"http://127.0.0.1:{self.p['plain']}/echo")
            self.assertEqual(r.stdout, b"502", r.stderr)

    def test_a_response_of_unknown_length_goes_out_chunked(self):
        # The echo server's chunked answer crosses HAProxy's h2 bind as DATA without a
        # content-length: the HTTP/1.1 client gets it chunked, whole.
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            for n in (5, 0):
                s.sendall(b"GET /chunked?n=%d HTTP/1.1\r\nHost: x\r\n\r\n" % n)
                status, fields, body, _ = recv_response(s, timeout=10)
                self.assertEqual(status, 200)
                self.assertEqual(fields.get("transfer-encoding"), "chunked", fields)
                self.assertNotIn("content-length", fields)
                self.assertEqual(fields.get("x-fc-http-major"), "2", fields)
                self.assertEqual(body, b"".join(b"chunk-%d\n" % i for i in range(n)))
            # And the client connection goes on: the chunked body ended where it should.
            s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            status, fields, body, _ = recv_response(s, timeout=10)
            self.assertEqual((status, json.loads(body)["path"]), (200, "/echo"))

    def test_fields_and_statuses_cross_both_ways(self):
        c = self.client()
        with self.subTest("request fields"):
            _, info, fields = self.echo(c, "/echo", headers={
                "X-Request-Tag": "t1", "Connection": "keep-alive", "Keep-Alive": "timeout=5",
                "TE": "trailers"})
            self.assertEqual(fields.get("x-request-tag"), "t1", info)
            self.assertEqual(fields.get("te"), "trailers", info)
            for hop in ("connection", "keep-alive"):
                self.assertNotIn(hop, fields, info)
        with self.subTest("404 with HAProxy's own field and body"):
            r, body = c.request("GET", "/missing")
            self.assertEqual((r.status, body, r.getheader("x-why")), (404, b"not here", "hap"))
            self.assert_h2_at_haproxy(r)
        with self.subTest("302 with its Location"):
            r, _ = c.request("GET", "/moved")
            self.assertEqual((r.status, r.getheader("location")), (302, "/elsewhere"))
            self.assert_h2_at_haproxy(r)
        with self.subTest("the echo server's 503 is the server's, passed on"):
            r, body = c.request("GET", "/status/503")
            self.assertEqual((r.status, body), (503, b"b1 503\n"))
            self.assert_h2_at_haproxy(r)
        with self.subTest("two set-cookie fields stay two"):
            r, _ = c.request("GET", "/cookies")
            self.assertEqual(r.status, 404)  # the echo server has no such path
            self.assertEqual(r.msg.get_all("set-cookie"), ["a=1", "b=2"], r.getheaders())
        self.assertEqual(len(c.ports), 1, "the client connection was not kept")

    def test_many_requests_share_one_server_connection(self):
        self.echo(self.client())  # a connection to the server is open (or opens now)
        before = self.stat()
        clients = [Client(self.port) for _ in range(10)]
        for c in clients:
            self.addCleanup(c.close)
        errors, answered = [], [0]
        lock = threading.Lock()

        def run(i, c):
            for k in range(30):
                path = f"/echo?client={i}&n={k}"
                try:
                    r, body = c.request("GET", path)
                    ok = (r.status == 200 and r.getheader("x-fc-http-major") == "2" and
                          json.loads(body)["path"] == path)
                except (OSError, http.client.HTTPException, ValueError) as e:
                    ok, body = False, repr(e).encode()
                with lock:
                    if ok:
                        answered[0] += 1
                    else:
                        errors.append((path, body[:200]))

        threads = [threading.Thread(target=run, args=(i, c), daemon=True)
                   for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self.assertFalse([t for t in threads if t.is_alive()], "requests still waiting after 60s")
        self.assertEqual(errors, [])
        self.assertEqual(answered[0], 300)
        self.assertEqual([len(c.ports) for c in clients], [1] * 10, "client connections kept")
        after = self.stat()
        # All 300 came to HAProxy as HTTP/2 streams, on at most one new connection (none if
        # the one open before was still up): not one per client connection.
        self.assertEqual(after["req_tot"] - before["req_tot"], 300)
        self.assertEqual(after["h2_headers_rcvd"] - before["h2_headers_rcvd"], 300)
        opened = after["h2_total_connections"] - before["h2_total_connections"]
        self.assertLessEqual(opened, 1, f"{opened} h2 connections for 10 client connections")
        self.assertLessEqual(after["h2_open_connections"], 1)

    # ---- HTTP/2 clients ------------------------------------------------------------------------

    def h2(self, path, *args):
        return curl("--http2-prior-knowledge", *args, "-w", "\n%{http_version} %{http_code}",
                    f"http://127.0.0.1:{self.p['h2']}{path}")

    def test_an_h2_client_crosses_both_h2_hops(self):
        with self.subTest("GET"):
            head = os.path.join(self.tmp, "h2.head")
            r = self.h2("/echo?both", "-D", head)
            body, meta = split_meta(r)
            self.assertEqual(meta, "2 200", r.stderr)
            self.assertEqual(json.loads(body)["path"], "/echo?both")
            with open(head, newline="") as f:
                self.assertEqual(headers_of(f.read())[1].get("x-fc-http-major"), ["2"])
        with self.subTest("8 MiB download"):
            size = 8 * 1024 * 1024
            out = os.path.join(self.tmp, "down.bin")
            r = self.h2(f"/download?bytes={size}&seed=3", "-o", out)
            self.assertEqual(split_meta(r)[1], "2 200", r.stderr)
            with open(out, "rb") as f:
                self.assertEqual(sha(f.read()), sha(pseudo_random(size, 3)))
        with self.subTest("1 MiB upload with content-length"):
            path, data = write_random(self.tmp, "up2.bin", 1024 * 1024 + 3, 12)
            r = self.h2("/upload", "--data-binary", f"@{path}")
            body, meta = split_meta(r)
            self.assertEqual(meta, "2 200", r.stderr)
            self.assertEqual((json.loads(body)["sha256"], json.loads(body)["size"]),
                             (sha(data), len(data)))
        with self.subTest("upload of unknown length"):
            data = random.Random(13).randbytes(700_001)
            r = subprocess.run(["curl", "-sS", "--max-time", "60", "--http2-prior-knowledge",
                                "-T", "-", "-w", "\n%{http_version} %{http_code}",
                                f"http://127.0.0.1:{self.p['h2']}/upload"],
                               input=data, capture_output=True, timeout=70)
            body, meta = split_meta(r)
            self.assertEqual(meta, "2 200", r.stderr)
            self.assertEqual((json.loads(body)["sha256"], json.loads(body)["size"]),
                             (sha(data), len(data)))

    def test_h2_client_streams_share_one_server_connection(self):
        self.echo(self.client())
        before = self.stat()
        r = subprocess.run(["h2load", "-n", "1000", "-c", "4", "-m", "10",
                            f"http://127.0.0.1:{self.p['h2']}/echo"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("1000 succeeded, 0 failed, 0 errored, 0 timeout", r.stdout)
        self.assertIn("status codes: 1000 2xx, 0 3xx, 0 4xx, 0 5xx", r.stdout)
        after = self.stat()
        self.assertEqual(after["req_tot"] - before["req_tot"], 1000)
        self.assertLessEqual(after["h2_total_connections"] - before["h2_total_connections"], 1)

    # ---- what HTTP/2 cannot carry, clients that give up, idle connections ------------------------

    def test_a_websocket_upgrade_gets_a_5xx_and_the_next_request_is_served(self):
        self.echo(self.client())
        before = self.stat()
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                      b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            status, fields, body, _ = recv_response(s, timeout=10)
        self.assertIn(status, (502, 503), (fields, body))
        # The request never reached the server (no stream was opened for it).
        self.assertEqual(self.stat()["h2_headers_rcvd"], before["h2_headers_rcvd"])
        _, info, _ = self.echo(self.client(), "/echo?after-upgrade")
        self.assertEqual(info["path"], "/echo?after-upgrade")

    def test_a_client_giving_up_resets_only_its_stream(self):
        self.echo(self.client())
        before = self.stat()
        self.assertEqual(before["h2_open_connections"], 1)
        # An HTTP/2 client gives up on a slow answer (curl's timeout closes its connection);
        # Tandem cancels the stream at once, long before the answer would come (3 s). (An
        # HTTP/1.1 client's close is only noticed when the answer comes, as in HAProxy without
        # `option abortonclose`.)
        start = time.monotonic()
        r = curl("--http2-prior-knowledge", "-o", "/dev/null",
                 f"http://127.0.0.1:{self.p['h2']}/slow?ms=3000", timeout=1)
        self.assertEqual(r.returncode, 28, r.stderr)  # curl's own timeout
        wait_until(lambda: self.stat()["h2_rst_stream_rcvd"] > before["h2_rst_stream_rcvd"], 5,
                   "HAProxy to receive an RST_STREAM")
        self.assertLess(time.monotonic() - start, 2.5, "reset only when the answer came")
        # The connection carries on: the next request goes on it.
        _, info, _ = self.echo(self.client(), "/echo?after-reset")
        after = self.stat()
        self.assertEqual(after["h2_rst_stream_rcvd"] - before["h2_rst_stream_rcvd"], 1)
        self.assertEqual(after["h2_total_connections"], before["h2_total_connections"])
        self.assertEqual(after["h2_open_connections"], 1)
        self.assertEqual(after["h2_goaway_rcvd"], before["h2_goaway_rcvd"])

    def test_status_lines_carry_the_status_reason(self):
        # An HTTP/2 response has no reason phrase: the HTTP/1.1 status line Tandem makes of it
        # says the one RFC 9110 gives the status (before 6eccb22 it said "Error" for any status
        # outside a short table of errors: "204 Error", "302 Error", "100 Error").
        c = self.client()
        for path, status, reason in (("/status/204", 204, "No Content"),
                                     ("/moved", 302, "Found"),
                                     ("/status/201", 201, "Created")):
            with self.subTest(path):
                r, _ = c.request("GET", path)
                self.assertEqual((r.status, r.reason), (status, reason))

    def test_fields_named_in_connection_are_not_forwarded(self):
        # A field the client's Connection names is for that hop only (RFC 9110 §7.6.1: a proxy
        # MUST remove it).
        _, info, fields = self.echo(self.client(), "/echo", headers={
            "Connection": "keep-alive, X-Hop", "X-Hop": "secret"})
        self.assertNotIn("x-hop", fields, info)

    def test_an_idle_server_connection_closes_after_5s(self):
        self.echo(self.client())
        last = time.monotonic()
        before = self.stat()
        self.assertEqual(before["h2_open_connections"], 1)
        wait_until(lambda: self.stat()["h2_open_connections"] == 0, 10,
                   "the idle h2 connection to close")
        idle = time.monotonic() - last
        self.assertGreater(idle, 4.0)  # 5 s, give or take a poll
        # Tandem said goodbye (GOAWAY NO_ERROR) before closing.
        self.assertGreater(self.stat()["h2_goaway_rcvd"], before["h2_goaway_rcvd"])
        # And the next request gets a new connection.
        _, info, _ = self.echo(self.client(), "/echo?after-idle")
        after = self.stat()
        self.assertEqual(after["h2_total_connections"] - before["h2_total_connections"], 1)


# ---- HTTP/2 over TLS to HAProxy -----------------------------------------------------------------

class H2ServerTlsTest(HAProxyPeerTest):
    frontend = "h2tls"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-h2srv-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.pem, cls.crt = make_cert(cls.tmp, "hap", "localhost", ["localhost"])
        cls.web = Backend("b1", cls.tmp)
        cls.addClassCleanup(cls.web.stop)
        cls.hp = free_port()
        cls.hap = HAProxy(cls.tmp, "haproxy", f"""
frontend h2tls
  bind 127.0.0.1:{cls.hp} ssl crt {cls.pem} alpn h2
{STAMP}
  default_backend echo
backend echo
  server b1 {cls.web.address}
""", [cls.hp])
        cls.addClassCleanup(cls.hap.stop)
        p = {n: free_port() for n in ("h2", "h1")}
        cls.p = p
        server = f'address: "127.0.0.1:{cls.hp}", ssl: true, ca_file: "{cls.crt}", sni: localhost'
        cfg = f"""
global: {{ log: {{ target: stderr, level: info }}, threads: 1 }}
defaults:
  timeout: {{ connect: 1s, client: 30s, server: 30s }}
frontends:
  web:
    bind: "127.0.0.1:{p['h2']}"
    default_backend: hap
  web_h1:
    bind: "127.0.0.1:{p['h1']}"
    default_backend: hap_h1
backends:
  hap:
    servers: [ {{ name: s1, {server}, proto: h2 }} ]
  hap_h1:
    servers: [ {{ name: s1, {server} }} ]
"""
        cls.proxy = Tandem(cfg, cls.tmp, list(p.values()))
        cls.addClassCleanup(cls.proxy.stop)
        cls.port = p["h2"]

    def test_requests_go_as_h2_over_tls(self):
        c = self.client()
        r, info, fields = self.echo(c, "/echo?tls")
        self.assertEqual(info["path"], "/echo?tls")
        self.assertEqual((r.getheader("x-ssl-fc"), r.getheader("x-alpn"), r.getheader("x-sni")),
                         ("1", "h2", "localhost"), r.getheaders())
        path, data = write_random(self.tmp, "up.bin", 1024 * 1024, 21)
        with open(path, "rb") as f:
            r, body = c.request("POST", "/upload", body=f.read())
        self.assertEqual(r.status, 200, body[:300])
        self.assert_h2_at_haproxy(r)
        self.assertEqual((json.loads(body)["sha256"], json.loads(body)["size"]),
                         (sha(data), len(data)))
        size = 3 * 1024 * 1024
        r, body = c.request("GET", f"/download?bytes={size}&seed=4")
        self.assertEqual((r.status, sha(body)), (200, sha(pseudo_random(size, 4))))

    def test_requests_share_one_tls_connection(self):
        self.echo(self.client())
        before = self.stat()
        for i in range(5):
            c = self.client()
            for k in range(10):
                _, info, _ = self.echo(c, f"/echo?c={i}&k={k}")
                self.assertEqual(info["path"], f"/echo?c={i}&k={k}")
        after = self.stat()
        self.assertEqual(after["req_tot"] - before["req_tot"], 50)
        self.assertLessEqual(after["h2_total_connections"] - before["h2_total_connections"], 1)
        self.assertLessEqual(after["h2_open_connections"], 1)

    def test_without_proto_h2_the_same_server_gets_http11(self):
        # The contrast: no ALPN offered, so HAProxy's TLS bind falls back to HTTP/1.1.
        r, body = self.client(self.p["h1"]).request("GET", "/echo")
        self.assertEqual(r.status, 200, body[:300])
        self.assertEqual((r.getheader("x-fc-http-major"), r.getheader("x-ssl-fc"),
                          r.getheader("x-alpn")), ("1", "1", ""), r.getheaders())


# ---- the server's SETTINGS_MAX_CONCURRENT_STREAMS -----------------------------------------------

class H2ServerStreamLimitTest(HAProxyPeerTest):
    LIMIT = 2

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-h2srv-limit-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.web = Backend("b1", cls.tmp)
        cls.addClassCleanup(cls.web.stop)
        cls.hp = free_port()
        cls.hap = HAProxy(cls.tmp, "haproxy", f"""
frontend h2c
  bind 127.0.0.1:{cls.hp} proto h2
{STAMP}
  default_backend echo
backend echo
  server b1 {cls.web.address}
""", [cls.hp], global_lines=f"  tune.h2.max-concurrent-streams {cls.LIMIT}\n")
        cls.addClassCleanup(cls.hap.stop)
        cls.port = free_port()
        cfg = f"""
global: {{ log: {{ target: stderr, level: info }}, threads: 1 }}
defaults:
  timeout: {{ connect: 1s, client: 30s, server: 30s }}
frontends:
  web:
    bind: "127.0.0.1:{cls.port}"
    default_backend: hap
backends:
  hap:
    servers: [ {{ name: s1, address: "127.0.0.1:{cls.hp}", proto: h2 }} ]
"""
        cls.proxy_config = cfg
        cls.proxy = Tandem(cfg, cls.tmp, [cls.port])
        cls.addClassCleanup(cls.proxy.stop)

    def test_a_burst_on_a_new_connection_waits_for_the_servers_settings(self):
        # A fresh Tandem (no h2 connection yet), 8 POSTs at once: their streams wait for
        # HAProxy's SETTINGS (2 streams) instead of assuming 100 and being refused
        # (REFUSED_STREAM: a POST whose body was taken could not be sent again, a 502).
        port = free_port()
        cfg = self.proxy_config.replace(f"127.0.0.1:{self.port}", f"127.0.0.1:{port}")
        proxy = Tandem(cfg, self.tmp, [port], name="burst")
        self.addCleanup(proxy.stop)
        clients = [self.client(port) for _ in range(8)]
        for c in clients:
            c.conn.connect()
        barrier = threading.Barrier(len(clients))
        statuses = {}

        def run(i, c):
            try:
                barrier.wait(5)
                r, body = c.request("POST", f"/echo?i={i}", body=b"x" * 100)
                statuses[i] = r.status
            except (OSError, http.client.HTTPException, threading.BrokenBarrierError) as e:
                statuses[i] = repr(e)

        threads = [threading.Thread(target=run, args=(i, c), daemon=True)
                   for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        self.assertEqual(statuses, {i: 200 for i in range(8)}, proxy.output()[-2000:])

    def test_a_full_connection_makes_another(self):
        self.echo(self.client())  # connected: the server's SETTINGS (2 streams) are known
        before = self.stat()
        clients = [self.client() for _ in range(6)]
        statuses = {}

        def run(i, c):
            try:
                r, body = c.request("GET", f"/slow?ms=1000&i={i}")
                statuses[i] = (r.status, body, r.getheader("x-fc-http-major"))
            except (OSError, http.client.HTTPException) as e:
                statuses[i] = repr(e)

        threads = []
        for i, c in enumerate(clients):  # one after the other, all at once at the server
            threads.append(threading.Thread(target=run, args=(i, c), daemon=True))
            threads[-1].start()
            time.sleep(0.1)
        for t in threads:
            t.join(20)
        self.assertEqual(statuses, {i: (200, b"b1 slow\n", "2") for i in range(6)})
        after = self.stat()
        # 6 streams at once, 2 a connection: 3 connections, the one open before and 2 more;
        # none refused (HAProxy got 6 HEADERS, not more).
        self.assertEqual(after["h2_total_connections"] - before["h2_total_connections"], 2)
        self.assertEqual(after["h2_open_connections"], 3)
        self.assertEqual(after["h2_headers_rcvd"] - before["h2_headers_rcvd"], 6)


# ---- the server ends the connection -------------------------------------------------------------

class H2ServerRestartTest(HAProxyPeerTest):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-h2srv-restart-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.web = Backend("b1", cls.tmp)
        cls.addClassCleanup(cls.web.stop)
        cls.hp, cls.kp = free_port(), free_port()
        cls.hap_body = f"""
frontend h2c
  bind 127.0.0.1:{cls.hp} proto h2
{STAMP}
  default_backend echo
frontend keepalive
  bind 127.0.0.1:{cls.kp} proto h2
  timeout http-keep-alive 1s
{STAMP}
  default_backend echo
backend echo
  server b1 {cls.web.address}
"""
        cls.hap = None
        cls.addClassCleanup(lambda: cls.hap and cls.hap.stop())  # whichever runs at the end
        cls.start_haproxy()
        p = {n: free_port() for n in ("web", "ka")}
        cls.p = p
        cfg = f"""
global: {{ log: {{ target: stderr, level: info }}, threads: 1 }}
defaults:
  timeout: {{ connect: 1s, client: 30s, server: 30s }}
  log: {{ httplog: true, target: "{cls.tmp}/access.log" }}
frontends:
  web:
    bind: "127.0.0.1:{p['web']}"
    default_backend: hap
  ka:
    bind: "127.0.0.1:{p['ka']}"
    default_backend: hap_ka
backends:
  hap:
    servers: [ {{ name: s1, address: "127.0.0.1:{cls.hp}", proto: h2 }} ]
  hap_ka:
    servers: [ {{ name: s1, address: "127.0.0.1:{cls.kp}", proto: h2 }} ]
"""
        cls.proxy = Tandem(cfg, cls.tmp, list(p.values()))
        cls.addClassCleanup(cls.proxy.stop)
        cls.port = p["web"]

    @classmethod
    def start_haproxy(cls):
        if cls.hap:
            cls.hap.stop()
        cls.hap = HAProxy(cls.tmp, "haproxy", cls.hap_body, [cls.hp, cls.kp])

    def setUp(self):
        if self.hap.proc.poll() is not None:  # a test before stopped it and failed
            self.start_haproxy()

    def get_status(self, path="/echo", port=None):
        r = curl("--http1.1", "-o", "/dev/null", "-w", "%{http_code}",
                 f"http://127.0.0.1:{port or self.port}{path}", timeout=15)
        return int(r.stdout or b"0")

    def test_haproxy_stopped_then_restarted_gets_a_new_connection(self):
        self.echo(self.client())  # a connection to the server is open
        self.hap.stop()  # SIGTERM: a hard stop, its connections close
        for _ in range(2):
            self.assertIn(self.get_status(), (502, 503))
        self.start_haproxy()  # the same port
        _, info, _ = self.echo(self.client(), "/echo?after-restart")
        self.assertEqual(info["path"], "/echo?after-restart")
        s = self.stat()
        self.assertEqual((s["h2_open_connections"], s["req_tot"]), (1, 1))
        self.assertGreaterEqual(s["h2_total_connections"], 1)

    def test_a_soft_stop_lets_the_request_in_flight_finish(self):
        self.echo(self.client())
        before = self.stat()
        result = {}

        def slow():
            result["r"] = curl("--http1.1", "-w", "\n%{http_code}",
                               f"http://127.0.0.1:{self.port}/slow?ms=1500", timeout=15)

        t = threading.Thread(target=slow, daemon=True)
        t.start()
        self.addCleanup(t.join, 20)
        wait_until(lambda: self.stat()["req_tot"] > before["req_tot"], 5,
                   "the slow request at HAProxy")
        time.sleep(0.2)
        self.hap.soft_stop()  # GOAWAY; exits once the slow stream is done
        t.join(20)
        self.assertFalse(t.is_alive())
        self.assertEqual(result["r"].stdout, b"b1 slow\n\n200", result["r"].stderr)
        self.assertIn(self.get_status(), (502, 503))
        self.start_haproxy()
        _, info, _ = self.echo(self.client(), "/echo?after-soft-stop")
        self.assertEqual(info["path"], "/echo?after-soft-stop")

    def test_a_connection_the_server_closes_when_idle_is_replaced(self):
        c = self.client(self.p["ka"])
        self.echo(c, "/echo?first")
        before = self.stat("keepalive")
        self.assertEqual(before["h2_open_connections"], 1)
        # HAProxy's timeout http-keep-alive (1 s) ends the idle connection from its side.
        wait_until(lambda: self.stat("keepalive")["h2_open_connections"] == 0, 5,
                   "HAProxy to close the idle connection")
        time.sleep(0.3)  # Tandem has read the close
        _, info, _ = self.echo(c, "/echo?second")
        self.assertEqual(info["path"], "/echo?second")
        after = self.stat("keepalive")
        self.assertEqual(after["h2_total_connections"] - before["h2_total_connections"], 1)


if __name__ == "__main__":
    unittest.main()
