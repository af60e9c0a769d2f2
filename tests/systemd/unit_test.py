#!/usr/bin/env python3
"""systemd/tandem.service: `systemd-analyze verify` passes on it (with the built binary in place
of /usr/sbin/tandem), it is a Type=notify service with a watchdog, reload and restart, it keeps
only the capabilities the job needs, and `systemd-analyze security` rates it OK."""
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import TANDEM  # noqa

UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "systemd",
                    "tandem.service")


def directives(text):
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key, []).append(value)
    return out


class UnitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(UNIT) as f:
            cls.text = f.read()
        cls.d = directives(cls.text)
        cls.tmp = tempfile.mkdtemp(prefix="tandem-unit-")
        cls.path = os.path.join(cls.tmp, "tandem.service")
        with open(cls.path, "w") as f:
            f.write(cls.text.replace("/usr/sbin/tandem", os.path.abspath(TANDEM)))

    @classmethod
    def tearDownClass(cls):
        os.remove(cls.path)
        os.rmdir(cls.tmp)

    def test_systemd_analyze_verify_is_clean(self):
        # --man=no: the man page comes with the package, not with the build tree.
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", self.path],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr.strip(), "")

    def test_notify_watchdog_reload_restart(self):
        self.assertEqual(self.d["Type"], ["notify"])
        self.assertEqual(self.d["NotifyAccess"], ["main"])
        self.assertTrue(self.d["WatchdogSec"][0].endswith("s"))
        self.assertIn("/usr/sbin/tandem reload", self.d["ExecReload"][0])
        self.assertIn("/usr/sbin/tandem check", self.d["ExecStartPre"][0])
        self.assertEqual(self.d["Restart"], ["on-failure"])
        self.assertEqual(self.d["KillMode"], ["mixed"])

    def test_capabilities_and_hardening(self):
        caps = set(self.d["CapabilityBoundingSet"][0].split())
        # Networking for the agent and the listeners, and what the proxy worker needs to give up
        # root (global.user/group/chroot) — nothing else.
        self.assertEqual(caps, {"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE",
                                "CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT"})
        for key, value in [("ProtectSystem", "strict"), ("NoNewPrivileges", "yes"),
                           ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                           ("RestrictNamespaces", "yes"), ("SystemCallArchitectures", "native")]:
            self.assertEqual(self.d[key], [value], key)
        self.assertEqual(self.d["RuntimeDirectory"], ["tandem"])

    def test_security_exposure_is_ok(self):
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", self.path],
                           capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for tandem.service: ([0-9.]+) (\w+)", r.stdout)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        print(f"\nsystemd-analyze security: {m.group(1)} {m.group(2)}", file=sys.stderr)
        self.assertLessEqual(float(m.group(1)), 3.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
