#!/usr/bin/env python3
"""The runtime API socket of `tandem proxy`, used the way HAProxy users do (socat): showing
server state, draining a server with a request in flight, MAINT/READY, weights."""
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import Backend, Tandem, free_port, get  # noqa


class AdminSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-admin-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.b = {}
        for n in ("s1", "s2"):
            cls.b[n] = Backend(n, cls.tmp)
            cls.addClassCleanup(cls.b[n].stop)
        cls.sock = os.path.join(cls.tmp, "admin.sock")
        cls.port = {"first": free_port(), "rr": free_port()}
        cfg = f"""
global: {{ threads: 2, admin_socket: {{ path: {cls.sock}, mode: "0600" }}, log: {{ target: stderr, level: info }} }}
frontends:
  first: {{ bind: "127.0.0.1:{cls.port['first']}", default_backend: first }}
  rr: {{ bind: "127.0.0.1:{cls.port['rr']}", default_backend: rr }}
backends:
  first:
    balance: first
    servers:
      - {{ name: s1, address: "{cls.b['s1'].address}" }}
      - {{ name: s2, address: "{cls.b['s2'].address}" }}
  rr:
    check: {{ type: http, uri: /health, inter: 200ms }}
    servers:
      - {{ name: s1, address: "{cls.b['s1'].address}" }}
      - {{ name: s2, address: "{cls.b['s2'].address}" }}
"""
        cls.proxy = Tandem(cfg, cls.tmp, cls.port.values())
        cls.addClassCleanup(cls.proxy.stop)

    def admin(self, command):
        r = subprocess.run(["socat", "-t", "5", "stdio", f"unix-connect:{self.sock}"],
                           input=command + "\n", capture_output=True, text=True, timeout=10)
        return r.stdout

    def servers(self, port, n=10):
        return collections.Counter(get(self.port[port])[2].split()[0].decode() for _ in range(n))

    def test_socket_mode_and_show_servers_state(self):
        self.assertEqual(os.stat(self.sock).st_mode & 0o777, 0o600)
        out = self.admin("show servers state")
        self.assertIn("# backend server address state weight active served", out)
        self.assertRegex(out, r"first s1 127\.0\.0\.1:\d+ UP 1 0 \d+")

    def test_drain_lets_the_request_in_flight_finish(self):
        result = {}

        def slow():
            result["r"] = get(self.port["first"], "/slow?ms=1500")

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        self.assertEqual(self.admin("set server first/s1 state drain"), "\n")
        self.assertIn("first s1", self.admin("show servers state"))
        self.assertIn(" DRAIN ", self.admin("show servers state"))
        self.assertEqual(self.servers("first"), {"s2": 10})  # no new traffic to s1
        t.join()
        self.assertEqual(result["r"][0], 200)  # ...but its request in flight finished
        self.assertEqual(result["r"][2].split()[0], b"s1")
        self.admin("set server first/s1 state ready")
        self.assertEqual(self.servers("first"), {"s1": 10})

    def test_disable_enable_a_checked_server(self):
        self.admin("disable server rr/s2")
        self.assertEqual(self.servers("rr"), {"s1": 10})
        log = self.proxy.output()
        self.assertRegex(log, r"Server rr/s2 is MAINT \(was UP\), reason: set by the admin socket")
        self.admin("enable server rr/s2")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and "rr s2" not in " ".join(
                l for l in self.admin("show servers state").splitlines() if " UP " in l):
            time.sleep(0.05)
        self.assertEqual(set(self.servers("rr")), {"s1", "s2"})

    def test_set_weight(self):
        self.admin("set server rr/s1 weight 3")
        c = self.servers("rr", 40)
        self.admin("set server rr/s1 weight 1")
        # 3:1 per worker thread; two threads may each stop mid-cycle.
        self.assertGreaterEqual(c["s1"], 27, c)
        self.assertGreaterEqual(c["s2"], 7, c)

    def test_errors(self):
        self.assertEqual(self.admin("set server rr/nope state drain"), "No such server.\n")
        self.assertEqual(self.admin("set server rr/s1 state sleeping"),
                         "State must be ready, drain or maint.\n")
        self.assertIn("Unknown command", self.admin("frobnicate"))
        self.assertIn("show servers state", self.admin("help"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
