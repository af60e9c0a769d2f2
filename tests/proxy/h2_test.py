#!/usr/bin/env python3
"""HTTP/2 to clients, with real clients (curl, h2load) and a raw frame-level client:

  H2Test            `proto: h2` on a plain bind speaks HTTP/2 with prior knowledge (and a bind
                    without it does not); `alpn: [h2, http/1.1]` lets a TLS client pick either,
                    a TLS bind without it stays HTTP/1.1, `proto: h2` on a TLS bind forces h2;
                    every stream reaches the server as an HTTP/1.1 request (Host from
                    :authority) under the frontend's ACLs, http_request rules and access log;
                    bodies keep their bytes both ways (1 KiB - 5 MiB, and uploads of unknown
                    length, which go out chunked); a 100 Continue reaches a client that waits
                    for it; 4000 requests multiplexed on 10 connections all succeed;
                    `max_concurrent_streams` is announced and a stream beyond it is refused; a
                    client's RST_STREAM ends one stream and not the connection; a graceful stop
                    (SIGUSR1, SIGTERM) sends GOAWAY and still finishes the streams in flight.
  H2DowngradeTest   no request HTTP/1.1 could read differently crosses the downgrade: a
                    content-length that disagrees with the DATA, connection-specific fields,
                    CR/LF/NUL in values, uppercase or invalid names, bad :path values, misused
                    pseudo-headers and a Host that disagrees with :authority each get
                    RST_STREAM PROTOCOL_ERROR, never a response, and the server behind (an
                    in-process recorder of every byte it is sent) never sees them; legitimate
                    shapes (split cookies, te: trailers, Host without :authority, a header
                    block in CONTINUATIONs) pass, converted as HTTP/1.1 says them.
  H2FloodTest       rapid reset (CVE-2023-44487) ends the connection with GOAWAY before the
                    attacker's streams are all taken, a CONTINUATION flood (CVE-2024-28182)
                    closes the connection, a header block that never ends does not hold the
                    connection past `timeout http_request`, and the proxy serves new
                    connections after each.
"""
import hashlib
import importlib.util
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

CTEST_TIMEOUT = 120

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from backend import pseudo_random  # noqa: E402
from harness import Backend, Tandem, curl, free_port, make_cert, metric, scrape  # noqa: E402

if importlib.util.find_spec("hpack") is None:
    # python3-hpack (with python3-h2) installs into the system interpreter's dist-packages; an
    # interpreter of its own (pyenv, a venv) running the tests does not look there. Last, so
    # it shadows nothing.
    sys.path.append("/usr/lib/python3/dist-packages")
import hpack  # noqa: E402

# ---- a raw HTTP/2 client --------------------------------------------------------------------

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
SETTINGS_MAX_CONCURRENT_STREAMS, SETTINGS_INITIAL_WINDOW_SIZE = 3, 4
ERRORS = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
          4: "SETTINGS_TIMEOUT", 5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM",
          8: "CANCEL", 9: "COMPRESSION_ERROR", 10: "CONNECT_ERROR", 11: "ENHANCE_YOUR_CALM",
          12: "INADEQUATE_SECURITY", 13: "HTTP_1_1_REQUIRED"}
CANCEL = 8


def frame(kind, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + \
        struct.pack(">I", stream) + payload


class Stream:
    def __init__(self):
        self.headers = []  # (name, value) as received, :status included
        self.data = bytearray()
        self.ended = False  # END_STREAM received
        self.reset = None  # the error name of an RST_STREAM received

    @property
    def statuses(self):
        """Every :status received: interim (1xx) heads, then the final one."""
        return [int(v) for k, v in self.headers if k == ":status"]

    @property
    def status(self):
        """The last :status received (the final one once the stream ended)."""
        return (self.statuses or [None])[-1]

    def header(self, name):
        return next((v for k, v in self.headers if k == name), None)

    @property
    def done(self):
        return self.ended or self.reset is not None


class RawH2:
    """An HTTP/2 client that sends exactly the frames it is told to (header blocks are encoded
    with hpack as given: no lower-casing, no checks, any order), so it can send what h2 client
    libraries refuse to. It records what the server answers: per stream the headers, data, end
    and RST_STREAM code; the connection's SETTINGS, GOAWAY and close. It acknowledges SETTINGS
    and PING, gives every DATA byte it gets back to the server's windows and keeps to the
    server's windows when it sends DATA. Every wait is bounded."""

    def __init__(self, port, tls=None, timeout=5.0, preface=True):
        self.timeout = timeout
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            sock = tls.wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.buf = b""
        self.streams = {}
        self.settings = {}  # the server's SETTINGS
        self.settings_acked = False  # the server acknowledged ours
        self.goaway = None  # (last stream id, error name)
        self.closed = False
        self.next_id = 1
        self.initial_window = 65535
        self.send_window = 65535
        self.stream_windows = {}
        self._block = None  # (stream, bytes, flags) of a header block in CONTINUATIONs
        if preface:
            self.send(PREFACE + frame(SETTINGS, 0, 0))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def new_id(self):
        sid = self.next_id
        self.next_id += 2
        return sid

    def block(self, headers):
        return self.encoder.encode([(k.encode() if isinstance(k, str) else k,
                                     v.encode() if isinstance(v, str) else v)
                                    for k, v in headers], huffman=False)

    def headers(self, headers, end_stream=True, send=True):
        """A HEADERS frame opening the next stream; (id, frame bytes) when not `send`."""
        sid = self.new_id()
        self.streams[sid] = Stream()
        self.stream_windows[sid] = self.initial_window
        f = frame(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0), sid,
                  self.block(headers))
        if not send:
            return sid, f
        self.send(f)
        return sid

    def data(self, sid, payload, end_stream=True):
        """DATA in 16 KiB frames, within the server's windows (waits for WINDOW_UPDATEs);
        stops when the server resets the stream."""
        view = memoryview(payload)
        while True:
            if self.streams[sid].reset is not None:
                return
            n = min(len(view), 16384, self.send_window, self.stream_windows[sid])
            if n == 0 and view:
                self.read_until(lambda: self.streams[sid].reset is not None or
                                min(self.send_window, self.stream_windows[sid]) > 0,
                                what=f"a window for stream {sid}")
                if self.closed:
                    raise ConnectionError("closed while a body was being sent")
                continue
            last = n == len(view)
            self.send(frame(DATA, END_STREAM if last and end_stream else 0, sid,
                            bytes(view[:n])))
            self.send_window -= n
            self.stream_windows[sid] -= n
            view = view[n:]
            if last:
                return

    def rst(self, sid, code=CANCEL):
        self.send(frame(RST_STREAM, 0, sid, struct.pack(">I", code)))

    def request(self, path, method="GET", authority="localhost", extra=(), body=None):
        sid = self.headers(request_headers(path, method, authority, extra),
                           end_stream=body is None)
        if body is not None:
            self.data(sid, body)
        return sid

    # ---- receiving ------------------------------------------------------------------------

    def read_until(self, done, timeout=None, what="the condition"):
        """Reads frames until done() or the server closes the connection (then: done()).
        Raises TimeoutError after `timeout`."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not done():
            if self.closed:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timed out waiting for {what}")
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
                d = b""
            if not d:
                self.closed = True
                return done()
            self.buf += d
            self._frames()
        return True

    def wait_closed(self, timeout=None):
        """True when the server closes the connection (EOF or reset) within the timeout."""
        try:
            self.read_until(lambda: self.closed, timeout, "the close")
        except TimeoutError:
            pass
        return self.closed

    def response(self, sid, timeout=None):
        """The stream once it ended, was reset or the connection closed."""
        s = self.streams[sid]
        self.read_until(lambda: s.done, timeout, f"stream {sid}")
        return s

    def _frames(self):
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + length:
                return
            kind, flags = self.buf[3], self.buf[4]
            sid = struct.unpack(">I", self.buf[5:9])[0] & 0x7FFFFFFF
            payload = self.buf[9:9 + length]
            self.buf = self.buf[9 + length:]
            self._frame(kind, flags, sid, payload)

    def _frame(self, kind, flags, sid, payload):
        out = b""
        if kind == SETTINGS:
            if flags & ACK:
                self.settings_acked = True
            else:
                for i in range(0, len(payload) - 5, 6):
                    k, v = struct.unpack(">HI", payload[i:i + 6])
                    self.settings[k] = v
                    if k == SETTINGS_INITIAL_WINDOW_SIZE:
                        for s in self.stream_windows:
                            self.stream_windows[s] += v - self.initial_window
                        self.initial_window = v
                out += frame(SETTINGS, ACK, 0)
        elif kind == PING and not flags & ACK:
            out += frame(PING, ACK, 0, payload)
        elif kind == GOAWAY:
            last, code = struct.unpack(">II", payload[:8])
            self.goaway = (last & 0x7FFFFFFF, ERRORS.get(code, code))
        elif kind == WINDOW_UPDATE:
            n = struct.unpack(">I", payload)[0] & 0x7FFFFFFF
            if sid == 0:
                self.send_window += n
            else:
                self.stream_windows[sid] = self.stream_windows.get(sid, 0) + n
        elif kind == RST_STREAM:
            code = struct.unpack(">I", payload)[0]
            self.streams.setdefault(sid, Stream()).reset = ERRORS.get(code, code)
        elif kind in (HEADERS, CONTINUATION):
            if kind == HEADERS:
                if flags & PADDED:
                    payload = payload[1:len(payload) - payload[0]]
                if flags & PRIORITY_FLAG:
                    payload = payload[5:]
                self._block = (sid, payload, flags)
            else:
                self._block = (sid, self._block[1] + payload, self._block[2])
            if flags & END_HEADERS:
                s = self.streams.setdefault(sid, Stream())
                s.headers += [(k.decode("latin-1"), v.decode("latin-1"))
                              for k, v in self.decoder.decode(self._block[1], raw=True)]
                s.ended = s.ended or bool(self._block[2] & END_STREAM)
                self._block = None
        elif kind == DATA:
            if flags & PADDED:
                payload = payload[1:len(payload) - payload[0]]
            s = self.streams.setdefault(sid, Stream())
            s.data += payload
            s.ended = s.ended or bool(flags & END_STREAM)
            length = len(payload)
            if length:
                out += frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", length))
                if not s.ended:
                    out += frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", length))
        if out and not self.closed:
            try:
                self.send(out)
            except OSError:
                pass


def request_headers(path, method="GET", authority="localhost", extra=()):
    return [(":method", method), (":scheme", "http"), (":authority", authority),
            (":path", path), *extra]


def wait_until(predicate, timeout=10.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def token():
    return uuid.uuid4().hex[:12]


# ---- a server that records what reaches it --------------------------------------------------

class RecordingBackend:
    """An HTTP/1.1 server inside the test process that keeps every byte it is sent and every
    request it reads (head and body; `complete` once the whole body came). Content-Length and
    chunked bodies, keep-alive; answers 200 "ok" (after M ms for /slow?ms=M)."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(256)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.received = bytearray()
        self.requests = []
        self.conns = set()
        self.stopped = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.stopped = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        self.thread.join(5)
        with self.lock:
            for c in list(self.conns):
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def saw(self, marker):
        with self.lock:
            return marker.encode() in self.received

    def find(self, marker):
        with self.lock:
            return [r for r in self.requests if marker in r["target"]]

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(30)
        buf = bytearray()

        def more():
            d = conn.recv(65536)
            if not d:
                raise ConnectionError("closed")
            with self.lock:
                self.received += d
            buf.extend(d)

        def line():
            while b"\r\n" not in buf:
                more()
            i = buf.index(b"\r\n")
            out = bytes(buf[:i])
            del buf[:i + 2]
            return out

        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    more()
                i = buf.index(b"\r\n\r\n")
                head = bytes(buf[:i]).decode("latin-1").split("\r\n")
                del buf[:i + 4]
                method, target = (head[0].split(" ") + ["", ""])[:2]
                headers = [tuple(p.strip() for p in h.split(":", 1)) for h in head[1:]]
                fields = {k.lower(): v for k, v in headers}
                req = {"method": method, "target": target, "line": head[0], "headers": headers,
                       "body": b"", "complete": False}
                with self.lock:
                    self.requests.append(req)
                body = bytearray()
                if "chunked" in fields.get("transfer-encoding", "").lower():
                    while True:
                        n = int(line().split(b";")[0], 16)
                        if n == 0:
                            while line():
                                pass
                            break
                        while len(buf) < n + 2:
                            more()
                        body += buf[:n]
                        del buf[:n + 2]
                else:
                    n = int(fields.get("content-length", "0"))
                    while len(buf) < n:
                        more()
                    body += buf[:n]
                    del buf[:n]
                req["body"] = bytes(body)
                req["complete"] = True
                m = re.match(r"/slow\?ms=(\d+)", target)
                if m:
                    time.sleep(int(m.group(1)) / 1000)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: 3\r\n\r\nok\n")
        except (OSError, ValueError, IndexError):
            pass
        finally:
            with self.lock:
                self.conns.discard(conn)
            conn.close()


# ---- HTTP/2 on binds, rules, bodies, streams, stop ------------------------------------------

class H2Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-h2-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.pem, cls.crt = make_cert(cls.tmp, "h2", "localhost", ["localhost"])
        cls.web = Backend("b1", cls.tmp)
        cls.addClassCleanup(cls.web.stop)
        cls.p = {n: free_port() for n in ("h2c", "h1", "alpn", "tls11", "tlsh2", "limit", "prom")}
        cls.log = os.path.join(cls.tmp, "access.log")
        p = cls.p
        cfg = f"""
global: {{ log: {{ target: stderr, level: info }} }}
defaults:
  timeout: {{ connect: 1s, client: 10s, server: 10s }}
  log: {{ httplog: true, target: "{cls.log}" }}
frontends:
  web:
    bind:
      - {{ address: "127.0.0.1:{p['h2c']}", proto: h2 }}
      - "127.0.0.1:{p['h1']}"
      - {{ address: "127.0.0.1:{p['alpn']}", crt: "{cls.pem}", alpn: [ h2, http/1.1 ] }}
      - {{ address: "127.0.0.1:{p['tls11']}", crt: "{cls.pem}" }}
      - {{ address: "127.0.0.1:{p['tlsh2']}", crt: "{cls.pem}", proto: h2 }}
      - {{ address: "127.0.0.1:{p['limit']}", proto: h2, max_concurrent_streams: 2 }}
    acls:
      forbidden: {{ path_beg: /forbidden }}
      blocked: {{ header: X-Block, equals: [ "yes" ] }}
    http_request:
      - {{ deny: {{ status: 403 }}, if: forbidden }}
      - {{ deny: {{ status: 429 }}, if: blocked }}
      - {{ add_header: {{ name: X-Added, value: by-tandem }} }}
    default_backend: app
backends:
  app:
    servers: [ {{ name: b1, address: "{cls.web.address}" }} ]
prometheus:
  bind: "127.0.0.1:{p['prom']}"
"""
        cls.proxy = Tandem(cfg, cls.tmp, list(p.values()))
        cls.addClassCleanup(cls.proxy.stop)

    def tearDown(self):
        self.assertIsNone(self.proxy.proc.poll(), self.proxy.output()[-3000:])

    def https(self, port, path, *extra):
        """curl on a TLS bind; stdout ends with a line "<http_version> <code>"."""
        return curl("--cacert", self.crt, "--resolve", f"localhost:{port}:127.0.0.1", *extra,
                    "-w", "\n%{http_version} %{http_code}", f"https://localhost:{port}{path}")

    @staticmethod
    def split(r):
        body, meta = r.stdout.rsplit(b"\n", 1)
        return body, meta.decode()

    def echo_headers(self, body):
        info = json.loads(body)
        return info, {k.lower(): v for k, v in info["headers"]}

    def server_sessions(self):
        return metric(scrape(self.p["prom"]), "haproxy_server_current_sessions", proxy="app",
                      server="b1")

    def test_prior_knowledge_on_a_plain_bind(self):
        port = self.p["h2c"]
        r = curl("--http2-prior-knowledge", "--resolve", f"h2.test:{port}:127.0.0.1",
                 "-w", "\n%{http_version} %{http_code}", f"http://h2.test:{port}/echo?q=1")
        self.assertEqual(r.returncode, 0, r.stderr)
        body, meta = self.split(r)
        self.assertEqual(meta, "2 200")
        info, headers = self.echo_headers(body)
        # The stream reached the server as an HTTP/1.1 request, Host from :authority.
        self.assertEqual((info["method"], info["path"], info["version"]),
                         ("GET", "/echo?q=1", "HTTP/1.1"))
        self.assertEqual(headers["host"], f"h2.test:{port}")
        # The key's effect: the same client on a bind without `proto: h2` gets no HTTP/2 (the
        # preface is a bad HTTP/1.1 request there).
        r = curl("--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}",
                 f"http://127.0.0.1:{self.p['h1']}/echo")
        self.assertFalse(r.returncode == 0 and r.stdout.endswith(b"\n2 200"), r)
        self.assertNotEqual(self.split(r)[1].split()[0], "2", r)
        with socket.create_connection(("127.0.0.1", self.p["h1"]), timeout=5) as s:
            s.sendall(PREFACE + frame(SETTINGS, 0, 0))
            answer = s.recv(65536)
        self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:100])
        # While the prior-knowledge bind answers the raw preface with SETTINGS.
        with RawH2(port) as c:
            c.read_until(lambda: c.settings, what="the server's SETTINGS")
            self.assertEqual(c.settings[SETTINGS_MAX_CONCURRENT_STREAMS], 100)  # the default

    def test_alpn_picks_h2_or_http11(self):
        port = self.p["alpn"]
        r = self.https(port, "/echo", "--http2")
        self.assertEqual(r.returncode, 0, r.stderr)
        body, meta = self.split(r)
        self.assertEqual(meta, "2 200")
        info, headers = self.echo_headers(body)
        self.assertEqual(info["version"], "HTTP/1.1")
        self.assertEqual(headers["host"], f"localhost:{port}")
        r = self.https(port, "/echo", "--http1.1")
        self.assertEqual((r.returncode, self.split(r)[1]), (0, "1.1 200"), r.stderr)
        # What the TLS layer says, without curl: ALPN picks h2 when offered first or alone.
        for offer, picked in ((["h2", "http/1.1"], "h2"), (["http/1.1"], "http/1.1"),
                              (["h2"], "h2")):
            with self.subTest(offer=offer):
                ctx = ssl.create_default_context(cafile=self.crt)
                ctx.set_alpn_protocols(offer)
                with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                        ctx.wrap_socket(raw, server_hostname="localhost") as s:
                    self.assertEqual(s.selected_alpn_protocol(), picked)
        # A crt bind without alpn offers http/1.1 only: HTTP/1.1 even to a client asking for h2.
        r = self.https(self.p["tls11"], "/", "--http2")
        self.assertEqual((r.returncode, self.split(r)[1]), (0, "1.1 200"), r.stderr)

    def test_proto_h2_on_a_tls_bind_forces_h2(self):
        # `proto: h2` on a crt bind: ALPN offers h2 (no alpn given) and the bind speaks h2.
        port = self.p["tlsh2"]
        r = self.https(port, "/echo", "--http2")
        self.assertEqual((r.returncode, self.split(r)[1]), (0, "2 200"), r.stderr)
        ctx = ssl.create_default_context(cafile=self.crt)
        ctx.set_alpn_protocols(["h2"])
        with RawH2(port, tls=ctx) as c:
            self.assertEqual(c.sock.selected_alpn_protocol(), "h2")
            self.assertEqual(c.response(c.request("/")).status, 200)

    def test_rules_acls_and_logs_apply_to_h2(self):
        t = token()
        port = self.p["alpn"]
        r = self.https(port, f"/forbidden-{t}", "--http2")
        self.assertEqual(self.split(r)[1], "2 403", r.stderr)
        r = self.https(port, f"/echo?allowed-{t}", "--http2")
        body, meta = self.split(r)
        self.assertEqual(meta, "2 200", r.stderr)
        self.assertEqual(self.echo_headers(body)[1]["x-added"], "by-tandem")
        # An ACL on a request header sees the h2 client's field.
        r = self.https(port, f"/echo?blocked-{t}", "--http2", "-H", "X-Block: yes")
        self.assertEqual(self.split(r)[1], "2 429", r.stderr)
        # Over prior knowledge too.
        r = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                 f"http://127.0.0.1:{self.p['h2c']}/forbidden-{t}-plain")
        self.assertEqual(r.stdout, b"2 403", r.stderr)

        def lines():
            with open(self.log) as f:
                return [ln for ln in f if t in ln]

        wait_until(lambda: len(lines()) >= 4, 10, f"4 access log lines with {t}")
        by_path = {re.search(r'"(\S+) (\S+)', ln).group(2): ln for ln in lines()}
        self.assertRegex(by_path[f"/forbidden-{t}"],
                         rf' web web/<NOSRV> .* 403 .*"GET /forbidden-{t} ')
        self.assertRegex(by_path[f"/echo?allowed-{t}"],
                         rf' web app/b1 .* 200 .*"GET /echo\?allowed-{t} ')
        self.assertRegex(by_path[f"/echo?blocked-{t}"], rf' 429 .*"GET /echo\?blocked-{t} ')
        self.assertRegex(by_path[f"/forbidden-{t}-plain"], rf' 403 .*"GET /forbidden-{t}-plain ')

    def test_bodies_both_ways_keep_their_bytes(self):
        port = self.p["alpn"]
        rnd = random.Random(16)
        for size in (1024, 5 * 1024 * 1024):
            with self.subTest(upload=size):
                data = rnd.randbytes(size)
                path = os.path.join(self.tmp, f"up-{size}.bin")
                with open(path, "wb") as f:
                    f.write(data)
                r = self.https(port, "/upload", "--http2", "--data-binary", f"@{path}")
                body, meta = self.split(r)
                self.assertEqual(meta, "2 200", r.stderr)
                self.assertEqual(json.loads(body)["size"], size)
                self.assertEqual(json.loads(body)["sha256"], hashlib.sha256(data).hexdigest())
        for size in (1024, 5_000_000):
            with self.subTest(download=size):
                out = os.path.join(self.tmp, f"down-{size}.bin")
                r = self.https(port, f"/download?bytes={size}&seed=5", "--http2", "-o", out)
                self.assertEqual(self.split(r)[1], "2 200", r.stderr)
                with open(out, "rb") as f:
                    self.assertEqual(hashlib.sha256(f.read()).hexdigest(),
                                     hashlib.sha256(pseudo_random(size, 5)).hexdigest())
        with self.subTest("unknown length, curl -T - over TLS"):
            data = rnd.randbytes(3 * 1024 * 1024 + 7)
            r = subprocess.run(["curl", "-sS", "--max-time", "60", "--http2", "--cacert", self.crt,
                                "--resolve", f"localhost:{port}:127.0.0.1", "-T", "-",
                                "-w", "\n%{http_version} %{http_code}",
                                f"https://localhost:{port}/upload"],
                               input=data, capture_output=True, timeout=70)
            body, meta = self.split(r)
            self.assertEqual(meta, "2 200", r.stderr)
            self.assertEqual(json.loads(body), {"sha256": hashlib.sha256(data).hexdigest(),
                                                "size": len(data), "server": "b1"})
        with self.subTest("unknown length, DATA frames without content-length"):
            # Beyond the stream's 64 KiB window: the body moves as the server reads it.
            data = rnd.randbytes(300_000)
            with RawH2(self.p["h2c"]) as c:
                sid = c.request("/upload", "POST", body=data)
                s = c.response(sid, timeout=20)
            self.assertEqual(s.status, 200, s.__dict__)
            self.assertEqual(json.loads(s.data)["sha256"], hashlib.sha256(data).hexdigest())

    def test_expect_100_continue_gets_its_interim_response(self):
        # A client that waits for 100 Continue before its body (RFC 9110 §10.1.1; over h2 an
        # interim HEADERS frame, RFC 9113 §8.1) hears it from the server through the proxy, as
        # an HTTP/1.1 client does; swallowed, the client waits for it until a timeout.
        data = random.Random(100).randbytes(200_000)
        with RawH2(self.p["h2c"]) as c:
            sid = c.headers(request_headers("/upload", "POST", extra=[
                ("content-length", str(len(data))), ("expect", "100-continue")]),
                end_stream=False)
            s = c.streams[sid]
            try:
                c.read_until(lambda: s.headers or s.done, 3, "100 Continue")
            except TimeoutError:
                self.fail("no 100 Continue within 3 s (an HTTP/1.1 client gets it at once)")
            self.assertEqual(s.statuses, [100])
            c.data(sid, data)
            c.response(sid)
        self.assertEqual(s.statuses, [100, 200])
        self.assertEqual(json.loads(s.data)["sha256"], hashlib.sha256(data).hexdigest())

    def test_many_streams_on_few_connections(self):
        r = subprocess.run(["h2load", "-n", "4000", "-c", "10", "-m", "100",
                            f"http://127.0.0.1:{self.p['h2c']}/"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("4000 succeeded, 0 failed, 0 errored, 0 timeout", r.stdout)
        self.assertIn("status codes: 4000 2xx, 0 3xx, 0 4xx, 0 5xx", r.stdout)

    def test_streams_beyond_the_limit_are_refused(self):
        port = self.p["limit"]
        # Three requests right behind the preface, before the client could know the limit:
        # the third is refused (REFUSED_STREAM: not processed, safe to retry), the first two
        # are served.
        with RawH2(port, preface=False) as c:
            opened = [c.headers(request_headers("/slow?ms=800"), send=False) for _ in range(3)]
            c.send(PREFACE + frame(SETTINGS, 0, 0) + b"".join(f for _, f in opened))
            ids = [sid for sid, _ in opened]
            c.read_until(lambda: all(c.streams[i].done for i in ids), 10, "the 3 streams")
            self.assertEqual(c.settings.get(SETTINGS_MAX_CONCURRENT_STREAMS), 2)
            first, second, third = (c.streams[i] for i in ids)
            self.assertEqual((first.status, first.reset, bytes(first.data)),
                             (200, None, b"b1 slow\n"))
            self.assertEqual((second.status, second.reset), (200, None))
            self.assertEqual((third.status, third.reset), (None, "REFUSED_STREAM"))
            # The retry on the same connection, the other two done, is served.
            self.assertEqual(c.response(c.request("/")).status, 200)
            self.assertIsNone(c.goaway)
        # A client that acknowledged the limit and still opens a third stream: never served.
        # nghttp2 (1.52) takes this for a connection error: GOAWAY PROTOCOL_ERROR whose last
        # stream id says the third was not processed (the two in flight end with it).
        with RawH2(port) as c:
            c.read_until(lambda: c.settings, what="the server's SETTINGS")
            ids = [c.request("/slow?ms=800") for _ in range(3)]
            c.read_until(lambda: c.streams[ids[2]].done or c.goaway, 10, "the third stream")
            third = c.streams[ids[2]]
            self.assertIsNone(third.status)
            if third.reset is None:
                self.assertEqual(c.goaway, (ids[1], "PROTOCOL_ERROR"))
            else:
                self.assertIn(third.reset, ("REFUSED_STREAM", "PROTOCOL_ERROR"))

    def test_reset_of_one_stream_keeps_the_connection(self):
        wait_until(lambda: self.server_sessions() == 0, 10, "no request at the server")
        with RawH2(self.p["h2c"]) as c:
            cancelled, kept = c.request("/slow?ms=500"), c.request("/slow?ms=500")
            # Both are at the server before one is cancelled.
            wait_until(lambda: self.server_sessions() == 2, 5, "both requests at the server")
            c.rst(cancelled)
            s = c.response(kept)
            self.assertEqual((s.status, s.reset, bytes(s.data)), (200, None, b"b1 slow\n"))
            self.assertFalse(c.streams[cancelled].done)  # the server said nothing more on it
            third = c.response(c.request("/echo"))
            self.assertEqual(third.status, 200)
            self.assertIsNone(c.goaway)
            self.assertFalse(c.closed)
        # The cancelled request let go of its server connection.
        wait_until(lambda: self.server_sessions() == 0, 10, "the server connections released")

    def test_stop_sends_goaway_and_finishes_streams(self):
        for sig in (signal.SIGUSR1, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                port, prom = free_port(), free_port()
                cfg = f"""
global: {{ log: {{ target: stderr, level: info }} }}
frontends:
  web:
    bind: [ {{ address: "127.0.0.1:{port}", proto: h2 }} ]
    default_backend: app
backends:
  app:
    servers: [ {{ name: b1, address: "{self.web.address}" }} ]
prometheus:
  bind: "127.0.0.1:{prom}"
"""
                proxy = Tandem(cfg, self.tmp, [port, prom], name=f"stopping-{sig.name}")
                try:
                    with RawH2(port, timeout=10) as c:
                        sid = c.request("/slow?ms=1500")
                        wait_until(lambda: metric(scrape(prom), "haproxy_server_current_sessions",
                                                  proxy="app", server="b1") == 1,
                                   5, "the request at the server")
                        proxy.proc.send_signal(sig)
                        c.read_until(lambda: c.goaway, what="GOAWAY")
                        self.assertEqual(c.goaway, (sid, "NO_ERROR"))
                        self.assertFalse(c.streams[sid].done)
                        # A stream opened after the GOAWAY is not served.
                        late = c.request("/echo")
                        s = c.response(sid)
                        self.assertEqual((s.status, s.reset, bytes(s.data)),
                                         (200, None, b"b1 slow\n"))
                        # The last stream done, the connection closes.
                        self.assertTrue(c.wait_closed(5))
                        self.assertIsNone(c.streams[late].status)
                    self.assertEqual(proxy.proc.wait(10), 0, proxy.output())
                finally:
                    proxy.stop()


# ---- downgrade safety -----------------------------------------------------------------------

class RecordingProxyTest(unittest.TestCase):
    """Tandem on an h2c prior-knowledge bind in front of a RecordingBackend (what reached the
    server, byte for byte); the proxy must still be running after every test."""
    PREFIX = "tandem-h2r-"
    TIMEOUTS = "connect: 1s, client: 10s, server: 10s"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix=cls.PREFIX)
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.backend = RecordingBackend()
        cls.addClassCleanup(cls.backend.stop)
        cls.port, cls.prom = free_port(), free_port()
        cfg = f"""
global: {{ log: {{ target: stderr, level: info }} }}
prometheus:
  bind: "127.0.0.1:{cls.prom}"
defaults:
  timeout: {{ {cls.TIMEOUTS} }}
frontends:
  web:
    bind: [ {{ address: "127.0.0.1:{cls.port}", proto: h2 }} ]
    default_backend: app
backends:
  app:
    servers: [ {{ name: rec, address: "{cls.backend.address}" }} ]
"""
        cls.proxy = Tandem(cfg, cls.tmp, [cls.port, cls.prom])
        cls.addClassCleanup(cls.proxy.stop)

    def tearDown(self):
        self.assertIsNone(self.proxy.proc.poll(), self.proxy.output()[-3000:])

    def h2_counter(self, name):
        """tandem_frontend_h2_NAME_total of the frontend (summed over the workers)."""
        return metric(scrape(self.prom), f"tandem_frontend_h2_{name}_total", proxy="web") or 0

    def assert_serves(self):
        """A good request on a new connection is answered and reaches the server once."""
        t = token()
        with RawH2(self.port) as c:
            s = c.response(c.request(f"/after-{t}"))
        self.assertEqual(s.status, 200, s.__dict__)
        self.assertEqual(len(self.backend.find(f"/after-{t}")), 1)


class H2DowngradeTest(RecordingProxyTest):
    """Each malformed request on a fresh connection: RST_STREAM PROTOCOL_ERROR (or the
    connection ended with GOAWAY PROTOCOL_ERROR), never a response; the recorder behind never
    sees its marker; a good request on a new connection is served afterwards."""

    PREFIX = "tandem-h2d-"

    def assert_serves(self):
        """A good request on a new connection reaches the server whole and is answered."""
        t = token()
        body = b"good body " + t.encode()
        with RawH2(self.port) as c:
            s = c.response(c.request(f"/good-{t}", "POST", extra=[("content-length",
                                                                    str(len(body)))], body=body))
        self.assertEqual((s.status, bytes(s.data)), (200, b"ok\n"), s.__dict__)
        got = self.backend.find(f"/good-{t}")
        self.assertEqual(len(got), 1, got)
        self.assertEqual((got[0]["line"], got[0]["body"], got[0]["complete"]),
                         (f"POST /good-{t} HTTP/1.1", body, True))

    def assert_refused(self, headers, marker, body=None):
        with RawH2(self.port) as c:
            # HEADERS and DATA in one write: the server judges them together (a head that is
            # complete on its own, content-length: 0, could be answered before DATA came).
            sid, frames = c.headers(headers, end_stream=body is None, send=False)
            if body is not None:
                frames += frame(DATA, END_STREAM, sid, body)
            c.send(frames)
            s = c.response(sid)
            outcome = dict(status=s.status, reset=s.reset, goaway=c.goaway, closed=c.closed)
            self.assertIsNone(s.status, outcome)
            self.assertFalse(s.data, outcome)
            if s.reset is None:
                self.assertEqual(c.goaway[1] if c.goaway else None, "PROTOCOL_ERROR", outcome)
            else:
                self.assertEqual(s.reset, "PROTOCOL_ERROR", outcome)
        self.assert_serves()
        self.assertFalse(self.backend.saw(marker), f"{marker} reached the server")

    def check(self, cases):
        """cases: (name, headers with the placeholder MARK in them)."""
        for name, headers in cases:
            with self.subTest(name):
                marker = f"smuggle-{token()}"
                self.assert_refused([(k.replace("MARK", marker), v.replace("MARK", marker))
                                     for k, v in headers], marker)

    def test_content_length_mismatch(self):
        for name, lengths, body in (
                ("more DATA than content-length", ["5"], b"hello" + b"SMUGGLED"),
                ("less DATA than content-length", ["100"], b"hello"),
                ("DATA with content-length 0", ["0"], b"SMUGGLED"),
                ("two content-lengths", ["5", "6"], b"hello"),
                ("content-length not a number", ["5x"], b"hello")):
            with self.subTest(name):
                marker = f"smuggle-{token()}"
                path = f"/cl-{token()}"
                body = body.replace(b"SMUGGLED", f"GET /{marker} HTTP/1.1\r\nHost: x\r\n\r\n"
                                    .encode())
                headers = request_headers(path, "POST",
                                          extra=[("content-length", n) for n in lengths])
                self.assert_refused(headers, marker, body=body)
                # The head goes out before the DATA can be judged, so the server may have
                # seen it; but what it read as the body is only ever the client's bytes, up to
                # the declared length: a body cut short is not completed by the bytes of the
                # next request on a reused server connection (the good one above).
                for r in self.backend.find(path):
                    self.assertTrue(body.startswith(r["body"]), r)
                    if r["complete"]:
                        self.assertEqual(len(r["body"]), int(lengths[0]), r)

    def test_connection_specific_headers(self):
        base = request_headers("/MARK")
        self.check([("transfer-encoding: chunked", base + [("transfer-encoding", "chunked")]),
                    ("connection: keep-alive", base + [("connection", "keep-alive")]),
                    ("upgrade: websocket", base + [("upgrade", "websocket")]),
                    ("keep-alive", base + [("keep-alive", "timeout=5")]),
                    ("proxy-connection", base + [("proxy-connection", "keep-alive")]),
                    ("te: gzip", base + [("te", "gzip")])])

    def test_bad_bytes_in_values(self):
        base = request_headers("/ok")
        self.check([("CR", base + [("x-a", "a\rMARK: 1")]),
                    ("LF", base + [("x-a", "a\nGET /MARK HTTP/1.1")]),
                    ("CRLF", base + [("x-a", "a\r\nMARK: 1")]),
                    ("NUL", base + [("x-a", "a\0MARK")]),
                    ("CRLF in :authority", request_headers("/ok", authority="a\r\nMARK: 1")),
                    ("CRLF in :method", [(":method", "GET /MARK HTTP/1.1\r\nx:"),
                                         (":scheme", "http"), (":authority", "a"),
                                         (":path", "/ok")]),
                    ("leading space in a value", base + [("x-MARK", " 1")])])

    def test_uppercase_names(self):
        base = request_headers("/MARK")
        self.check([("X-Upper", base + [("X-Upper", "1")]),
                    ("Content-Length", request_headers("/MARK", "POST") +
                     [("Content-Length", "0")]),
                    ("Host", base + [("Host", "localhost")]),
                    ("space in a name", base + [("x a", "1")]),
                    ("colon in a name", base + [("x:a", "1")]),
                    ("empty name", base + [("", "1")])])

    def test_bad_paths(self):
        self.check([("no leading slash", request_headers("example.com/MARK")),
                    ("absolute URI", request_headers("http://example.com/MARK")),
                    ("empty", request_headers("") + [("x-m", "MARK")]),
                    ("space", request_headers("/MARK HTTP/1.1")),
                    ("tab", request_headers("/MARK\tx")),
                    ("* with GET", request_headers("*") + [("x-m", "MARK")])])

    def test_pseudo_header_misuse(self):
        self.check([("duplicate :path", request_headers("/ok") + [(":path", "/MARK")]),
                    ("unknown :foo", request_headers("/MARK") + [(":foo", "bar")]),
                    ("response :status", request_headers("/MARK") + [(":status", "200")]),
                    ("pseudo after a regular field",
                     [(":method", "GET"), (":scheme", "http"), ("x-a", "1"),
                      (":authority", "localhost"), (":path", "/MARK")]),
                    ("no :method", [(":scheme", "http"), (":authority", "a"), (":path", "/MARK")]),
                    ("no :scheme", [(":method", "GET"), (":authority", "a"), (":path", "/MARK")]),
                    ("neither :authority nor host",
                     [(":method", "GET"), (":scheme", "http"), (":path", "/MARK")])])

    def test_host_disagrees_with_authority(self):
        self.check([("host differs", request_headers("/MARK", authority="a.test") +
                     [("host", "b.test")]),
                    ("host with another port", request_headers("/MARK", authority="a.test") +
                     [("host", "a.test:8080")])])

    def test_legitimate_shapes_pass_converted(self):
        t = token()
        with RawH2(self.port) as c:
            # Host equal to :authority; cookies in several fields (RFC 9113 §8.2.3); te: trailers.
            a = c.request(f"/fine-{t}-a", authority="a.test",
                          extra=[("host", "a.test"), ("cookie", "a=1"), ("cookie", "b=2"),
                                 ("te", "trailers"), ("x-multi", "1"), ("x-multi", "2")])
            # Host only, no :authority.
            b = c.headers([(":method", "GET"), (":scheme", "http"), (":path", f"/fine-{t}-b"),
                           ("host", "b.test")])
            # A header block in a HEADERS and three CONTINUATION frames.
            blk = c.block(request_headers(f"/fine-{t}-c", extra=[("x-long", "v" * 300)]))
            cid = c.new_id()
            c.streams[cid] = Stream()
            parts = [blk[i:i + 100] for i in range(0, len(blk), 100)]
            c.send(frame(HEADERS, END_STREAM, cid, parts[0]) +
                   b"".join(frame(CONTINUATION, 0, cid, p) for p in parts[1:-1]) +
                   frame(CONTINUATION, END_HEADERS, cid, parts[-1]))
            for sid in (a, b, cid):
                self.assertEqual(c.response(sid).status, 200, c.streams[sid].__dict__)
        (ra,), (rb,), (rc,) = (self.backend.find(f"/fine-{t}-{x}") for x in "abc")
        ha = [(k.lower(), v) for k, v in ra["headers"]]
        self.assertEqual(ra["line"], f"GET /fine-{t}-a HTTP/1.1")
        self.assertEqual([v for k, v in ha if k == "host"], ["a.test"])
        self.assertEqual([v for k, v in ha if k == "cookie"], ["a=1; b=2"])
        self.assertEqual([v for k, v in ha if k == "x-multi"], ["1", "2"])
        self.assertEqual([v for k, v in rb["headers"] if k.lower() == "host"], ["b.test"])
        self.assertEqual([v for k, v in rc["headers"] if k.lower() == "x-long"], ["v" * 300])


# ---- floods ---------------------------------------------------------------------------------

class H2FloodTest(RecordingProxyTest):
    PREFIX = "tandem-h2f-"
    TIMEOUTS = "connect: 1s, client: 10s, server: 10s, http_request: 1s"


    def test_rapid_reset_is_stopped(self):
        n = 3000
        floods_before = self.h2_counter("floods")
        t = token()
        with RawH2(self.port, timeout=10) as c:
            c.read_until(lambda: c.settings, what="the server's SETTINGS")
            blk = c.block(request_headers(f"/slow?ms=200&rr-{t}"))  # static table + literals:
            # the same bytes decode the same way every time
            cancel = struct.pack(">I", CANCEL)
            last = 0
            try:
                for first in range(0, n, 100):
                    ids = range(1 + 2 * first, 1 + 2 * min(n, first + 100), 2)
                    c.send(b"".join(frame(HEADERS, END_HEADERS | END_STREAM, i, blk) +
                                    frame(RST_STREAM, 0, i, cancel) for i in ids))
                    last = ids[-1]
            except OSError:
                pass  # the server closed the connection under us: stopped
            self.assertTrue(c.wait_closed(10), "the connection survived the flood")
        self.assertIsNotNone(c.goaway, "closed without GOAWAY")
        last_taken, code = c.goaway
        # nghttp2's limit (Debian's backport of the fix): 1000 resets at once, then 33/s;
        # it ends the connection with INTERNAL_ERROR (others send ENHANCE_YOUR_CALM).
        self.assertIn(code, ("ENHANCE_YOUR_CALM", "INTERNAL_ERROR", "PROTOCOL_ERROR"))
        self.assertLess(last_taken, 1 + 2 * (n - 1), f"all {n} streams taken; sent to {last}")
        # Counted: the resets, and the connection as a flood.
        self.assertGreaterEqual(self.h2_counter("rst_stream_received"), 1000)
        self.assertGreaterEqual(self.h2_counter("floods"), floods_before + 1)
        self.assertLessEqual(len(self.backend.find(f"rr-{t}")), last_taken // 2 + 1)
        self.assert_serves()

    def test_continuation_flood_is_stopped(self):
        n = 10000
        floods_before = self.h2_counter("floods")
        with RawH2(self.port, timeout=10) as c:
            c.read_until(lambda: c.settings, what="the server's SETTINGS")
            sid = c.new_id()
            c.streams[sid] = Stream()
            c.send(frame(HEADERS, END_STREAM, sid, c.block(request_headers("/flood"))))
            sent = 0
            try:
                for first in range(0, n, 500):
                    # Each CONTINUATION adds a field: work for the decoder, never END_HEADERS.
                    c.send(b"".join(frame(CONTINUATION, 0, sid,
                                          c.encoder.encode([(f"x-f{i}".encode(), b"v")],
                                                           huffman=False))
                                    for i in range(first, first + 500)))
                    sent = first + 500
            except OSError:
                pass
            self.assertTrue(c.wait_closed(10), f"the connection survived {sent} CONTINUATIONs")
            self.assertIsNone(c.streams[sid].status)
        self.assertFalse(self.backend.find("/flood"))
        self.assertGreaterEqual(self.h2_counter("floods"), floods_before + 1)
        self.assert_serves()


    def test_unfinished_header_block_times_out(self):
        # Slowloris over h2: a header block that never ends (HEADERS without END_HEADERS, then
        # silence) holds the connection, since nothing else may come on it until the block
        # ends. Like an HTTP/1.1 head that never ends (408 after `timeout http_request`, 1 s
        # here), the connection does not outlive that timeout by much.
        with RawH2(self.port, timeout=10) as c:
            # The SETTINGS exchange done first: no frame of ours may follow the open block.
            c.read_until(lambda: c.settings and c.settings_acked, what="the SETTINGS exchange")
            c.send(frame(HEADERS, END_STREAM, c.new_id(), c.block(request_headers("/s"))[:4]))
            start = time.monotonic()
            self.assertTrue(c.wait_closed(5), "the connection is still open 5 s later")
            self.assertLess(time.monotonic() - start, 5)
        self.assert_serves()


if __name__ == "__main__":
    unittest.main()
