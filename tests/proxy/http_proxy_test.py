#!/usr/bin/env python3
"""Integration tests of `tandem proxy` in mode http: real backend processes, real clients
(curl, wrk and raw sockets), everything on 127.0.0.1."""
import collections
import hashlib
import json
import os
import random
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import (Backend, Process, Tandem, closed_by_peer, curl, free_port, get, http,  # noqa
                     recv_response, wait_port)


class GarbageServer:
    """Answers every connection with bytes that are not HTTP."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            try:
                c.settimeout(1)
                c.recv(65536)
                c.sendall(b"this is not http at all\r\n\r\n")
            except OSError:
                pass
            c.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


class HttpProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-http-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.b = {}
        for name in ("b1", "b2", "b3"):
            cls.b[name] = Backend(name, cls.tmp)
            cls.addClassCleanup(cls.b[name].stop)
        cls.garbage = GarbageServer()
        cls.addClassCleanup(cls.garbage.close)
        closed_port = free_port()  # nothing listens there: connection refused
        with open(os.path.join(cls.tmp, "503.http"), "wb") as f:
            body = b"custom 503 page\n"
            f.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: %d\r\n"
                    b"Connection: close\r\n\r\n%s" % (len(body), body))
        names = ["rr", "routing", "lc", "src", "uri", "first", "backup", "allbk", "nosrv", "bad",
                 "slow", "refused", "fwd", "queue", "qto", "limited", "berules", "dyn"]
        cls.port = {n: free_port() for n in names}
        b1, b2, b3 = (cls.b[n].address for n in ("b1", "b2", "b3"))
        cfg = f"""
global: {{ threads: 1, log: {{ target: stderr, level: info }} }}
defaults:
  timeout: {{ connect: 1s, client: 5s, server: 3s, http_request: 500ms, keep_alive: 2s, queue: 1s }}
  retries: 2
  errorfiles: {{ 503: {cls.tmp}/503.http }}
frontends:
  rr: {{ bind: "127.0.0.1:{cls.port['rr']}", default_backend: rr }}
  lc: {{ bind: "127.0.0.1:{cls.port['lc']}", default_backend: lc }}
  src: {{ bind: "127.0.0.1:{cls.port['src']}", default_backend: src }}
  uri: {{ bind: "127.0.0.1:{cls.port['uri']}", default_backend: uri }}
  first: {{ bind: "127.0.0.1:{cls.port['first']}", default_backend: first }}
  dyn: {{ bind: "127.0.0.1:{cls.port['dyn']}", default_backend: dyn }}
  backup: {{ bind: "127.0.0.1:{cls.port['backup']}", default_backend: backup }}
  allbk: {{ bind: "127.0.0.1:{cls.port['allbk']}", default_backend: allbk }}
  nosrv: {{ bind: "127.0.0.1:{cls.port['nosrv']}", default_backend: nosrv }}
  bad: {{ bind: "127.0.0.1:{cls.port['bad']}", default_backend: bad }}
  slow: {{ bind: "127.0.0.1:{cls.port['slow']}", default_backend: slow }}
  refused: {{ bind: "127.0.0.1:{cls.port['refused']}", default_backend: refused }}
  fwd: {{ bind: "127.0.0.1:{cls.port['fwd']}", default_backend: fwd }}
  queue: {{ bind: "127.0.0.1:{cls.port['queue']}", default_backend: queue }}
  limited:
    bind: "127.0.0.1:{cls.port['limited']}"
    rate_limits:
      per_ip: {{ key: src, window: 1s, limit: 5, status: 429, expire: 10s }}
    http_request:
      - {{ track: per_ip }}
    default_backend: only_b1
  qto: {{ bind: "127.0.0.1:{cls.port['qto']}", default_backend: qto }}
  berules:
    bind: "127.0.0.1:{cls.port['berules']}"
    acls:
      to_guarded: {{ header: X-Route, equals: guarded }}
    http_request:
      - {{ set_header: {{ name: X-Order, value: frontend }} }}
      - {{ set_header: {{ name: X-Frontend, value: "1" }} }}
    http_response:
      - {{ set_header: {{ name: X-Resp, value: frontend }} }}
    use_backend:
      - {{ backend: guarded, if: to_guarded }}
    default_backend: only_b1
  routing:
    bind: "127.0.0.1:{cls.port['routing']}"
    acls:
      is_api: {{ path_beg: /api/ }}
      is_b2host: {{ host: b2.test }}
      blocked: {{ path_beg: /blocked }}
      old: {{ path_beg: /old }}
      is_post: {{ method: POST }}
      debug: {{ header: X-Debug, exists: true }}
      mobile: {{ header: User-Agent, contains: mobile }}
      v2: {{ path_reg: "^/v[2-9]/" }}
    http_request:
      - {{ deny: 403, if: blocked }}
      - {{ redirect: {{ scheme: https, code: 301 }}, if: old }}
      - {{ set_header: {{ name: X-Tandem, value: "yes" }} }}
      - {{ del_header: X-Remove-Me }}
      - {{ set_header: {{ name: X-Debugging, value: "1" }}, if: debug }}
    http_response:
      - {{ set_header: {{ name: X-Frame-Options, value: DENY }} }}
      - {{ del_header: Server }}
    use_backend:
      - {{ backend: only_b2, if: "is_api or is_b2host" }}
      - {{ backend: only_b3, if: "mobile or (v2 and not is_post)" }}
    default_backend: only_b1
backends:
  rr:
    servers:
      - {{ name: b1, address: "{b1}", weight: 1 }}
      - {{ name: b2, address: "{b2}", weight: 2 }}
      - {{ name: b3, address: "{b3}", weight: 3 }}
  only_b1: {{ servers: [ {{ name: b1, address: "{b1}" }} ] }}
  only_b2: {{ servers: [ {{ name: b2, address: "{b2}" }} ] }}
  only_b3: {{ servers: [ {{ name: b3, address: "{b3}" }} ] }}
  lc:
    balance: leastconn
    servers: [ {{ name: b1, address: "{b1}" }}, {{ name: b2, address: "{b2}" }} ]
  src:
    balance: source
    servers: [ {{ name: b1, address: "{b1}" }}, {{ name: b2, address: "{b2}" }}, {{ name: b3, address: "{b3}" }} ]
  uri:
    balance: uri
    servers: [ {{ name: b1, address: "{b1}" }}, {{ name: b2, address: "{b2}" }}, {{ name: b3, address: "{b3}" }} ]
  first:
    balance: first
    servers:
      - {{ name: b1, address: "{b1}", maxconn: 1 }}
      - {{ name: b2, address: "{b2}", maxconn: 1 }}
  dyn:
    balance: first
    fullconn: 100
    servers:
      - {{ name: b1, address: "{b1}", maxconn: 10, minconn: 1 }}
      - {{ name: b2, address: "{b2}", maxconn: 10 }}
  backup:
    servers:
      - {{ name: b1, address: "{b1}", disabled: true }}
      - {{ name: b2, address: "{b2}", backup: true }}
      - {{ name: b3, address: "{b3}", backup: true }}
  allbk:
    allbackups: true
    servers:
      - {{ name: b1, address: "{b1}", disabled: true }}
      - {{ name: b2, address: "{b2}", backup: true }}
      - {{ name: b3, address: "{b3}", backup: true }}
  nosrv:
    servers: [ {{ name: b1, address: "{b1}", disabled: true }} ]
  bad:
    servers: [ {{ name: g, address: "127.0.0.1:{cls.garbage.port}" }} ]
  slow:
    timeout: {{ server: 300ms }}
    servers: [ {{ name: b1, address: "{b1}" }} ]
  refused:
    servers: [ {{ name: none, address: "127.0.0.1:{closed_port}" }} ]
  queue:
    timeout: {{ queue: 5s }}
    servers: [ {{ name: b1, address: "{b1}", maxconn: 1 }} ]
  qto:
    timeout: {{ queue: 200ms }}
    servers: [ {{ name: b2, address: "{b2}", maxconn: 1 }} ]
  fwd:
    forwardfor: true
    servers: [ {{ name: b1, address: "{b1}" }} ]
  guarded:
    acls:
      admin: {{ path_beg: /admin }}
      moved: {{ path_beg: /moved }}
      secret: {{ header: X-Secret, exists: true }}
      hidden: {{ path_beg: /hidden }}
    http_request:
      - {{ deny: 403, if: admin }}
      - {{ deny: 404, if: hidden }}
      - {{ redirect: {{ location: /new, code: 302 }}, if: moved }}
      - {{ set_header: {{ name: X-Order, value: backend }} }}
      - {{ del_header: X-Frontend }}
      - {{ add_header: {{ name: X-Backend, value: guarded }} }}
      - {{ del_header: X-Secret, if: secret }}
    http_response:
      - {{ set_header: {{ name: X-Resp, value: backend }} }}
      - {{ set_header: {{ name: X-Served-By, value: guarded }} }}
    servers: [ {{ name: b2, address: "{b2}" }} ]
"""
        cls.proxy = Tandem(cfg, cls.tmp, cls.port.values())
        cls.addClassCleanup(cls.proxy.stop)

    def server_of(self, port, path="/", headers=None):
        status, _, body, _ = get(port, path, headers)
        self.assertEqual(status, 200, body)
        return body.decode().split()[0]

    # ---- balance algorithms ---------------------------------------------------------------

    def test_roundrobin_follows_weights_exactly(self):
        counts = collections.Counter(self.server_of(self.port["rr"]) for _ in range(60))
        self.assertEqual(counts, {"b1": 10, "b2": 20, "b3": 30})

    def test_roundrobin_is_smooth(self):
        seq = [self.server_of(self.port["rr"]) for _ in range(6)]
        # Smooth WRR interleaves (b3 b2 b1 b3 b2 b3 ...), never three of one in a row.
        self.assertEqual(collections.Counter(seq), {"b1": 1, "b2": 2, "b3": 3})
        self.assertNotIn("b3b3b3", "".join(seq))

    def test_leastconn_avoids_the_busy_server(self):
        busy = {}

        def slow():
            status, _, body, _ = get(self.port["lc"], "/slow?ms=1500")
            busy["server"] = body.decode().split()[0]

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        quick = [self.server_of(self.port["lc"]) for _ in range(5)]
        t.join()
        self.assertEqual(len(set(quick)), 1)
        self.assertNotEqual(quick[0], busy["server"])

    def test_source_sticks_to_one_server(self):
        seen = {self.server_of(self.port["src"]) for _ in range(20)}
        self.assertEqual(len(seen), 1)

    def test_uri_hash_is_stable_per_path_and_spreads(self):
        def server(path):
            return get(self.port["uri"], path)[2].split()[0]
        for i in range(10):
            # The query string is not part of the key (balance uri without `whole`).
            self.assertEqual(server(f"/p/{i}?a=1"), server(f"/p/{i}?b=2"))
        self.assertGreaterEqual(len({server(f"/p/{i}") for i in range(30)}), 2)

    def test_first_fills_servers_in_order(self):
        busy = {}

        def slow():
            busy["server"] = get(self.port["first"], "/slow?ms=1500")[2].decode().split()[0]

        self.assertEqual(self.server_of(self.port["first"]), "b1")
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        other = self.server_of(self.port["first"])
        t.join()
        self.assertEqual(busy["server"], "b1")
        self.assertEqual(other, "b2")  # b1 is at maxconn 1

    def test_minconn_and_fullconn_limit_a_server_while_the_backend_is_quiet(self):
        # b1 may hold 10, but with 2 streams of the 100 of fullconn its limit is minconn (1):
        # the second request goes to b2 (balance first), as HAProxy's dynamic maxconn.
        busy = {}

        def slow():
            busy["server"] = get(self.port["dyn"], "/slow?ms=1500")[2].decode().split()[0]

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        other = self.server_of(self.port["dyn"])
        t.join()
        self.assertEqual(busy["server"], "b1")
        self.assertEqual(other, "b2")

    def test_backup_takes_over_when_no_active_server(self):
        seen = collections.Counter(self.server_of(self.port["backup"]) for _ in range(6))
        self.assertEqual(seen, {"b2": 6})  # only the first backup

    def test_allbackups_uses_every_backup(self):
        seen = collections.Counter(self.server_of(self.port["allbk"]) for _ in range(6))
        self.assertEqual(seen, {"b2": 3, "b3": 3})

    def test_maxconn_queue_serves_waiters_in_order(self):
        done = []

        def req(i):
            status, _, body, _ = get(self.port["queue"], "/slow?ms=300")
            done.append((i, status, time.monotonic()))

        threads = []
        for i in range(4):
            t = threading.Thread(target=req, args=(i,))
            t.start()
            threads.append(t)
            time.sleep(0.05)  # arrive in order
        for t in threads:
            t.join()
        self.assertEqual([d[1] for d in done], [200] * 4)
        self.assertEqual([d[0] for d in done], [0, 1, 2, 3])  # FIFO
        span = done[-1][2] - done[0][2]
        self.assertGreater(span, 0.75)  # one at a time: maxconn 1 held

    def test_queue_timeout_gives_503(self):
        out = {}

        def slow():
            out["first"] = get(self.port["qto"], "/slow?ms=1000")[0]

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.2)
        t0 = time.monotonic()
        self.assertEqual(get(self.port["qto"], "/")[0], 503)
        self.assertLess(time.monotonic() - t0, 0.8)
        t.join()
        self.assertEqual(out["first"], 200)

    def test_rate_limit_per_source(self):
        statuses = [get(self.port["limited"])[0] for _ in range(8)]
        self.assertEqual(statuses[:5], [200] * 5)
        self.assertEqual(statuses[5:], [429] * 3)
        time.sleep(2.1)  # two windows later the source is forgotten
        self.assertEqual(get(self.port["limited"])[0], 200)

    # ---- error statuses ---------------------------------------------------------------------

    def test_503_when_no_server_uses_the_errorfile(self):
        status, _, body, _ = get(self.port["nosrv"])
        self.assertEqual(status, 503)
        self.assertEqual(body, b"custom 503 page\n")

    def test_503_after_retries_when_connection_refused(self):
        status, _, _, _ = get(self.port["refused"])
        self.assertEqual(status, 503)

    def test_502_on_invalid_server_response(self):
        status, headers, _, _ = get(self.port["bad"])
        self.assertEqual(status, 502)
        self.assertEqual(headers.get("connection"), "close")

    def test_504_on_server_timeout(self):
        t0 = time.monotonic()
        status, _, _, _ = get(self.port["slow"], "/slow?ms=2000")
        self.assertEqual(status, 504)
        self.assertLess(time.monotonic() - t0, 1.5)

    def test_upload_longer_than_timeout_server_is_delivered_whole(self):
        # `timeout server` (300 ms on "slow") is an inactivity timeout: a body that keeps
        # flowing for 1.2 s must reach the server whole and bring back its 200.
        pieces = [os.urandom(4096) for _ in range(24)]
        with socket.create_connection(("127.0.0.1", self.port["slow"]), timeout=10) as s:
            s.sendall(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"
                      % sum(map(len, pieces)))
            t0 = time.monotonic()
            for p in pieces:
                s.sendall(p)
                time.sleep(0.05)
            self.assertGreater(time.monotonic() - t0, 1.0)
            status, _, body, _ = recv_response(s, timeout=5)
        self.assertEqual(status, 200, body)
        got = json.loads(body)
        self.assertEqual(got["size"], 24 * 4096)
        self.assertEqual(got["sha256"], hashlib.sha256(b"".join(pieces)).hexdigest())

    def test_408_when_the_head_is_too_slow(self):
        with socket.create_connection(("127.0.0.1", self.port["rr"])) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
            status, _, _, _ = recv_response(s, timeout=3)
            self.assertEqual(status, 408)
            self.assertTrue(closed_by_peer(s))

    def test_400_on_malformed_request(self):
        status, _, _, _ = http(self.port["rr"], b"GET / HTTP/1.1\r\nHost x\r\n\r\n")
        self.assertEqual(status, 400)

    def test_431_on_oversized_head(self):
        big = "a" * 20000
        status, _, _, _ = http(self.port["rr"], f"GET / HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n".encode())
        self.assertEqual(status, 431)

    def test_400_without_host_in_http11(self):
        status, _, _, _ = http(self.port["rr"], b"GET / HTTP/1.1\r\n\r\n")
        self.assertEqual(status, 400)

    def test_smuggling_shapes_get_400_and_close(self):
        shapes = [
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;\x00\r\nabcd\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x4\r\nabcd\r\n0\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        ]
        for raw in shapes:
            with self.subTest(raw=raw):
                with socket.create_connection(("127.0.0.1", self.port["rr"])) as s:
                    s.sendall(raw + b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")
                    status, _, _, _ = recv_response(s)
                    self.assertEqual(status, 400)
                    self.assertTrue(closed_by_peer(s))

    # ---- HTTP semantics ---------------------------------------------------------------------

    def test_pipelined_requests_answer_in_order(self):
        with socket.create_connection(("127.0.0.1", self.port["routing"])) as s:
            s.sendall(b"".join(f"GET /echo?n={i} HTTP/1.1\r\nHost: a\r\n\r\n".encode() for i in range(5)))
            for i in range(5):
                status, _, body, _ = recv_response(s)
                self.assertEqual(status, 200)
                self.assertEqual(json.loads(body)["path"], f"/echo?n={i}")

    def test_keep_alive_reuses_the_server_connection(self):
        ports = set()
        with socket.create_connection(("127.0.0.1", self.port["routing"])) as s:
            for _ in range(5):
                s.sendall(b"GET /echo HTTP/1.1\r\nHost: a\r\n\r\n")
                status, _, body, _ = recv_response(s)
                ports.add(json.loads(body)["peer_port"])
        self.assertEqual(len(ports), 1)
        # A new client connection also gets the pooled server connection (HAProxy would not).
        ports2 = {json.loads(get(self.port["routing"], "/echo")[2])["peer_port"] for _ in range(3)}
        self.assertEqual(ports2, ports)

    def test_http10_client(self):
        r = curl("-0", "-i", f"http://127.0.0.1:{self.port['routing']}/echo")
        out = r.stdout.decode()
        self.assertIn("HTTP/1.1 200", out)
        self.assertIn('"version": "HTTP/1.0"', out)

    def test_chunked_response_and_head_and_204(self):
        status, headers, body, _ = get(self.port["routing"], "/chunked?n=4")
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        self.assertEqual(body, b"chunk-0\nchunk-1\nchunk-2\nchunk-3\n")
        status, headers, body, _ = http(self.port["routing"],
                                        b"HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(headers["content-length"], "3")
        with socket.create_connection(("127.0.0.1", self.port["routing"])) as s:
            for path, want in (("/status/204", 204), ("/status/304", 304), ("/echo", 200)):
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
                status, _, body, _ = recv_response(s)
                self.assertEqual(status, want, path)
                if want != 200:
                    self.assertEqual(body, b"", path)
            # The connection survived the bodiless responses: /echo came back on it, whole.
            self.assertEqual(json.loads(body)["path"], "/echo")

    def test_expect_100_continue(self):
        body = b"x" * 100000
        with socket.create_connection(("127.0.0.1", self.port["routing"])) as s:
            s.sendall(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n"
                      b"Expect: 100-continue\r\n\r\n" % len(body))
            status, _, _, _ = recv_response(s, timeout=3)
            self.assertEqual(status, 100)
            s.sendall(body)
            status, _, resp, _ = recv_response(s)
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(resp)["sha256"], hashlib.sha256(body).hexdigest())

    def test_chunked_upload(self):
        data = os.urandom(300000)
        path = os.path.join(self.tmp, "chunked-upload")
        with open(path, "wb") as f:
            f.write(data)
        r = curl("-H", "Transfer-Encoding: chunked", "--data-binary", f"@{path}",
                 f"http://127.0.0.1:{self.port['routing']}/upload")
        self.assertEqual(json.loads(r.stdout)["sha256"], hashlib.sha256(data).hexdigest())

    def test_websocket_echo_through_the_tunnel(self):
        with socket.create_connection(("127.0.0.1", self.port["routing"])) as s:
            s.sendall(b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                      b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            status, headers, _, _ = recv_response(s)
            self.assertEqual(status, 101)
            self.assertEqual(headers["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            for msg in (b"hello", b"x" * 1000):
                mask = b"\x01\x02\x03\x04"
                payload = bytes(c ^ mask[i % 4] for i, c in enumerate(msg))
                ln = bytes([0x80 | len(msg)]) if len(msg) < 126 else bytes([0x80 | 126]) + len(msg).to_bytes(2, "big")
                s.sendall(b"\x81" + ln + mask + payload)
                got = b""
                want = 2 + (0 if len(msg) < 126 else 2) + len(msg)
                while len(got) < want:
                    d = s.recv(65536)
                    self.assertTrue(d, "the tunnel closed before the echo")
                    got += d
                self.assertEqual(got[-len(msg):], msg)

    # ---- rules and headers ------------------------------------------------------------------

    def test_routing_by_path_host_header_and_regex(self):
        echo = lambda path, h=None: json.loads(get(self.port["routing"], path, h)[2])["server"]
        self.assertEqual(echo("/echo"), "b1")
        self.assertEqual(get(self.port["routing"], "/api/x")[2].split()[0], b"b2")
        r = curl("-H", "Host: B2.Test:8080", f"http://127.0.0.1:{self.port['routing']}/echo")
        self.assertEqual(json.loads(r.stdout)["server"], "b2")
        r = curl("-A", "Some Mobile Browser", f"http://127.0.0.1:{self.port['routing']}/echo")
        self.assertEqual(json.loads(r.stdout)["server"], "b3")
        self.assertEqual(get(self.port["routing"], "/v2/x")[2].split()[0], b"b3")
        r = curl("-X", "POST", f"http://127.0.0.1:{self.port['routing']}/v2/echo")
        self.assertEqual(r.stdout.split()[0], b"b1")

    def test_deny_redirect_and_header_rules(self):
        self.assertEqual(get(self.port["routing"], "/blocked/x")[0], 403)
        status, headers, _, _ = get(self.port["routing"], "/old/page?a=1")
        self.assertEqual(status, 301)
        self.assertEqual(headers["location"], "https://test/old/page?a=1")
        status, headers, body, _ = get(self.port["routing"], "/echo",
                                       {"X-Remove-Me": "1", "X-Debug": "1"})
        hdrs = {k.lower(): v for k, v in json.loads(body)["headers"]}
        self.assertEqual(hdrs.get("x-tandem"), "yes")
        self.assertEqual(hdrs.get("x-debugging"), "1")
        self.assertNotIn("x-remove-me", hdrs)
        self.assertEqual(headers.get("x-frame-options"), "DENY")
        self.assertNotIn("server", headers)

    def test_backend_rules_run_after_the_frontends_on_the_chosen_backend(self):
        port = self.port["berules"]
        # The backend's deny and redirect, with the backend's own ACLs.
        guarded = {"X-Route": "guarded"}
        self.assertEqual(get(port, "/admin/users", guarded)[0], 403)
        # Any status answers as itself (there is a page for each, not a 500 for the missing).
        status, _, body, _ = get(port, "/hidden/x", guarded)
        self.assertEqual(status, 404)
        self.assertIn(b"404 Not Found", body)
        status, headers, _, _ = get(port, "/moved/x", guarded)
        self.assertEqual((status, headers.get("location")), (302, "/new"))
        # Another backend behind the same frontend does not run them: the server answers.
        self.assertEqual(get(port, "/admin/users")[2], b"b1 not found\n")
        # Request rules: the frontend's first, then the backend's (its set wins, its del sees
        # what the frontend added); response rules: the backend's first, then the frontend's.
        status, headers, body, _ = get(port, "/echo", {**guarded, "X-Secret": "s3cret"})
        self.assertEqual(status, 200, body)
        info = json.loads(body)
        self.assertEqual(info["server"], "b2")
        hdrs = collections.defaultdict(list)
        for k, v in info["headers"]:
            hdrs[k.lower()].append(v)
        self.assertEqual(hdrs["x-order"], ["backend"])
        self.assertEqual(hdrs["x-backend"], ["guarded"])
        self.assertNotIn("x-frontend", hdrs)
        self.assertNotIn("x-secret", hdrs)
        self.assertEqual(headers.get("x-resp"), "frontend")
        self.assertEqual(headers.get("x-served-by"), "guarded")
        # Through the default backend, only the frontend's rules.
        status, headers, body, _ = get(port, "/echo", {"X-Secret": "s3cret"})
        hdrs = {k.lower(): v for k, v in json.loads(body)["headers"]}
        self.assertEqual((hdrs.get("x-order"), hdrs.get("x-frontend")), ("frontend", "1"))
        self.assertEqual(hdrs.get("x-secret"), "s3cret")
        self.assertNotIn("x-served-by", headers)

    def test_forwardfor_proto_and_host_preserved(self):
        body = get(self.port["fwd"], "/echo", {"X-Forwarded-Proto": "https"})[2]
        info = json.loads(body)
        hdrs = collections.defaultdict(list)
        for k, v in info["headers"]:
            hdrs[k.lower()].append(v)
        self.assertEqual(hdrs["x-forwarded-for"], ["127.0.0.1"])
        self.assertEqual(hdrs["x-forwarded-proto"], ["http"])  # a client cannot forge it
        self.assertEqual(hdrs["host"], ["test"])
        self.assertNotIn("connection", hdrs)  # hop-by-hop removed


if __name__ == "__main__":
    unittest.main(verbosity=2)
