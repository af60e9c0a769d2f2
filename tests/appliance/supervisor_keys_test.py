#!/usr/bin/env python3
"""The `supervisor:` keys of `tandem run`, each with a non-default value whose effect is seen
from outside: the control socket's path and mode, the local proxy probe (type, address, uri,
host, interval, timeout, fall, rise) against a recording stand-in listener on loopback, the
restart back-off (initial, max) after SIGKILLed workers, and the reload deadline with a new
worker held stopped. Everything runs on 127.0.0.1; every process is stopped by PID."""
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, HERE)
from harness import TANDEM, Backend, Node, free_port, get  # noqa
from supervisor_test import config  # noqa  (the supervisor tests' configuration)


def with_supervisor(text, block):
    """A config() text with its `supervisor:` section replaced by `block` (indented lines
    under `supervisor:`)."""
    out, n = re.subn(r"supervisor:\n(?:  .*\n)+", "supervisor:\n" + block, text, count=1)
    assert n == 1, text
    return out


def children_of(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out


class ProbeTarget:
    """A stand-in for what supervisor.probe.address points at: a loopback listener that records
    every connection (when it came, its request line and Host header when it sent one) and
    answers each HTTP request by a plan: "ok" (a 200 status line), "bad" (not HTTP), or a delay
    in seconds before the 200. Planned answers are used first, then `default`."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.plan = []
        self.default = "ok"
        self.seen = []  # dicts: t, request, host, answer
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn, time.monotonic()),
                             daemon=True).start()

    def handle(self, conn, t):
        entry = {"t": t, "request": None, "host": None, "answer": None}
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    d = conn.recv(4096)
                    if not d:
                        break
                    data += d
            except OSError:
                pass  # a TCP probe closes with a reset right after connecting
            if b"\r\n\r\n" in data:
                lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
                entry["request"] = lines[0]
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    if k.strip().lower() == "host":
                        entry["host"] = v.strip()
                with self.lock:
                    entry["answer"] = self.plan.pop(0) if self.plan else self.default
            with self.lock:
                self.seen.append(entry)
            answer = entry["answer"]
            if answer is None:
                return
            try:
                if answer == "bad":
                    conn.sendall(b"NOT-HTTP\r\n")
                else:
                    if not isinstance(answer, str):
                        time.sleep(answer)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
            except OSError:
                pass

    def requests(self):
        with self.lock:
            return [e for e in self.seen if e["request"] is not None]

    def entries(self):
        with self.lock:
            return list(self.seen)

    def set_plan(self, plan, default):
        with self.lock:
            self.plan = list(plan)
            self.default = default

    def answered(self, what):
        with self.lock:
            return sum(1 for e in self.seen if e["answer"] == what)

    def wait(self, predicate, what, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; seen {self.entries()[-10:]}")

    def close(self):
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()


class SupervisorKeysTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tandem-supkeys-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.backend = Backend("s1", self.tmp)
        self.addCleanup(self.backend.stop)
        self.port = free_port()
        self.sock = os.path.join(self.tmp, "node.sock")

    def yaml(self, block):
        return with_supervisor(config(self.port, [self.backend], self.sock), block)

    def start(self, block, wait_ready=True):
        node = Node(self.yaml(block), self.tmp, wait_ready=wait_ready)
        self.addCleanup(node.stop)
        return node

    def target(self):
        t = ProbeTarget()
        self.addCleanup(t.close)
        return t

    def probe_up(self, node):
        return node.status()["proxy"].get("probe_up")

    # ---- control_socket ----------------------------------------------------------------

    def test_supervisor_control_socket_path_is_where_status_and_reload_connect(self):
        custom = os.path.join(self.tmp, "custom-ctl.sock")
        node = self.start(f"  control_socket: {{ path: {custom} }}\n", wait_ready=False)
        node.socket = custom  # `tandem status -s` / `tandem reload -s` on the configured path
        node.wait(lambda s: s["proxy"]["ready"], "the proxy worker to be ready (via the path)")
        self.assertTrue(stat.S_ISSOCK(os.stat(custom).st_mode))
        self.assertFalse(os.path.exists(self.sock))
        code, reply = node.reload()
        self.assertEqual((code, reply.get("ok"), reply.get("generation")), (0, True, 2), reply)

    def test_supervisor_control_socket_mode_lets_other_users_connect(self):
        # Mode 0666: user nobody may read the status (the default 0660 keeps it root's).
        os.chmod(self.tmp, 0o755)
        self.start(f"  control_socket: {{ path: {self.sock}, mode: \"0666\" }}\n")
        self.assertEqual(stat.S_IMODE(os.stat(self.sock).st_mode), 0o666)
        r = subprocess.run([TANDEM, "status", "--json", "-s", self.sock], user=65534,
                           group=65534, extra_groups=[], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["generation"], 1)

    # ---- probe -------------------------------------------------------------------------

    def test_supervisor_probe_address_is_the_probe_target(self):
        # supervisor.probe itself (the mapping) and its address: the probe goes to the
        # configured listener, not to the frontend's bind.
        t = self.target()
        node = self.start(f"  control_socket: {self.sock}\n"
                          f"  probe: {{ address: \"{t.address}\", interval: 100ms }}\n")
        self.assertEqual(node.status()["proxy"]["probe"], t.address)
        t.wait(lambda: len(t.entries()) >= 3, "probe connections to the configured address")
        node.wait(lambda s: s["proxy"]["probe_up"], "the probe to pass")
        self.assertIn(f"local proxy probe of {t.address} passes (TCP connect ok)", node.output())

    def test_supervisor_probe_type_none_disables_the_probe(self):
        t = self.target()
        node = self.start(f"  control_socket: {self.sock}\n"
                          f"  probe: {{ type: none, address: \"{t.address}\", interval: 50ms }}\n")
        time.sleep(1.5)
        self.assertEqual(t.entries(), [])
        proxy = node.status()["proxy"]
        self.assertNotIn("probe", proxy)
        self.assertTrue(proxy["live"])  # liveness is the worker process alone
        self.assertIn("no local probe target", node.output())

    def test_supervisor_probe_type_http_sends_a_request(self):
        # With an address, `auto` would only connect (TCP); http sends GET and reads the status.
        t = self.target()
        node = self.start(f"  control_socket: {self.sock}\n"
                          f"  probe: {{ type: http, address: \"{t.address}\", interval: 100ms }}\n")
        node.wait(lambda s: s["proxy"]["probe_up"], "the HTTP probe to pass")
        t.wait(lambda: len(t.requests()) >= 2, "HTTP probe requests")
        self.assertEqual(t.requests()[0]["request"], "GET / HTTP/1.1")
        self.assertIn(f"local proxy probe of {t.address} passes (HTTP 200)", node.output())

    def test_supervisor_probe_type_tcp_only_connects_to_an_http_frontend(self):
        # The frontend is HTTP: `auto` would send a request there; tcp only connects.
        node = self.start(f"  control_socket: {self.sock}\n"
                          f"  probe: {{ type: tcp, interval: 100ms }}\n")
        node.wait(lambda s: s["proxy"]["probe_up"], "the TCP probe to pass")
        self.assertEqual(node.status()["proxy"]["probe"], f"127.0.0.1:{self.port}")
        self.assertIn(f"local proxy probe of 127.0.0.1:{self.port} passes (TCP connect ok)",
                      node.output())
        self.assertNotIn("passes (HTTP", node.output())

    def test_supervisor_probe_uri_is_the_request_path(self):
        t = self.target()
        node = self.start(f"  control_socket: {self.sock}\n"
                          f"  probe: {{ type: http, address: \"{t.address}\", "
                          f"uri: /probe/alive, interval: 100ms }}\n")
        node.wait(lambda s: s["proxy"]["probe_up"], "the HTTP probe to pass")
        t.wait(lambda: len(t.requests()) >= 2, "HTTP probe requests")
        self.assertEqual({e["request"] for e in t.requests()}, {"GET /probe/alive HTTP/1.1"})

    def test_supervisor_probe_host_is_the_host_header(self):
        t = self.target()
        node = self.start(f"  control_socket: {self.sock}\n"
                          f"  probe: {{ type: http, address: \"{t.address}\", "
                          f"host: probe.example.test, interval: 100ms }}\n")
        node.wait(lambda s: s["proxy"]["probe_up"], "the HTTP probe to pass")
        t.wait(lambda: len(t.requests()) >= 2, "HTTP probe requests")
        self.assertEqual({e["host"] for e in t.requests()}, {"probe.example.test"})

    def test_supervisor_probe_interval_spaces_the_probes(self):
        # 1 s between the end of one probe and the start of the next (the default is 200 ms).
        t = self.target()
        self.start(f"  control_socket: {self.sock}\n"
                   f"  probe: {{ type: http, address: \"{t.address}\", interval: 1s }}\n")
        time.sleep(0.3)  # past the extra probe sent when the worker reported ready
        first = len(t.requests())
        t.wait(lambda: len(t.requests()) >= first + 4, "four more probes", timeout=20)
        times = [e["t"] for e in t.requests()[first:first + 4]]
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertGreaterEqual(min(gaps), 0.9, gaps)
        self.assertLess(max(gaps), 4.0, gaps)

    def test_supervisor_probe_timeout_allows_a_slow_status_line(self):
        # The status line comes after 0.8 s: within a 3 s timeout the probe passes (the default
        # 200 ms would count every probe as failed: "no HTTP response in time").
        t = self.target()
        t.set_plan([], 0.8)
        node = self.start(f"  control_socket: {self.sock}\n"
                          f"  probe: {{ type: http, address: \"{t.address}\", interval: 100ms, "
                          f"timeout: 3s }}\n")
        node.wait(lambda s: s["proxy"]["probe_up"], "the slow HTTP probe to pass", timeout=20)
        self.assertIn(f"local proxy probe of {t.address} passes (HTTP 200)", node.output())
        self.assertNotIn("no HTTP response in time", node.output())

    def test_supervisor_probe_fall_is_the_failures_that_mark_the_proxy_down(self):
        t = self.target()
        node = self.start(f"  control_socket: {self.sock}\n"
                          f"  probe: {{ type: http, address: \"{t.address}\", interval: 100ms, "
                          f"fall: 4 }}\n")
        node.wait(lambda s: s["proxy"]["probe_up"], "the probe to pass")
        # Three failures in a row, then good answers: fewer than fall, the proxy stays up.
        base = len(t.requests())
        t.set_plan(["bad"] * 3, "ok")
        t.wait(lambda: len(t.requests()) >= base + 6, "three bad and three good probes")
        self.assertEqual(t.answered("bad"), 3)
        self.assertTrue(self.probe_up(node))
        self.assertNotIn(f"local proxy probe of {t.address} fails", node.output())
        # Failing for good: down once the fourth failure in a row is in.
        t.set_plan([], "bad")
        node.wait(lambda s: not s["proxy"]["probe_up"], "the probe to fail")
        self.assertGreaterEqual(t.answered("bad"), 3 + 4)
        self.assertIn(f"local proxy probe of {t.address} fails: not an HTTP response",
                      node.output())

    def test_supervisor_probe_rise_is_the_successes_that_mark_the_proxy_up(self):
        t = self.target()
        t.set_plan([], "bad")
        node = self.start(f"  control_socket: {self.sock}\n"
                          f"  probe: {{ type: http, address: \"{t.address}\", interval: 100ms, "
                          f"rise: 4 }}\n")
        t.wait(lambda: t.answered("bad") >= 3, "failing probes")
        self.assertFalse(self.probe_up(node))
        # Three successes in a row, then failures again: fewer than rise, the proxy stays down.
        base = len(t.requests())
        t.set_plan(["ok"] * 3, "bad")
        t.wait(lambda: len(t.requests()) >= base + 6, "three good and three bad probes")
        self.assertFalse(self.probe_up(node))
        self.assertNotIn(f"local proxy probe of {t.address} passes", node.output())
        # Passing for good: up once the fourth success in a row is in.
        t.set_plan([], "ok")
        node.wait(lambda s: s["proxy"]["probe_up"], "the probe to pass")
        self.assertIn(f"local proxy probe of {t.address} passes (HTTP 200)", node.output())

    # ---- restart_delay -----------------------------------------------------------------

    def kill_worker_and_wait(self, node, restarts):
        pid = node.child_pid("proxy")
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        node.wait(lambda s: any(c["name"] == "proxy" and c.get("pid") not in (None, pid)
                                and c["restarts"] == restarts for c in s["children"]),
                  "the proxy worker to be restarted", timeout=20)
        took = time.monotonic() - killed
        node.wait(lambda s: s["proxy"]["ready"], "the restarted worker to serve")
        return took

    def test_supervisor_restart_delay_initial_is_the_first_restart_delay(self):
        node = self.start(f"  control_socket: {self.sock}\n"
                          f"  restart_delay: {{ initial: 700ms }}\n")
        took = self.kill_worker_and_wait(node, 1)
        self.assertEqual(re.findall(r"restarting the proxy worker in (\S+)", node.output()),
                         ["700ms"])
        self.assertGreaterEqual(took, 0.65)
        self.assertEqual(get(self.port, "/")[0], 200)

    def test_supervisor_restart_delay_max_caps_the_doubling(self):
        node = self.start(f"  control_socket: {self.sock}\n"
                          f"  restart_delay: {{ initial: 100ms, max: 250ms }}\n")
        for i in range(4):
            self.kill_worker_and_wait(node, i + 1)
        self.assertEqual(re.findall(r"restarting the proxy worker in (\S+)", node.output()),
                         ["100ms", "200ms", "250ms", "250ms"])

    # ---- reload_timeout ----------------------------------------------------------------

    def test_supervisor_reload_timeout_fails_a_reload_whose_worker_is_not_ready(self):
        # The new worker is stopped the moment it appears. Within reload_timeout (2 s) the
        # reload fails and the old generation serves on; with the default 15 s it would still
        # be waiting when the worker is let go again after 8 s, and then succeed.
        node = self.start(f"  control_socket: {self.sock}\n  reload_timeout: 2s\n")
        reply = None
        for attempt in range(10):
            generation = node.status()["generation"]
            known = set(children_of(node.pid))
            result = {}
            t = threading.Thread(target=lambda: result.update(r=node.reload()))
            started = time.monotonic()
            t.start()
            stopped = None
            deadline = time.monotonic() + 2
            while stopped is None and time.monotonic() < deadline and t.is_alive():
                for pid in set(children_of(node.pid)) - known:
                    try:
                        os.kill(pid, signal.SIGSTOP)
                    except ProcessLookupError:
                        continue
                    stopped = pid
                    self.addCleanup(self.cont, pid, node.pid)
                    break
            t.join(8)
            if stopped is not None and t.is_alive():
                self.cont(stopped, node.pid)
            t.join(30)
            took = time.monotonic() - started
            code, reply = result["r"]
            if stopped is not None and (not reply.get("ok") or took >= 7):
                break
            # Missed the window (the worker was ready before it was caught): try again.
            if stopped is not None:
                self.cont(stopped, node.pid)
            node.wait(lambda s: not s["draining_workers"], "the old worker to finish")
        self.assertIsNotNone(stopped, "never caught a new worker before it was ready")
        self.assertEqual(reply.get("ok"), False, reply)
        self.assertIn("not ready in time", reply.get("error", ""))
        self.assertNotEqual(code, 0)
        self.assertGreaterEqual(took, 1.9)
        self.assertLess(took, 7.0)
        self.assertEqual(node.status()["generation"], generation)
        self.assertEqual(get(self.port, "/")[0], 200)
        node.wait(lambda s: not s["draining_workers"], "the stopped worker to be killed")

    @staticmethod
    def cont(pid, parent):
        """Lets a worker this test stopped go on, if it is still that supervisor's child."""
        if pid in children_of(parent):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    unittest.main(verbosity=2)
