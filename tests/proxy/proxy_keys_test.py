#!/usr/bin/env python3
"""Effect tests of single configuration keys of `tandem proxy`, one test per key (named
test_<block>_<key>_<what>): each key is given a non-default value whose behaviour differs
observably from the default, so the test fails when the key is removed from the YAML or its
effect is lost. Real backends, real clients (raw sockets, Python's ssl, ss), 127.0.0.0/8 only.

rate_limit.key is the exception: src is its only value and its default, so its test shows what
it means (one count per client address) but cannot fail when the key is removed.

Classes, one proxy each:
  HttpKeysTest      ACL criteria, request/response rules, routing, rate limits, retries and
                    redispatch, balance uri whole, frontend maxconn and timeouts, bind backlog,
                    global.group
  DefaultsKeysTest  the top-level defaults (mode tcp, retries, redispatch, maxconn, balance)
  TlsKeysTest       bind alpn, global.tls ciphers and ciphersuites, the ssl ACL
  LogKeysTest       global.log target/ident/facility: the proxy runs in a private mount
                    namespace whose /dev/log is a datagram socket of the test (syslog(3)
                    writes there), the host's /dev is untouched
  BindV6onlyTest    bind v6only: false on the IPv4-mapped [::ffff:127.0.0.1] (a bind the
                    kernel refuses on a v6-only socket)
"""
import json
import os
import re
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
from harness import (TANDEM, Backend, Process, Tandem, closed_by_peer, free_port, make_cert,  # noqa
                     recv_response, wait_port)


# ---- helpers -------------------------------------------------------------------------------------

def request(port, path="/", headers=None, source=None, timeout=5.0):
    """One GET with Connection: close, optionally from another loopback source address
    (127.0.0.2 ...). Returns (status, headers dict, body, raw head)."""
    h = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    raw = f"GET {path} HTTP/1.1\r\nHost: test\r\n{h}Connection: close\r\n\r\n".encode()
    src = (source, 0) if source else None
    with socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                  source_address=src) as s:
        s.sendall(raw)
        return recv_response(s, timeout)


def head_values(head, name):
    """Every value of header `name` in a raw response head (recv_response keeps the first)."""
    out = []
    for line in head.decode("latin-1").split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            out.append(v.strip())
    return out


def echoed(body):
    """The request headers the backend's /echo saw: lower-cased name -> list of values."""
    info = json.loads(body)
    out = {}
    for k, v in info["headers"]:
        out.setdefault(k.lower(), []).append(v)
    return info["server"], out


def server_of(status_body):
    """Name of the backend that answered (/echo JSON or the "<name> ..." plain bodies)."""
    status, _, body, _ = status_body
    text = body.decode(errors="replace")
    if text.startswith("{"):
        return json.loads(text)["server"]
    return text.split()[0] if text.split() else ""


def wait_until(predicate, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class Closer:
    """A server that accepts every connection and resets it at once, counting the accepts:
    each is one connection attempt of the proxy."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepts = 0
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            with self.lock:
                self.accepts += 1
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()

    def count(self):
        with self.lock:
            return self.accepts

    def reset(self):
        with self.lock:
            self.accepts = 0

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


class Hanger:
    """A listener whose accept queue is full (listen(0), filled, never accepted): the kernel
    drops further SYNs, so a connect to it hangs until the connecting side gives up."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(2):
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(f)
        time.sleep(0.2)
        # Proof that it hangs: one more connect does not complete in 0.5 s.
        probe = socket.socket()
        probe.settimeout(0.5)
        try:
            probe.connect(("127.0.0.1", self.port))
            raise RuntimeError("the full accept queue still completed a connection")
        except socket.timeout:
            pass
        finally:
            probe.close()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def close(self):
        for f in self.fillers:
            f.close()
        self.sock.close()


def start_proxy(register_cleanup, make, ports):
    """Starts a proxy, registers its stop before waiting for its ports (a proxy that never
    listens is stopped too), then waits for them."""
    proxy = make()
    register_cleanup(proxy.stop)
    try:
        for p in ports:
            wait_port(p, proc=proxy.proc)
    except RuntimeError as e:
        raise AssertionError(f"the proxy did not start: {e}\n{proxy.output()}") from None
    return proxy


def start_class_proxy(cls, cfg, ports, name="tandem"):
    cls.proxy = start_proxy(cls.addClassCleanup, lambda: Tandem(cfg, cls.tmp, [], name=name),
                            ports)


def new_tmp(cls, prefix):
    cls.tmp = tempfile.mkdtemp(prefix=prefix)
    cls.addClassCleanup(shutil.rmtree, cls.tmp, True)


# ---- HTTP keys -----------------------------------------------------------------------------------

class HttpKeysTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        new_tmp(cls, "tandem-keys-http-")
        cls.b = {}
        for name in ("b1", "b2", "b3"):
            cls.b[name] = Backend(name, cls.tmp)
            cls.addClassCleanup(cls.b[name].stop)
        cls.closer_retry = Closer()
        cls.addClassCleanup(cls.closer_retry.close)
        cls.closer_redisp = Closer()
        cls.addClassCleanup(cls.closer_redisp.close)
        cls.hanger = Hanger()
        cls.addClassCleanup(cls.hanger.close)
        with open(os.path.join(cls.tmp, "sources.txt"), "w") as f:
            f.write("# addresses the src_file ACL matches\n127.0.0.3\n\n127.0.9.0/24  # a net\n")
        names = ["acl", "rules", "rl", "whole", "retry", "redisp", "hang", "fto", "cto", "kato",
                 "tun", "maxc", "blog"]
        cls.port = {n: free_port() for n in names}
        p = cls.port
        b1, b2, b3 = (cls.b[n].address for n in ("b1", "b2", "b3"))
        cfg = f"""
global:
  threads: 1
  group: nogroup
  log: {{ target: stderr, level: info }}
frontends:
  acl:
    bind: "127.0.0.1:{p['acl']}"
    acls:
      pic: {{ path_end: [ .jpg, .png ] }}
      admin_exact_case: {{ path_beg: /Admin, ignore_case: false }}
      bearer: {{ header: X-Token, regex: "^Bearer [0-9]+$" }}
      env_live: {{ header: X-Env, equals: [ prod, live ] }}
      from_two: {{ src: 127.0.0.2 }}
      from_file: {{ src_file: sources.txt }}
    http_response:
      - {{ set_header: {{ name: X-Pic, value: "1" }}, if: pic }}
      - {{ set_header: {{ name: X-Admin, value: "1" }}, if: admin_exact_case }}
      - {{ set_header: {{ name: X-Bearer, value: "1" }}, if: bearer }}
      - {{ set_header: {{ name: X-Env-Live, value: "1" }}, if: env_live }}
      - {{ set_header: {{ name: X-From-Two, value: "1" }}, if: from_two }}
      - {{ set_header: {{ name: X-From-File, value: "1" }}, if: from_file }}
    default_backend: only_b1
  rules:
    bind: "127.0.0.1:{p['rules']}"
    acls:
      api: {{ path_beg: /api/ }}
      static: {{ path_beg: /static/ }}
      too_many: {{ path_beg: /too-many }}
      moved: {{ path_beg: /moved }}
      old: {{ path_beg: /old/ }}
    http_request:
      - {{ deny: {{ status: 429 }}, if: too_many }}
      - {{ redirect: {{ location: "http://elsewhere.test/landing", code: 302 }}, if: moved }}
      - {{ redirect: {{ prefix: "https://new.test", code: 301 }}, if: old }}
      - {{ add_header: {{ name: X-Added, value: by-tandem }} }}
    http_response:
      - {{ add_header: {{ name: Server, value: tandem-added }} }}
      - {{ set_header: {{ name: X-Api, value: "1" }}, if: api }}
      - {{ set_header: {{ name: X-Dynamic, value: "1" }}, unless: static }}
    use_backend:
      - {{ backend: only_b2, unless: static }}
    default_backend: only_b1
  rl:
    bind: "127.0.0.1:{p['rl']}"
    rate_limits:
      per_src: {{ key: src, window: 30s, limit: 2, status: 503 }}
    http_request:
      - {{ track: per_src }}
    default_backend: only_b1
  whole: {{ bind: "127.0.0.1:{p['whole']}", default_backend: whole }}
  retry: {{ bind: "127.0.0.1:{p['retry']}", default_backend: retry }}
  redisp: {{ bind: "127.0.0.1:{p['redisp']}", default_backend: redisp }}
  hang: {{ bind: "127.0.0.1:{p['hang']}", default_backend: hang }}
  fto:
    bind: "127.0.0.1:{p['fto']}"
    timeout: {{ http_request: 500ms }}
    default_backend: only_b1
  cto:
    bind: "127.0.0.1:{p['cto']}"
    timeout: {{ client: 1s }}
    default_backend: only_b1
  kato:
    bind: "127.0.0.1:{p['kato']}"
    timeout: {{ keep_alive: 200ms }}
    default_backend: only_b1
  tun: {{ bind: "127.0.0.1:{p['tun']}", default_backend: tun }}
  maxc:
    bind: "127.0.0.1:{p['maxc']}"
    maxconn: 1
    default_backend: only_b1
  blog:
    bind: [ {{ address: "127.0.0.1:{p['blog']}", backlog: 37 }} ]
    default_backend: only_b1
backends:
  only_b1: {{ servers: [ {{ name: b1, address: "{b1}" }} ] }}
  only_b2: {{ servers: [ {{ name: b2, address: "{b2}" }} ] }}
  whole:
    balance: {{ algorithm: uri, whole: true }}
    servers: [ {{ name: b1, address: "{b1}" }}, {{ name: b2, address: "{b2}" }}, {{ name: b3, address: "{b3}" }} ]
  retry:
    retries: 2
    servers: [ {{ name: closer, address: "{cls.closer_retry.address}" }} ]
  redisp:
    balance: first
    retries: 2
    redispatch: false
    servers:
      - {{ name: closer, address: "{cls.closer_redisp.address}" }}
      - {{ name: b1, address: "{b1}" }}
  hang:
    retries: 1
    timeout: {{ connect: 300ms }}
    servers: [ {{ name: hanger, address: "{cls.hanger.address}" }} ]
  tun:
    timeout: {{ tunnel: 500ms }}
    servers: [ {{ name: b1, address: "{b1}" }} ]
"""
        start_class_proxy(cls, cfg, p.values())

    # ---- ACLs -----------------------------------------------------------------------------

    def acl_headers(self, path="/", headers=None, source=None):
        status, hdrs, body, _ = request(self.port["acl"], path, headers, source)
        return hdrs

    def test_acl_path_end_matches_the_end_of_the_path(self):
        self.assertEqual(self.acl_headers("/img/photo.png").get("x-pic"), "1")
        self.assertEqual(self.acl_headers("/img/photo.JPG?size=2").get("x-pic"), "1")
        self.assertNotIn("x-pic", self.acl_headers("/img/photo.jpg.html"))
        self.assertNotIn("x-pic", self.acl_headers("/jpg/photo"))

    def test_acl_ignore_case_false_matches_case_sensitively(self):
        self.assertEqual(self.acl_headers("/Admin/users").get("x-admin"), "1")
        # With the default (ignore_case: true) these would match as well.
        self.assertNotIn("x-admin", self.acl_headers("/admin/users"))
        self.assertNotIn("x-admin", self.acl_headers("/ADMIN/users"))

    def test_acl_regex_matches_a_header_value(self):
        self.assertEqual(self.acl_headers("/", {"X-Token": "Bearer 12345"}).get("x-bearer"), "1")
        self.assertEqual(self.acl_headers("/", {"X-Token": "bearer 7"}).get("x-bearer"), "1")
        self.assertNotIn("x-bearer", self.acl_headers("/", {"X-Token": "Bearer abc"}))
        self.assertNotIn("x-bearer", self.acl_headers("/", {"X-Token": "xBearer 1"}))
        self.assertNotIn("x-bearer", self.acl_headers("/"))

    def test_acl_equals_matches_whole_header_values(self):
        self.assertEqual(self.acl_headers("/", {"X-Env": "prod"}).get("x-env-live"), "1")
        self.assertEqual(self.acl_headers("/", {"X-Env": "LIVE"}).get("x-env-live"), "1")
        self.assertNotIn("x-env-live", self.acl_headers("/", {"X-Env": "production"}))
        self.assertNotIn("x-env-live", self.acl_headers("/", {"X-Env": "pre-prod"}))
        self.assertNotIn("x-env-live", self.acl_headers("/"))

    def test_acl_src_matches_the_client_address(self):
        self.assertEqual(self.acl_headers("/", source="127.0.0.2").get("x-from-two"), "1")
        self.assertNotIn("x-from-two", self.acl_headers("/", source="127.0.0.1"))
        self.assertNotIn("x-from-two", self.acl_headers("/", source="127.0.0.3"))

    def test_acl_src_file_matches_addresses_and_networks_of_the_file(self):
        self.assertEqual(self.acl_headers("/", source="127.0.0.3").get("x-from-file"), "1")
        self.assertEqual(self.acl_headers("/", source="127.0.9.9").get("x-from-file"), "1")
        self.assertNotIn("x-from-file", self.acl_headers("/", source="127.0.0.1"))
        self.assertNotIn("x-from-file", self.acl_headers("/", source="127.0.0.2"))

    # ---- http_request / http_response / use_backend ------------------------------------------

    def test_http_request_deny_status_is_the_answer(self):
        status, _, _, _ = request(self.port["rules"], "/too-many/x")
        self.assertEqual(status, 429)

    def test_http_request_redirect_location_is_sent_as_is(self):
        status, headers, _, _ = request(self.port["rules"], "/moved/page?a=1")
        self.assertEqual(status, 302)
        self.assertEqual(headers.get("location"), "http://elsewhere.test/landing")

    def test_http_request_redirect_prefix_keeps_path_and_query(self):
        status, headers, _, _ = request(self.port["rules"], "/old/page?a=1&b=2")
        self.assertEqual(status, 301)
        self.assertEqual(headers.get("location"), "https://new.test/old/page?a=1&b=2")

    def test_http_request_add_header_appends_to_the_clients_field(self):
        status, _, body, _ = request(self.port["rules"], "/echo", {"X-Added": "by-client"})
        self.assertEqual(status, 200, body)
        _, seen = echoed(body)
        self.assertEqual(seen.get("x-added"), ["by-client", "by-tandem"])
        status, _, body, _ = request(self.port["rules"], "/echo")
        self.assertEqual(echoed(body)[1].get("x-added"), ["by-tandem"])

    def test_http_response_add_header_keeps_the_servers_field(self):
        status, _, _, head = request(self.port["rules"], "/echo")
        self.assertEqual(status, 200)
        servers = head_values(head, "server")
        self.assertEqual(len(servers), 2, head)
        self.assertTrue(servers[0].startswith("tandem-test-backend"), servers)
        self.assertEqual(servers[1], "tandem-added")

    def test_http_response_if_applies_only_when_the_condition_holds(self):
        self.assertEqual(request(self.port["rules"], "/api/x")[1].get("x-api"), "1")
        self.assertNotIn("x-api", request(self.port["rules"], "/echo")[1])
        self.assertNotIn("x-api", request(self.port["rules"], "/static/x")[1])

    def test_http_response_unless_applies_only_when_the_condition_fails(self):
        self.assertEqual(request(self.port["rules"], "/echo")[1].get("x-dynamic"), "1")
        self.assertEqual(request(self.port["rules"], "/api/x")[1].get("x-dynamic"), "1")
        self.assertNotIn("x-dynamic", request(self.port["rules"], "/static/x")[1])

    def test_use_backend_unless_routes_when_the_condition_fails(self):
        self.assertEqual(server_of(request(self.port["rules"], "/echo")), "b2")
        self.assertEqual(server_of(request(self.port["rules"], "/api/x")), "b2")
        self.assertEqual(server_of(request(self.port["rules"], "/static/app.js")), "b1")

    # ---- rate limits ------------------------------------------------------------------------

    def test_rate_limit_status_answers_requests_over_the_limit(self):
        statuses = [request(self.port["rl"], source="127.0.0.4")[0] for _ in range(4)]
        self.assertEqual(statuses, [200, 200, 503, 503])

    def test_rate_limit_key_src_counts_each_client_address_apart(self):
        # key: src is the only key (and the default): this shows its meaning, one count per
        # client address; removing the key cannot change it.
        first = [request(self.port["rl"], source="127.0.0.5")[0] for _ in range(3)]
        self.assertEqual(first[:2], [200, 200])
        self.assertNotEqual(first[2], 200)
        self.assertEqual([request(self.port["rl"], source="127.0.0.6")[0] for _ in range(2)],
                         [200, 200])

    # ---- balancing, retries, redispatch -------------------------------------------------------

    def test_balance_whole_hashes_the_query_string_too(self):
        seen = {server_of(request(self.port["whole"], f"/echo?item={i}")) for i in range(30)}
        # Without whole, the path alone (/echo) is hashed: one server for all 30.
        self.assertGreaterEqual(len(seen), 2, seen)
        for i in range(5):  # still a hash: the same target goes to the same server
            a = server_of(request(self.port["whole"], f"/echo?item={i}"))
            self.assertEqual(a, server_of(request(self.port["whole"], f"/echo?item={i}")))

    def test_backend_retries_sets_the_number_of_connection_attempts(self):
        c = self.closer_retry
        c.reset()
        status, _, _, _ = request(self.port["retry"], "/")
        self.assertIn(status, (502, 503))
        wait_until(lambda: c.count() >= 3, 2.0)
        time.sleep(0.2)
        self.assertEqual(c.count(), 3)  # retries: 2 -> 1 + 2 attempts (default 3 -> 4)

    def test_backend_redispatch_false_retries_on_the_failed_server(self):
        c = self.closer_redisp
        c.reset()
        status, _, body, _ = request(self.port["redisp"], "/")
        # With redispatch (the default) the retry would avoid the failed server and b1 answer.
        self.assertIn(status, (502, 503), body)
        wait_until(lambda: c.count() >= 3, 2.0)
        time.sleep(0.2)
        self.assertEqual(c.count(), 3)

    # ---- timeouts -----------------------------------------------------------------------------

    def test_timeout_connect_ends_a_hanging_connect(self):
        t0 = time.monotonic()
        # Default connect timeout 5 s (x 2 attempts): the client's 4 s would run out first.
        status, _, _, _ = request(self.port["hang"], "/", timeout=4.0)
        self.assertEqual(status, 503)
        self.assertLess(time.monotonic() - t0, 3.0)

    def test_frontend_timeout_overrides_the_defaults_for_this_frontend(self):
        with socket.create_connection(("127.0.0.1", self.port["fto"]), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
            t0 = time.monotonic()
            status, _, _, _ = recv_response(s, timeout=4)  # default http_request: 10 s
            self.assertEqual(status, 408)
            self.assertLess(time.monotonic() - t0, 3.0)

    def test_timeout_client_drops_a_client_that_stops_reading(self):
        size = 24 * 1024 * 1024
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        with s:
            s.settimeout(5)
            s.connect(("127.0.0.1", self.port["cto"]))
            s.sendall(f"GET /download?bytes={size}&seed=3 HTTP/1.1\r\nHost: x\r\n"
                      f"Connection: close\r\n\r\n".encode())
            time.sleep(3.5)  # reads nothing: the proxy's sends stall (timeout client 1 s)
            got, ended = 0, "timeout"
            s.settimeout(10)
            try:
                while True:
                    d = s.recv(1 << 20)
                    if not d:
                        ended = "eof"
                        break
                    got += len(d)
            except ConnectionResetError:
                ended = "reset"
            except socket.timeout:
                pass
        # With the default (50 s) the whole response (head + 24 MiB) would arrive.
        self.assertIn(ended, ("eof", "reset"))
        self.assertLess(got, size)

    def test_timeout_keep_alive_closes_an_idle_client_connection(self):
        with socket.create_connection(("127.0.0.1", self.port["kato"]), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, _, _ = recv_response(s)
            self.assertEqual(status, 200)
            self.assertNotEqual(headers.get("connection"), "close")
            t0 = time.monotonic()
            # keep_alive 200 ms; the default (2 s) would keep it open past the 1.2 s waited.
            self.assertTrue(closed_by_peer(s, timeout=1.2))
            self.assertLess(time.monotonic() - t0, 1.2)

    def test_timeout_tunnel_closes_an_idle_websocket(self):
        with socket.create_connection(("127.0.0.1", self.port["tun"]), timeout=5) as s:
            s.sendall(b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                      b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            status, _, _, _ = recv_response(s)
            self.assertEqual(status, 101)
            mask = b"\x01\x02\x03\x04"
            payload = bytes(c ^ mask[i % 4] for i, c in enumerate(b"ping"))
            s.sendall(b"\x81\x84" + mask + payload)
            s.settimeout(3)
            self.assertEqual(s.recv(64)[-4:], b"ping")  # the tunnel works
            t0 = time.monotonic()
            # tunnel 500 ms; the default (1 h) would keep the idle tunnel open.
            self.assertTrue(closed_by_peer(s, timeout=3.0))
            self.assertGreater(time.monotonic() - t0, 0.3)

    # ---- connection limits and sockets -------------------------------------------------------

    def test_frontend_maxconn_holds_new_clients_at_the_limit(self):
        port = self.port["maxc"]
        holder = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            time.sleep(0.3)  # accepted: the frontend is at its maxconn (1)
            waiting = socket.create_connection(("127.0.0.1", port), timeout=5)  # kernel backlog
            with waiting:
                waiting.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                waiting.settimeout(1.0)
                try:
                    early = waiting.recv(1)
                except socket.timeout:
                    early = None
                self.assertIsNone(early, "answered while the frontend was at maxconn 1")
                holder.close()
                status, _, body, _ = recv_response(waiting, timeout=5)
                self.assertEqual(status, 200)
                self.assertEqual(body, b"b1\n")
        finally:
            holder.close()

    def test_bind_backlog_is_the_listen_queue_length(self):
        out = subprocess.run(["ss", "-Hltn", f"sport = :{self.port['blog']}"],
                             capture_output=True, text=True, timeout=10).stdout
        rows = [line.split() for line in out.splitlines() if line.strip()]
        self.assertTrue(rows, out)
        for row in rows:
            # State Recv-Q Send-Q Local Peer: Send-Q of a listening socket is its backlog.
            self.assertEqual(row[2], "37", out)

    # ---- global ---------------------------------------------------------------------------------

    def test_global_group_worker_runs_with_that_group_only(self):
        nogroup = subprocess.run(["getent", "group", "nogroup"], capture_output=True, text=True,
                                 timeout=10).stdout.split(":")[2]
        with open(f"/proc/{self.proxy.pid}/status") as f:
            status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        self.assertEqual(status["Gid"].split(), [nogroup] * 4)
        self.assertEqual(status["Groups"].split(), [nogroup])
        self.assertEqual(status["Uid"].split()[0], "0")  # no user: the user is unchanged
        # And it still serves.
        self.assertEqual(request(self.port["maxc"])[0], 200)


# ---- defaults ------------------------------------------------------------------------------------

class DefaultsKeysTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        new_tmp(cls, "tandem-keys-defaults-")
        cls.b1 = Backend("b1", cls.tmp)
        cls.addClassCleanup(cls.b1.stop)
        cls.b2 = Backend("b2", cls.tmp)
        cls.addClassCleanup(cls.b2.stop)
        cls.echo = Backend("echo", cls.tmp, tcp_echo=True)
        cls.addClassCleanup(cls.echo.stop)
        cls.closer_retry = Closer()
        cls.addClassCleanup(cls.closer_retry.close)
        cls.closer_redisp = Closer()
        cls.addClassCleanup(cls.closer_redisp.close)
        names = ["tcp", "limited", "bal", "retry", "redisp"]
        cls.port = {n: free_port() for n in names}
        p = cls.port
        cfg = f"""
global: {{ threads: 1, log: {{ target: stderr, level: info }} }}
defaults:
  mode: tcp
  retries: 1
  redispatch: false
  maxconn: 1
  balance: first
frontends:
  tcp: {{ bind: "127.0.0.1:{p['tcp']}", default_backend: echo }}
  limited: {{ mode: http, bind: "127.0.0.1:{p['limited']}", default_backend: web }}
  bal: {{ mode: http, bind: "127.0.0.1:{p['bal']}", default_backend: two }}
  retry: {{ mode: http, bind: "127.0.0.1:{p['retry']}", default_backend: retry }}
  redisp: {{ mode: http, bind: "127.0.0.1:{p['redisp']}", default_backend: redisp }}
backends:
  echo: {{ servers: [ {{ name: echo, address: "{cls.echo.address}" }} ] }}
  web:
    mode: http
    servers: [ {{ name: b1, address: "{cls.b1.address}" }} ]
  two:
    mode: http
    servers: [ {{ name: b1, address: "{cls.b1.address}" }}, {{ name: b2, address: "{cls.b2.address}" }} ]
  retry:
    mode: http
    balance: roundrobin
    servers: [ {{ name: closer, address: "{cls.closer_retry.address}" }} ]
  redisp:
    mode: http
    balance: first
    servers:
      - {{ name: closer, address: "{cls.closer_redisp.address}" }}
      - {{ name: b1, address: "{cls.b1.address}" }}
"""
        start_class_proxy(cls, cfg, p.values())

    def test_defaults_mode_tcp_relays_bytes_unparsed(self):
        with socket.create_connection(("127.0.0.1", self.port["tcp"]), timeout=5) as s:
            s.sendall(b"not http at all\r\n\r\n")  # an HTTP frontend would answer 400
            s.shutdown(socket.SHUT_WR)
            data = b""
            s.settimeout(5)
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
        self.assertEqual(data, b"not http at all\r\n\r\n\nEOF after 19 bytes\n")

    def test_defaults_retries_sets_the_attempts_of_backends_without_their_own(self):
        c = self.closer_retry
        c.reset()
        status, _, _, _ = request(self.port["retry"])
        self.assertIn(status, (502, 503))
        wait_until(lambda: c.count() >= 2, 2.0)
        time.sleep(0.2)
        self.assertEqual(c.count(), 2)  # retries: 1 -> 2 attempts (built-in 3 -> 4)

    def test_defaults_redispatch_false_lets_a_retry_pick_the_failed_server(self):
        c = self.closer_redisp
        c.reset()
        status, _, body, _ = request(self.port["redisp"])
        # Redispatch on (built-in default): the retry avoids the closer and b1 answers 200.
        self.assertIn(status, (502, 503), body)
        wait_until(lambda: c.count() >= 2, 2.0)
        time.sleep(0.2)
        self.assertEqual(c.count(), 2)

    def test_defaults_balance_is_used_by_backends_without_their_own(self):
        seen = [server_of(request(self.port["bal"], "/")) for _ in range(6)]
        # first: always the first server; roundrobin (built-in) would alternate b1, b2.
        self.assertEqual(seen, ["b1"] * 6)

    def test_defaults_maxconn_limits_frontends_without_their_own(self):
        port = self.port["limited"]
        holder = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            time.sleep(0.3)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as waiting:
                waiting.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                waiting.settimeout(1.0)
                try:
                    early = waiting.recv(1)
                except socket.timeout:
                    early = None
                self.assertIsNone(early, "answered while the frontend was at maxconn 1")
                holder.close()
                status, _, body, _ = recv_response(waiting, timeout=5)
                self.assertEqual((status, body), (200, b"b1\n"))
        finally:
            holder.close()


# ---- TLS -----------------------------------------------------------------------------------------

def tls_get(port, path="/echo", alpn=None, ciphers=None, max_tls12=False, timeout=5.0):
    """One HTTPS GET with Python's ssl; returns (status, body, ALPN, cipher name, version)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if max_tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if ciphers:
        ctx.set_ciphers(ciphers)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname="keys.test") as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: keys.test\r\nConnection: close\r\n\r\n"
                      .encode())
            status, _, body, _ = recv_response(s, timeout)
            return status, body, s.selected_alpn_protocol(), s.cipher()[0], s.version()


class TlsKeysTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        new_tmp(cls, "tandem-keys-tls-")
        cls.pem, _ = make_cert(cls.tmp, "keys", "keys.test", ["keys.test"])  # ECDSA P-256
        cls.b1 = Backend("b1", cls.tmp)
        cls.addClassCleanup(cls.b1.stop)
        cls.plain, cls.tls = free_port(), free_port()
        cfg = f"""
global:
  threads: 1
  log: {{ target: stderr, level: info }}
  tls:
    ciphers: "ECDHE-ECDSA-CHACHA20-POLY1305"
    ciphersuites: "TLS_CHACHA20_POLY1305_SHA256"
frontends:
  web:
    bind:
      - "127.0.0.1:{cls.plain}"
      - {{ address: "127.0.0.1:{cls.tls}", crt: {cls.pem}, alpn: http/1.0 }}
    acls:
      secure: {{ ssl: true }}
    http_request:
      - {{ set_header: {{ name: X-Over-Tls, value: "yes" }}, if: secure }}
    default_backend: web
backends:
  web: {{ servers: [ {{ name: b1, address: "{cls.b1.address}" }} ] }}
"""
        start_class_proxy(cls, cfg, [cls.plain, cls.tls])

    def test_bind_alpn_is_the_list_offered(self):
        # The client prefers http/1.1; the bind offers http/1.0 only (the default: http/1.1).
        status, _, alpn, _, _ = tls_get(self.tls, alpn=["http/1.1", "http/1.0"])
        self.assertEqual(status, 200)
        self.assertEqual(alpn, "http/1.0")

    def test_global_tls_ciphers_limits_tls12_ciphers(self):
        # The client prefers AES-GCM (as do the built-in defaults); only CHACHA20 is allowed.
        status, _, _, cipher, version = tls_get(
            self.tls, max_tls12=True,
            ciphers="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                    "ECDHE-ECDSA-CHACHA20-POLY1305")
        self.assertEqual((status, version), (200, "TLSv1.2"))
        self.assertEqual(cipher, "ECDHE-ECDSA-CHACHA20-POLY1305")

    def test_global_tls_ciphersuites_limits_tls13_suites(self):
        status, _, _, cipher, version = tls_get(self.tls)
        self.assertEqual((status, version), (200, "TLSv1.3"))
        # Python's client offers AES-256-GCM first; the built-in list would never pick ChaCha.
        self.assertEqual(cipher, "TLS_CHACHA20_POLY1305_SHA256")

    def test_acl_ssl_matches_connections_on_a_tls_bind(self):
        status, body, _, _, _ = tls_get(self.tls)
        self.assertEqual(status, 200)
        self.assertEqual(echoed(body)[1].get("x-over-tls"), ["yes"])
        status, _, body, _ = request(self.plain, "/echo")
        self.assertEqual(status, 200)
        self.assertNotIn("x-over-tls", echoed(body)[1])


# ---- daemon logging ------------------------------------------------------------------------------

class SyslogReceiver:
    """A unix datagram socket collecting what syslog(3) sends to /dev/log."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.settimeout(0.2)
        self.lines = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                d = self.sock.recv(65536)
            except OSError:
                continue
            with self.lock:
                self.lines.append(d.decode(errors="replace"))

    def messages(self):
        with self.lock:
            return list(self.lines)

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


class NamespacedTandem(Process):
    """`tandem proxy` in a private mount namespace whose /dev is a small tmpfs: the usual device
    nodes bind-mounted from the host, and /dev/log a symlink to the test's syslog socket. The
    shell execs tandem, so the PID is tandem's."""

    def __init__(self, yaml_text, tmpdir, syslog_path, name="tandem-ns"):
        self.config = os.path.join(tmpdir, f"{name}.yaml")
        with open(self.config, "w") as f:
            f.write(yaml_text)
        dev = os.path.join(tmpdir, "dev")
        os.makedirs(dev, exist_ok=True)
        script = f"""set -e
mount -t tmpfs -o size=64k,mode=755 tmpfs '{dev}'
for n in null zero full random urandom tty; do
  [ -e /dev/$n ] || continue
  touch '{dev}'/$n && mount --bind /dev/$n '{dev}'/$n
done
ln -s /proc/self/fd '{dev}'/fd
ln -s '{syslog_path}' '{dev}'/log
mount --bind '{dev}' /dev
exec '{TANDEM}' proxy -c '{self.config}'
"""
        super().__init__(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                         os.path.join(tmpdir, f"{name}.log"))


class LogKeysTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        new_tmp(cls, "tandem-keys-log-")
        cls.syslog = SyslogReceiver(os.path.join(cls.tmp, "syslog.sock"))
        cls.addClassCleanup(cls.syslog.close)
        cls.b1 = Backend("b1", cls.tmp)
        cls.addClassCleanup(cls.b1.stop)
        cls.port = free_port()
        cfg = f"""
global:
  threads: 1
  log: {{ target: syslog, ident: tandem-keys-test, facility: local3, level: info }}
frontends:
  web: {{ bind: "127.0.0.1:{cls.port}", default_backend: web }}
backends:
  web: {{ servers: [ {{ name: b1, address: "{cls.b1.address}" }} ] }}
"""
        cls.proxy = start_proxy(cls.addClassCleanup,
                                lambda: NamespacedTandem(cfg, cls.tmp, cls.syslog.path), [cls.port])
        # "proxy started" is logged once the workers run.
        wait_until(lambda: cls.started_lines(), 10.0)

    @classmethod
    def started_lines(cls):
        return [m for m in cls.syslog.messages() if "proxy started" in m]

    def started(self):
        lines = self.started_lines()
        self.assertTrue(lines, f"no 'proxy started' line in syslog: {self.syslog.messages()}\n"
                               f"stderr: {self.proxy.output()}")
        return lines[0]

    def test_global_log_target_syslog_sends_lines_to_syslog_not_stderr(self):
        self.assertEqual(request(self.port)[0], 200)
        self.assertIn("[proxy] proxy started", self.started())
        # target auto (the default, without JOURNAL_STREAM) would write them to stderr.
        self.assertNotIn("proxy started", self.proxy.output())

    def test_global_log_ident_names_the_program(self):
        line = self.started()
        self.assertRegex(line, rf"^<\d+>.* tandem-keys-test\[{self.proxy.pid}\]: ")

    def test_global_log_facility_sets_the_syslog_priority(self):
        pri = int(re.match(r"^<(\d+)>", self.started()).group(1))
        self.assertEqual(pri >> 3, 19)  # local3 (the default, daemon, is 3)
        self.assertEqual(pri & 7, 6)  # info


# ---- bind v6only ---------------------------------------------------------------------------------

class BindV6onlyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        new_tmp(cls, "tandem-keys-v6-")
        cls.b1 = Backend("b1", cls.tmp)
        cls.addClassCleanup(cls.b1.stop)
        cls.port = free_port()

    def test_bind_v6only_false_accepts_ipv4_clients_on_an_ipv6_socket(self):
        # [::ffff:127.0.0.1] is 127.0.0.1 seen from an IPv6 socket: the kernel binds it only
        # with IPV6_V6ONLY off (v6only: true, the default, makes the bind fail: no proxy).
        cfg = f"""
global: {{ threads: 1, log: {{ target: stderr, level: info }} }}
frontends:
  web:
    bind: [ {{ address: "[::ffff:127.0.0.1]:{self.port}", v6only: false }} ]
    default_backend: web
backends:
  web: {{ servers: [ {{ name: b1, address: "{self.b1.address}" }} ] }}
"""
        start_proxy(self.addCleanup, lambda: Tandem(cfg, self.tmp, []), [self.port])
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:  # IPv4
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            status, _, body, _ = recv_response(s)
        self.assertEqual((status, body), (200, b"b1\n"))
        out = subprocess.run(["ss", "-Hltn", f"sport = :{self.port}"], capture_output=True,
                             text=True, timeout=10).stdout
        self.assertIn("[::ffff:127.0.0.1]", out)  # an IPv6 socket took the IPv4 client


if __name__ == "__main__":
    unittest.main(verbosity=2)
