#!/usr/bin/env python3
"""global.maxconn against the open-file limit: the proxy raises the limit to what maxconn needs
(2 per connection plus listeners, checks and a margin), refuses an explicit maxconn it cannot
serve with the numbers, and lowers the default one with a warning. The limit is set with
util-linux `prlimit`; `setpriv` drops CAP_SYS_RESOURCE so that root cannot raise the hard
limit either."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import TANDEM, Backend, Process, free_port, get, wait_port  # noqa

NO_SYS_RESOURCE = ["setpriv", "--bounding-set=-sys_resource", "--inh-caps=-sys_resource"]


class FdLimitTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tandem-fdlimit-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.backend = Backend("b1", self.tmp)
        self.addCleanup(self.backend.stop)
        self.port = free_port()

    def config(self, maxconn=None):
        path = os.path.join(self.tmp, f"t{time.monotonic_ns()}.yaml")
        g = f", maxconn: {maxconn}" if maxconn else ""
        with open(path, "w") as f:
            f.write(f"""
global: {{ threads: 1{g}, log: {{ target: stderr, level: info }} }}
frontends:
  web: {{ bind: "127.0.0.1:{self.port}", default_backend: app }}
backends:
  app: {{ servers: [ {{ name: b1, address: "{self.backend.address}" }} ] }}
""")
        return path

    def run_proxy(self, limits, maxconn=None, *, drop=True, command="proxy"):
        args = ["prlimit", f"--nofile={limits}"] + (NO_SYS_RESOURCE if drop else []) + \
               [TANDEM, command, "-c", self.config(maxconn)]
        p = Process(args, os.path.join(self.tmp, f"proxy{time.monotonic_ns()}.log"))
        self.addCleanup(p.stop)
        return p

    def wait_serving(self, p):
        wait_port(self.port, proc=p.proc)
        status, _, body, _ = get(self.port, "/")
        self.assertEqual((status, body), (200, b"b1\n"))

    def nofile(self, pid):
        with open(f"/proc/{pid}/limits") as f:
            line = [l for l in f if l.startswith("Max open files")][0]
        soft, hard = line.split()[3:5]
        return int(soft), int(hard)

    def test_explicit_maxconn_over_the_limit_is_refused_with_the_numbers(self):
        for command in ("proxy", "run"):
            p = self.run_proxy("2048:2048", maxconn=20000, command=command)
            self.assertNotEqual(p.proc.wait(20), 0)
            out = p.output()
            self.assertRegex(out, r"global\.maxconn 20000 needs 40\d{3} open files")
            self.assertIn("the limit is 2048 and cannot be raised (hard limit 2048)", out)
            self.assertRegex(out, r"set global\.maxconn to at most 9\d\d ")

    def test_default_maxconn_is_lowered_to_fit_with_a_warning(self):
        p = self.run_proxy("2048:2048")
        self.wait_serving(p)
        m = re.search(r"maxconn lowered to (\d+)", p.output())
        self.assertIsNotNone(m, p.output())
        self.assertTrue(900 <= int(m.group(1)) <= 1024, m.group(1))

    def test_soft_limit_is_raised_to_what_maxconn_needs(self):
        p = self.run_proxy("2048:12000", maxconn=5000)  # soft up to the hard limit
        self.wait_serving(p)
        soft, hard = self.nofile(p.pid)
        self.assertEqual(hard, 12000)
        self.assertTrue(10000 < soft < 10200, soft)
        self.assertRegex(p.output(), r"raised the open-file limit from 2048 to 10\d{3} "
                                     r"for maxconn 5000")

    def test_hard_limit_is_raised_where_privileged(self):
        with open("/proc/self/status") as f:
            caps = int([l for l in f if l.startswith("CapEff:")][0].split()[1], 16)
        if not caps & (1 << 24):  # CAP_SYS_RESOURCE
            self.skipTest("this machine's root has no CAP_SYS_RESOURCE (a container)")
        q = self.run_proxy("1024:1024", maxconn=5000, drop=False)
        self.wait_serving(q)
        self.assertGreater(self.nofile(q.pid)[1], 10000)


if __name__ == "__main__":
    unittest.main(verbosity=2)
