#!/usr/bin/env python3
"""cmake/install-deps.sh on its install path, without touching the machine's packages:
`dpkg-query` and `apt-get` are shims on PATH that report one package missing and record the
install, and the policy-rc.d path is a temporary file (TANDEM_POLICY_RC_D)."""
import os
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCRIPT = os.path.join(ROOT, "cmake", "install-deps.sh")

DPKG_QUERY = """#!/bin/sh
# Every package is installed except the one named in $MISSING_PACKAGE.
for a in "$@"; do last="$a"; done
[ "$last" = "$MISSING_PACKAGE" ] && exit 1
printf 'install ok installed'
"""
APT_GET = """#!/bin/sh
# Records the call and whether a policy-rc.d kept services from starting during it.
echo "$*" >> "$APT_LOG"
if [ -e "$TANDEM_POLICY_RC_D" ]; then echo "policy present" >> "$APT_LOG"; fi
[ "$1" = update ] && exit 0
exit "${APT_EXIT:-0}"
"""


class InstallDepsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tandem-deps-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        bindir = os.path.join(self.tmp, "bin")
        os.mkdir(bindir)
        for name, text in (("dpkg-query", DPKG_QUERY), ("apt-get", APT_GET)):
            path = os.path.join(bindir, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)
        self.policy = os.path.join(self.tmp, "policy-rc.d")
        self.apt_log = os.path.join(self.tmp, "apt.log")
        self.env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"],
                        MISSING_PACKAGE="wrk", APT_LOG=self.apt_log,
                        TANDEM_POLICY_RC_D=self.policy)

    def run_script(self, **extra):
        env = dict(self.env, **extra)
        return subprocess.run(["bash", SCRIPT], env=env, capture_output=True, text=True,
                              timeout=60)

    def apt_calls(self):
        with open(self.apt_log) as f:
            return f.read().splitlines()

    def test_install_succeeds_when_a_policy_rc_d_already_exists(self):
        with open(self.policy, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        r = self.run_script()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("installing 1 package(s): wrk", r.stdout)
        calls = self.apt_calls()
        self.assertTrue(any(c.startswith("install") and c.endswith(" wrk") for c in calls), calls)
        self.assertTrue(os.path.exists(self.policy), "someone else's policy-rc.d must stay")

    def test_install_succeeds_and_removes_its_own_policy_rc_d(self):
        r = self.run_script()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("policy present", self.apt_calls(), "services were not held back")
        self.assertFalse(os.path.exists(self.policy), "the script's own policy-rc.d is left")

    def test_failed_install_exits_non_zero(self):
        r = self.run_script(APT_EXIT="100")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("apt-get install failed", r.stderr)
        self.assertFalse(os.path.exists(self.policy))

    def test_nothing_missing_is_quiet(self):
        r = self.run_script(MISSING_PACKAGE="none-such")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
        self.assertFalse(os.path.exists(self.apt_log))


if __name__ == "__main__":
    unittest.main()
