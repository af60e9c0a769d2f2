#!/usr/bin/env python3
"""End-to-end proof that each health-check configuration key takes effect in `tandem proxy`.

Every test uses a value whose behaviour differs observably from the key's default (or from the
key being absent), so it fails if the product ignored the key: the exact number of failed or
succeeded checks before a transition, the spacing of checks, the bytes of the check request as
a small in-test server records them, which port or address is checked, the time a timeout
takes. State is observed in the log (Health check ... failed/succeeded, Server ... is DOWN/UP),
in what the in-test servers receive, in traffic and on the admin socket.
"""
import collections
import os
import re
import select
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import Backend, Tandem, admin_command, free_port, get  # noqa

FAST = 100  # ms between checks where the key under test is not the interval itself
SLOW = 1500  # ms: a long interval that a faster per-state or per-server interval must beat


def wait_for(predicate, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(step)
    return None


class HttpCheckServer(threading.Thread):
    """A minimal HTTP responder that records every request it gets (time, status answered, raw
    head). `status` may be changed at any time to make the next checks fail or pass."""

    def __init__(self, host="127.0.0.1"):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.status = 200
        self.lock = threading.Lock()
        self.requests = []  # (monotonic time, status answered, raw request head)
        self.stopped = False
        self.start()

    def run(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            try:
                c.settimeout(1)
                raw = b""
                while b"\r\n\r\n" not in raw:
                    d = c.recv(4096)
                    if not d:
                        break
                    raw += d
                status = self.status
                with self.lock:
                    self.requests.append((time.monotonic(), status, raw))
                c.sendall(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                          .encode())
            except OSError:
                pass
            finally:
                c.close()

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.stopped = True
        self.join()
        self.sock.close()


class ScriptServer(threading.Thread):
    """A raw TCP server for tcp-script checks. Per connection: if `read_first` is given, reads
    that many bytes (recorded) and answers `reply` when they are exactly `read_first`, else
    `wrong`; otherwise sends `greeting`. Then closes."""

    def __init__(self, greeting=b"", read_first=None, reply=b"", wrong=b"-ERR\r\n"):
        super().__init__(daemon=True)
        self.greeting, self.read_first, self.reply, self.wrong = greeting, read_first, reply, wrong
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.received = []  # bytes received per connection (read_first mode)
        self.sessions = 0
        self.stopped = False
        self.start()

    def run(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            try:
                c.settimeout(1)
                if self.read_first is not None:
                    got = b""
                    while len(got) < len(self.read_first):
                        d = c.recv(4096)
                        if not d:
                            break
                        got += d
                    with self.lock:
                        self.received.append(got)
                    c.sendall(self.reply if got == self.read_first else self.wrong)
                else:
                    c.sendall(self.greeting)
                with self.lock:
                    self.sessions += 1
            except OSError:
                pass
            finally:
                c.close()

    def count(self):
        with self.lock:
            return self.sessions

    def close(self):
        self.stopped = True
        self.join()
        self.sock.close()


class FullBacklogListener:
    """A listener whose accept queue is full (listen(0), one connection queued, never accepted):
    the kernel drops further SYNs, so a connect to it hangs until the client's timeout."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        self.full = False
        for _ in range(16):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(s)
            _, w, _ = select.select([], [s], [], 0.2)
            if not w:  # this one hangs in SYN_SENT: the queue is full
                self.full = True
                break

    def close(self):
        for s in self.fillers:
            s.close()
        self.sock.close()


def refused_port():
    """A 127.0.0.1 port nothing listens on (connects are refused)."""
    return free_port()


class CheckKeysTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-check-keys-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)

        def http_server():
            s = HttpCheckServer()
            cls.addClassCleanup(s.close)
            return s

        def script_server(**kw):
            s = ScriptServer(**kw)
            cls.addClassCleanup(s.close)
            return s

        cls.rec = {n: http_server() for n in (
            "fall", "rise", "fastinter", "downinter", "port", "method", "version", "headers",
            "sfall", "sfall_sibling", "srise", "sinter_fast", "sinter_slow", "sport", "saddr",
            "sfastinter", "sdowninter")}
        cls.rec6 = HttpCheckServer("::1")  # for a check addr of the other family
        cls.addClassCleanup(cls.rec6.close)
        cls.rec6srv = HttpCheckServer("::1")  # an IPv6 server, checked over HTTP/1.1
        cls.addClassCleanup(cls.rec6srv.close)
        cls.hang = socket.socket()  # accepts into the kernel backlog, never answers
        cls.hang.bind(("127.0.0.1", 0))
        cls.hang.listen(128)
        cls.addClassCleanup(cls.hang.close)
        cls.hang_port = cls.hang.getsockname()[1]
        cls.full = FullBacklogListener()
        cls.addClassCleanup(cls.full.close)

        cls.binary_payload = bytes.fromhex("00c0ffee0d0a")
        cls.sbin = script_server(read_first=cls.binary_payload, reply=b"+OK\r\n")
        cls.smtp = script_server(greeting=b"220 mx.test ESMTP ready\r\n")
        cls.bytes_srv = script_server(greeting=b"\x00\x01\xfe\x02")
        cls.err_srv = script_server(greeting=b"-ERR not ready\r\n")
        cls.ok_srv = script_server(greeting=b"+OK ready\r\n")

        cls.d = {n: Backend(n, cls.tmp) for n in ("d1", "d2")}
        for b in cls.d.values():
            cls.addClassCleanup(b.stop)
        cls.admin_sock = os.path.join(cls.tmp, "admin.sock")
        cls.port = {"drain": free_port()}
        r = lambda n: f"127.0.0.1:{cls.rec[n].port}"  # noqa: E731
        refused = {n: refused_port() for n in ("cport", "sport", "sport_plain", "sen_on",
                                               "sen_map", "sen_bool", "strue", "snone",
                                               "saddr6")}
        http = "type: http, uri: /hc"
        ctimeout = ""
        if cls.full.full:
            ctimeout = f"""
  ctimeout:
    mode: tcp
    timeout: {{ check: 5s }}
    check:
      type: tcp-script
      steps:
        - connect: {{ port: {cls.full.port}, timeout: 150ms }}
      inter: {FAST}ms
      fall: 1
    servers:
      - {{ name: s, address: "127.0.0.1:{cls.full.port}" }}
  tchk:
    mode: tcp
    timeout: {{ check: 200ms }}
    servers:
      - {{ name: s, address: "127.0.0.1:{cls.full.port}", check: {{ inter: {FAST}ms, fall: 1 }} }}
"""
        cfg = f"""
global: {{ threads: 2, admin_socket: {{ path: {cls.admin_sock}, mode: "0600" }},
          log: {{ target: stderr, level: info }} }}
defaults:
  timeout: {{ connect: 1s, client: 5s, server: 5s, check: 1s }}
frontends:
  drain: {{ bind: "127.0.0.1:{cls.port['drain']}", default_backend: drain }}
backends:
  fall:
    check: {{ {http}, inter: {FAST}ms, fall: 5, rise: 1 }}
    servers: [ {{ name: s, address: "{r('fall')}" }} ]
  rise:
    check: {{ {http}, inter: {FAST}ms, fall: 1, rise: 4 }}
    servers: [ {{ name: s, address: "{r('rise')}" }} ]
  fastinter:
    check: {{ {http}, inter: {SLOW}ms, fastinter: {FAST}ms, fall: 3, rise: 1 }}
    servers: [ {{ name: s, address: "{r('fastinter')}" }} ]
  downinter:
    check: {{ {http}, inter: {FAST}ms, downinter: {SLOW}ms, fall: 1, rise: 1 }}
    servers: [ {{ name: s, address: "{r('downinter')}" }} ]
  ctimeout_http:
    timeout: {{ check: 5s }}
    check: {{ {http}, timeout: 150ms, inter: {FAST}ms, fall: 1 }}
    servers: [ {{ name: s, address: "127.0.0.1:{cls.hang_port}" }} ]
  cport:
    check: {{ {http}, port: {cls.rec['port'].port}, inter: {FAST}ms, fall: 1 }}
    servers: [ {{ name: s, address: "127.0.0.1:{refused['cport']}" }} ]
  method:
    check: {{ {http}, method: HEAD, inter: {FAST}ms }}
    servers: [ {{ name: s, address: "{r('method')}" }} ]
  version:
    check: {{ {http}, version: HTTP/1.0, inter: {FAST}ms }}
    servers: [ {{ name: s, address: "{r('version')}" }} ]
  headers:
    check: {{ {http}, headers: {{ Host: check.test, X-Probe: "1" }}, inter: {FAST}ms }}
    servers: [ {{ name: s, address: "{r('headers')}" }} ]
  sen:
    check: {{ type: tcp, inter: {FAST}ms, fall: 1 }}
    servers:
      - {{ name: on, address: "127.0.0.1:{refused['sen_on']}" }}
      - {{ name: offmap, address: "127.0.0.1:{refused['sen_map']}", check: {{ enabled: false }} }}
      - {{ name: offbool, address: "127.0.0.1:{refused['sen_bool']}", check: false }}
  strue:
    servers:
      - {{ name: t, address: "127.0.0.1:{refused['strue']}", check: true }}
      - {{ name: n, address: "127.0.0.1:{refused['snone']}" }}
  sinter:
    check: {{ {http}, inter: 2s, fall: 3 }}
    servers:
      - {{ name: fast, address: "{r('sinter_fast')}", check: {{ inter: {FAST}ms }} }}
      - {{ name: slow, address: "{r('sinter_slow')}" }}
  sfall:
    check: {{ {http}, inter: {FAST}ms, fall: 3, rise: 1 }}
    servers:
      - {{ name: s, address: "{r('sfall')}", check: {{ fall: 1 }} }}
      - {{ name: sibling, address: "{r('sfall_sibling')}" }}
  srise:
    check: {{ {http}, inter: {FAST}ms, fall: 1, rise: 2 }}
    servers:
      - {{ name: s, address: "{r('srise')}", check: {{ rise: 4 }} }}
  sfastinter:
    check: {{ {http}, inter: {SLOW}ms, fall: 3, rise: 1 }}
    servers:
      - {{ name: s, address: "{r('sfastinter')}", check: {{ fastinter: {FAST}ms }} }}
  sdowninter:
    check: {{ {http}, inter: {FAST}ms, fall: 1, rise: 1 }}
    servers:
      - {{ name: s, address: "{r('sdowninter')}", check: {{ downinter: {SLOW}ms }} }}
  sport:
    check: {{ {http}, inter: {FAST}ms, fall: 1 }}
    servers:
      - {{ name: s, address: "127.0.0.1:{refused['sport']}", check: {{ port: {cls.rec['sport'].port} }} }}
      - {{ name: plain, address: "127.0.0.1:{refused['sport_plain']}" }}
  saddr:
    check: {{ {http}, inter: {FAST}ms, fall: 1 }}
    servers:
      - {{ name: s, address: "{r('saddr')}", check: {{ addr: 127.0.0.2 }} }}
      - {{ name: v6, address: "127.0.0.1:{refused['saddr6']}",
           check: {{ addr: "::1", port: {cls.rec6.port} }} }}
      - {{ name: v6srv, address: "[::1]:{cls.rec6srv.port}" }}
  sbin:
    mode: tcp
    check:
      type: tcp-script
      steps:
        - send_binary: "{cls.binary_payload.hex()}"
        - expect: {{ string: "+OK" }}
      inter: {FAST}ms
      fall: 1
    servers: [ {{ name: s, address: "127.0.0.1:{cls.sbin.port}" }} ]
  rs_ok:
    mode: tcp
    check: {{ type: tcp-script, steps: [ {{ expect: {{ rstring: "^220 [a-z.]+ ESMTP" }} }} ], inter: {FAST}ms, fall: 1 }}
    servers: [ {{ name: s, address: "127.0.0.1:{cls.smtp.port}" }} ]
  rs_bad:
    mode: tcp
    check: {{ type: tcp-script, steps: [ {{ expect: {{ rstring: "^220 [a-z.]+ LMTP" }} }} ], inter: {FAST}ms, fall: 1 }}
    servers: [ {{ name: s, address: "127.0.0.1:{cls.smtp.port}" }} ]
  bin_ok:
    mode: tcp
    check: {{ type: tcp-script, steps: [ {{ expect: {{ binary: "01fe" }} }} ], inter: {FAST}ms, fall: 1 }}
    servers: [ {{ name: s, address: "127.0.0.1:{cls.bytes_srv.port}" }} ]
  bin_bad:
    mode: tcp
    check: {{ type: tcp-script, steps: [ {{ expect: {{ binary: "02fe" }} }} ], inter: {FAST}ms, fall: 1 }}
    servers: [ {{ name: s, address: "127.0.0.1:{cls.bytes_srv.port}" }} ]
  neg_err:
    mode: tcp
    check: {{ type: tcp-script, steps: [ {{ expect: {{ string: "-ERR", negate: true }} }} ], inter: {FAST}ms, fall: 1 }}
    servers: [ {{ name: s, address: "127.0.0.1:{cls.err_srv.port}" }} ]
  neg_ok:
    mode: tcp
    check: {{ type: tcp-script, steps: [ {{ expect: {{ string: "-ERR", negate: true }} }} ], inter: {FAST}ms, fall: 1 }}
    servers: [ {{ name: s, address: "127.0.0.1:{cls.ok_srv.port}" }} ]
  drain:
    servers:
      - {{ name: d1, address: "{cls.d['d1'].address}", drain: true }}
      - {{ name: d2, address: "{cls.d['d2'].address}" }}
{ctimeout}"""
        cls.proxy = Tandem(cfg, cls.tmp, cls.port.values())
        cls.addClassCleanup(cls.proxy.stop)

    # ---- helpers ------------------------------------------------------------------------------

    def log(self):
        return self.proxy.output()

    def wait_log(self, pattern, timeout, after=0):
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.log(), after), timeout)

    def down_line(self, server):
        return rf"Server {re.escape(server)} is DOWN"

    def assert_never_down(self, server):
        text = self.log()
        self.assertNotRegex(text, self.down_line(server))
        self.assertNotRegex(text, rf"Health check for server {re.escape(server)} failed")

    def fail_then_wait_down(self, rec, server, timeout=5.0):
        """Makes `rec` answer 500 and waits for `server` to be logged DOWN; returns
        (log offset before the change, match of the DOWN line)."""
        start = len(self.log())
        rec.status = 500
        m = self.wait_log(self.down_line(server), timeout, start)
        self.assertIsNotNone(m, f"{server} never went DOWN:\n" + self.log()[-3000:])
        return start, m

    def count(self, pattern, start, end):
        return len(re.findall(pattern, self.log()[start:end]))

    def wait_requests(self, rec, n, timeout=3.0):
        self.assertTrue(wait_for(lambda: rec.count() >= n, timeout),
                        f"only {rec.count()} check(s) arrived:\n" + self.log()[-2000:])

    # ---- backend check mapping ---------------------------------------------------------------

    def test_check_fall_five_failures_before_down(self):
        start, m = self.fail_then_wait_down(self.rec["fall"], "fall/s")
        fails = self.count(r"Health check for server fall/s failed, reason: Layer7 wrong status 500",
                           start, m.end())
        self.assertEqual(fails, 4)  # fall 5: four counted failures, the fifth is the DOWN line
        failing = [t for t, st, _ in self.rec["fall"].snapshot() if st == 500]
        self.assertGreaterEqual(len(failing), 5)

    # Shared by the backend-level keys and their per-server overrides (same behaviour, set in
    # another place).
    def assert_four_successes_before_up(self, name):
        _, m = self.fail_then_wait_down(self.rec[name], f"{name}/s")
        start = m.end()
        self.rec[name].status = 200
        up = self.wait_log(rf"Server {name}/s is UP", 5, start)
        self.assertIsNotNone(up, self.log()[-3000:])
        self.assertEqual(
            self.count(rf"Health check for server {name}/s succeeded", start, up.end()), 3)

    def assert_fastinter_while_going_down(self, name):
        rec = self.rec[name]
        self.wait_requests(rec, 1, SLOW / 1000 * 2 + 1)
        t_fail = time.monotonic()
        self.fail_then_wait_down(rec, f"{name}/s", SLOW / 1000 + 3)
        failing = [t for t, st, _ in rec.snapshot() if st == 500 and t >= t_fail]
        self.assertGreaterEqual(len(failing), 3)
        # inter is 1.5 s: without fastinter the 3 failures would span >= 3 s.
        span = failing[2] - failing[0]
        self.assertLess(span, 0.8, f"3 failing checks spanned {span:.3f}s")

    def assert_downinter_while_down(self, name):
        rec = self.rec[name]
        self.fail_then_wait_down(rec, f"{name}/s")
        t_fix = time.monotonic()
        start = len(self.log())
        rec.status = 200
        up = self.wait_log(rf"Server {name}/s is UP", SLOW / 1000 + 3, start)
        self.assertIsNotNone(up, self.log()[-3000:])
        waited = time.monotonic() - t_fix
        # inter is 100 ms: without downinter it would be UP again within ~0.2 s.
        self.assertGreater(waited, 1.0, f"UP again after {waited:.3f}s")
        return rec

    def test_check_rise_four_successes_before_up(self):
        self.assert_four_successes_before_up("rise")

    def test_check_fastinter_used_while_going_down(self):
        self.assert_fastinter_while_going_down("fastinter")

    def test_check_downinter_used_while_down(self):
        rec = self.assert_downinter_while_down("downinter")
        times = [t for t, _, _ in rec.snapshot()]
        last_fail = max(t for t, st, _ in rec.snapshot() if st == 500)
        after = [t for t in times if t > last_fail]
        self.assertGreaterEqual(after[0] - last_fail, SLOW / 1000 * 0.9)

    def test_check_timeout_overrides_timeout_check(self):
        m = self.wait_log(r"Server ctimeout_http/s is DOWN.*reason: Layer7 timeout at step \d+, "
                          r"check duration: (\d+)ms", 3)
        self.assertIsNotNone(m, self.log()[-3000:])
        # check.timeout 150 ms, the backend's timeout.check 5 s.
        self.assertLess(int(m.group(1)), 1000)
        self.assertGreaterEqual(int(m.group(1)), 140)

    def test_check_port_checks_another_port_than_the_server(self):
        self.wait_requests(self.rec["port"], 3)
        self.assertTrue(all(raw.startswith(b"GET /hc ") for _, _, raw in self.rec["port"].snapshot()))
        self.assert_never_down("cport/s")  # its own address refuses

    def test_check_method_head(self):
        self.wait_requests(self.rec["method"], 1)
        raw = self.rec["method"].snapshot()[0][2]
        self.assertTrue(raw.startswith(b"HEAD /hc HTTP/1.1\r\n"), raw)

    def test_check_version_http10_without_host(self):
        self.wait_requests(self.rec["version"], 1)
        raw = self.rec["version"].snapshot()[0][2]
        self.assertTrue(raw.startswith(b"GET /hc HTTP/1.0\r\n"), raw)
        self.assertNotIn(b"\r\nhost:", raw.lower())

    def test_check_headers_sent_and_host_not_added(self):
        self.wait_requests(self.rec["headers"], 1)
        raw = self.rec["headers"].snapshot()[0][2]
        self.assertTrue(raw.startswith(b"GET /hc HTTP/1.1\r\n"), raw)
        self.assertIn(b"\r\nHost: check.test\r\n", raw)
        self.assertIn(b"\r\nX-Probe: 1\r\n", raw)
        self.assertEqual(raw.lower().count(b"\r\nhost:"), 1, raw)  # no host: 127.0.0.1 added

    # ---- per-server check settings -----------------------------------------------------------

    def _wait_sen_on_down(self):
        m = self.wait_log(r"Server sen/on is DOWN.*Layer4 connection refused", 3)
        self.assertIsNotNone(m, self.log()[-3000:])
        time.sleep(5 * FAST / 1000)  # a few more check rounds for its siblings

    def test_server_check_enabled_false_never_checked(self):
        self._wait_sen_on_down()
        self.assert_never_down("sen/offmap")

    def test_server_check_false_never_checked(self):
        self._wait_sen_on_down()
        self.assert_never_down("sen/offbool")

    def test_server_check_true_checks_without_backend_check(self):
        # Default schedule (inter 2 s, fall 3): DOWN within ~6 s of the start.
        m = self.wait_log(r"Server strue/t is DOWN.*Layer4 connection refused", 10)
        self.assertIsNotNone(m, self.log()[-3000:])
        self.assert_never_down("strue/n")

    def test_server_check_inter_overrides_backend_inter(self):
        fast, slow = self.rec["sinter_fast"], self.rec["sinter_slow"]
        self.wait_requests(fast, 1)
        n0, s0 = fast.count(), slow.count()
        time.sleep(1.0)
        n, s = fast.count() - n0, slow.count() - s0
        self.assertGreaterEqual(n, 5, f"{n} checks in 1 s with inter 100ms")
        self.assertLessEqual(s, 1, f"{s} checks in 1 s with inter 2s")

    def test_server_check_fall_overrides_backend_fall(self):
        start = len(self.log())
        self.rec["sfall_sibling"].status = 500
        _, m = self.fail_then_wait_down(self.rec["sfall"], "sfall/s")
        self.assertEqual(self.count(r"Health check for server sfall/s failed", start, m.end()), 0)
        sib = self.wait_log(self.down_line("sfall/sibling"), 3, start)
        self.assertIsNotNone(sib)
        self.assertEqual(
            self.count(r"Health check for server sfall/sibling failed", start, sib.end()), 2)

    def test_server_check_rise_overrides_backend_rise(self):
        self.assert_four_successes_before_up("srise")

    def test_server_check_fastinter_used_while_going_down(self):
        self.assert_fastinter_while_going_down("sfastinter")

    def test_server_check_downinter_used_while_down(self):
        self.assert_downinter_while_down("sdowninter")

    def test_server_check_port_checks_another_port(self):
        m = self.wait_log(r"Server sport/plain is DOWN.*Layer4 connection refused", 3)
        self.assertIsNotNone(m, self.log()[-3000:])  # the sibling shows refused means DOWN
        self.wait_requests(self.rec["sport"], 3)
        self.assert_never_down("sport/s")

    def test_server_check_addr_checks_another_address(self):
        # The check goes to 127.0.0.2 (loopback, nothing listens there) at the server's port;
        # the server's own address 127.0.0.1:port answers every check it gets.
        probe = socket.socket()
        probe.settimeout(1)
        try:
            if probe.connect_ex(("127.0.0.2", self.rec["saddr"].port)) == 0:
                self.skipTest("something answers on 127.0.0.2 here")
        finally:
            probe.close()
        m = self.wait_log(r"Server saddr/s is DOWN.*Layer4 connection refused", 3)
        self.assertIsNotNone(m, self.log()[-3000:])
        self.assertEqual(self.rec["saddr"].count(), 0)
        with socket.create_connection(("127.0.0.1", self.rec["saddr"].port), timeout=2):
            pass  # the server's own address accepts connections

    def test_server_check_addr_of_the_other_family_is_checked(self):
        # An IPv4 server checked on an IPv6 address (::1, loopback): the checks reach it (they
        # went to the server's own refused IPv4 address before) and the server stays UP.
        self.wait_requests(self.rec6, 2)
        self.assert_never_down("saddr/v6")

    def test_http_check_of_an_ipv6_server_names_it_in_brackets(self):
        # The Host of an HTTP/1.1 check is the server's address; an IPv6 literal goes in
        # brackets (RFC 9110 7.2) - it was "localhost".
        self.wait_requests(self.rec6srv, 1)
        with self.rec6srv.lock:
            head = self.rec6srv.requests[0][2]
        self.assertIn(b"host: [::1]", head)

    def test_server_drain_takes_no_new_traffic(self):
        names = collections.Counter(get(self.port["drain"])[2].split()[0] for _ in range(20))
        self.assertEqual(names, {b"d2": 20})
        out = admin_command(self.admin_sock, "show servers state")
        self.assertRegex(out, r"drain d1 127\.0\.0\.1:\d+ DRAIN ")
        self.assertRegex(out, r"drain d2 127\.0\.0\.1:\d+ UP ")

    # ---- tcp-script steps --------------------------------------------------------------------

    def test_tcp_check_step_send_binary_sends_the_bytes(self):
        self.assertTrue(wait_for(lambda: self.sbin.count() >= 3, 3), self.log()[-2000:])
        with self.sbin.lock:
            got = list(self.sbin.received)
        self.assertEqual(set(got), {self.binary_payload})
        self.assert_never_down("sbin/s")

    def test_tcp_check_step_expect_rstring(self):
        m = self.wait_log(r"Server rs_bad/s is DOWN.*Layer7 response did not match "
                          r"'\^220 \[a-z\.\]\+ LMTP'", 3)
        self.assertIsNotNone(m, self.log()[-3000:])
        self.assertTrue(wait_for(lambda: self.smtp.count() >= 6, 3))
        self.assert_never_down("rs_ok/s")  # a regex, not the literal text

    def test_tcp_check_step_expect_binary(self):
        m = self.wait_log(r"Server bin_bad/s is DOWN.*Layer7 response did not match", 3)
        self.assertIsNotNone(m, self.log()[-3000:])
        self.assertTrue(wait_for(lambda: self.bytes_srv.count() >= 6, 3))
        self.assert_never_down("bin_ok/s")  # bytes 01 fe, not the text "01fe"

    def test_tcp_check_step_expect_negate(self):
        m = self.wait_log(r"Server neg_err/s is DOWN.*Layer7 response matched forbidden '-ERR'", 3)
        self.assertIsNotNone(m, self.log()[-3000:])
        self.assertTrue(wait_for(lambda: self.ok_srv.count() >= 3, 3))
        self.assert_never_down("neg_ok/s")

    def test_tcp_check_step_connect_timeout(self):
        if not self.full.full:
            self.skipTest("could not fill a listener's accept queue here")
        m = self.wait_log(r"Server ctimeout/s is DOWN.*reason: Layer4 timeout, "
                          r"check duration: (\d+)ms", 3)
        self.assertIsNotNone(m, self.log()[-3000:])
        # the step's 150 ms, not the backend's timeout.check of 5 s
        self.assertLess(int(m.group(1)), 1000)
        self.assertGreaterEqual(int(m.group(1)), 140)

    def test_timeout_check_bounds_checks_of_a_backend_without_a_check_mapping(self):
        # Servers checked (`check:` on the server) in a backend with no check mapping: their
        # checks are bounded by the backend's timeout.check (200 ms), not a built-in 2 s.
        if not self.full.full:
            self.skipTest("could not fill a listener's accept queue here")
        m = self.wait_log(r"Server tchk/s is DOWN.*reason: Layer4 timeout, "
                          r"check duration: (\d+)ms", 5)
        self.assertIsNotNone(m, self.log()[-3000:])
        self.assertLess(int(m.group(1)), 1000)
        self.assertGreaterEqual(int(m.group(1)), 190)


if __name__ == "__main__":
    unittest.main()
