#!/usr/bin/env python3
"""The Debian package, for real: `make deb`'s script builds it, lintian finds no error, and it
is installed (apt, dependencies from the machine's Debian sources) into a fresh Debian 12 root
made by mmdebstrap, which then boots under systemd-nspawn in a network namespace of its own.
There the service must come up on its own and answer; an upgrade reloads it without a restart;
an install over a broken configuration does not start it; removal stops it; purge removes its
state. Every wait is bounded; the container is stopped by PID and its files removed."""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from harness import TANDEM  # noqa

TAG = f"{os.getpid() % 100000}"
NETNS = f"tdeb{TAG}"


def sh(*args, check=True, timeout=600, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


class DebPackageTest(unittest.TestCase):
    # One ctest entry: the methods run in order on one set-up (tests/tools/list_tests.py).
    CTEST_PER_CLASS = True
    CTEST_TIMEOUT = 1500

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-deb-", dir="/var/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        build = os.path.dirname(os.path.abspath(TANDEM))
        cls.deb = sh("bash", os.path.join(SRC, "images", "deb", "build-deb.sh"), build,
                     cls.tmp).stdout.strip().splitlines()[-1]
        cls.root = os.path.join(cls.tmp, "root")
        started = time.monotonic()
        # minbase + systemd, from this machine's Debian sources; the package goes in with apt
        # so its Depends are resolved for real.
        sh("mmdebstrap", "--mode=root", "--variant=minbase", "--quiet",
           "--include=systemd,systemd-sysv,dbus,iproute2,curl,procps",
           f"--customize-hook=copy-in {cls.deb} /tmp",
           f"--customize-hook=chroot \"$1\" apt-get install -y -q /tmp/{os.path.basename(cls.deb)}",
           "bookworm", cls.root, "/etc/apt/sources.list.d/debian.sources", timeout=900)
        cls.rootfs_seconds = time.monotonic() - started
        sh("ip", "netns", "add", NETNS)
        cls.addClassCleanup(sh, "ip", "netns", "del", NETNS, check=False)
        sh("ip", "-n", NETNS, "link", "set", "lo", "up")  # the container's only interface
        cls.console = open(os.path.join(cls.tmp, "console.log"), "w")
        cls.nspawn = subprocess.Popen(
            ["systemd-nspawn", "-D", cls.root, "--register=no", "--keep-unit", "-b",
             f"--network-namespace-path=/run/netns/{NETNS}", "--console=pipe",
             f"--machine=tdeb{TAG}"],
            stdout=cls.console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        cls.addClassCleanup(cls.stop_container)
        cls.init = cls.wait_init()

    @classmethod
    def stop_container(cls):
        if cls.nspawn.poll() is None:
            cls.nspawn.send_signal(signal.SIGTERM)  # nspawn powers the container off
            try:
                cls.nspawn.wait(60)
            except subprocess.TimeoutExpired:
                cls.nspawn.kill()
                cls.nspawn.wait()
        cls.console.close()

    @classmethod
    def wait_init(cls):
        """The container's systemd (PID 1 inside). nspawn's first child may be a short-lived
        helper that forks it and exits, so look through the descendants for systemd itself."""
        def children(pid):
            out = []
            for t in glob.glob(f"/proc/{pid}/task/*/children"):
                try:
                    with open(t) as f:
                        out += [int(c) for c in f.read().split()]
                except OSError:
                    pass
            return out

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            todo = children(cls.nspawn.pid)
            while todo:
                pid = todo.pop(0)
                try:
                    with open(f"/proc/{pid}/comm") as f:
                        if f.read().strip() == "systemd":
                            return pid
                except OSError:
                    continue
                todo += children(pid)
            if cls.nspawn.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("the container did not start")

    def inside(self, *args, check=True, timeout=120):
        return sh("nsenter", "-t", str(self.init), "-a", *args, check=check, timeout=timeout)

    def curl(self, url, timeout=3):
        return sh("ip", "netns", "exec", NETNS, "curl", "-s", "-m", str(timeout), url,
                  check=False, timeout=timeout + 5)

    def wait_for(self, what, predicate, seconds=120):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.5)
        with open(os.path.join(self.tmp, "console.log")) as f:
            tail = f.read()[-3000:]
        journal = self.inside("journalctl", "-u", "tandem", "--no-pager", "-n", "40",
                              check=False).stdout
        self.fail(f"timed out waiting for {what}\n--- console ---\n{tail}\n--- journal ---\n"
                  f"{journal}")

    def status(self):
        r = self.inside("tandem", "status", "--json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def test_1_lintian_is_clean_of_errors(self):
        r = sh("lintian", "--fail-on", "error", self.deb, check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)  # also: lintian itself failed
        self.assertNotIn("\nE: ", "\n" + r.stdout, r.stdout)
        info = sh("dpkg-deb", "-f", self.deb, "Depends").stdout
        self.assertIn("libevent", info)  # computed by dpkg-shlibdeps
        self.assertIn("etc/tandem/tandem.yaml", sh("dpkg-deb", "-I", self.deb, "conffiles").stdout)

    def test_2_service_starts_on_boot_and_answers(self):
        print(f"\nrootfs with the package: {self.rootfs_seconds:.0f} s", file=sys.stderr)
        self.wait_for("the proxy to answer on port 80",
                      lambda: "Tandem is running" in self.curl("http://127.0.0.1/").stdout)
        self.assertEqual(self.inside("systemctl", "is-active", "tandem").stdout.strip(), "active")
        s = self.status()
        self.assertTrue(s["proxy"]["live"])
        self.assertEqual(s["generation"], 1)
        stats = json.loads(self.curl("http://127.0.0.1:8404/stats;json").stdout)
        self.assertEqual([f["name"] for f in stats["frontends"]], ["www"])
        self.assertTrue(os.path.isdir(os.path.join(self.root, "var/lib/tandem")))
        self.assertIn("tandem:", self.inside("getent", "passwd", "tandem").stdout)
        # The default configuration runs the proxy worker as the tandem user, under systemd's
        # capability bounding set; the supervisor stays root.
        worker = [c["pid"] for c in s["children"] if c["name"] == "proxy"][0]
        uid = self.inside("id", "-u", "tandem").stdout.strip()
        status = self.inside("cat", f"/proc/{worker}/status").stdout
        self.assertRegex(status, rf"\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n")
        self.assertIn(f"running as uid {uid}",
                      self.inside("journalctl", "-u", "tandem", "--no-pager").stdout)

    def test_3_upgrade_reloads_without_restart(self):
        self.wait_for("the service", lambda: (self.status() or {}).get("proxy", {}).get("live"))
        main_pid = self.inside("systemctl", "show", "-p", "MainPID", "--value", "tandem").stdout
        shutil.copy(self.deb, os.path.join(self.root, "root", "upgrade.deb"))
        self.inside("dpkg", "-i", "/root/upgrade.deb")
        self.wait_for("generation 2", lambda: (self.status() or {}).get("generation") == 2, 60)
        self.assertEqual(
            self.inside("systemctl", "show", "-p", "MainPID", "--value", "tandem").stdout,
            main_pid)  # reloaded, not restarted
        self.assertIn("Tandem is running", self.curl("http://127.0.0.1/").stdout)

    def test_4_remove_stops_purge_cleans(self):
        self.inside("dpkg", "-r", "tandem")
        self.assertNotEqual(self.inside("systemctl", "is-active", "tandem", check=False)
                            .stdout.strip(), "active")
        self.assertEqual(self.curl("http://127.0.0.1/", timeout=1).stdout, "")
        self.inside("dpkg", "-P", "tandem")
        self.assertFalse(os.path.exists(os.path.join(self.root, "var/lib/tandem")))
        self.assertFalse(os.path.exists(os.path.join(self.root, "etc/tandem/tandem.yaml")))

    def test_5_install_over_a_broken_config_does_not_start(self):
        os.makedirs(os.path.join(self.root, "etc/tandem"), exist_ok=True)
        with open(os.path.join(self.root, "etc/tandem/tandem.yaml"), "w") as f:
            f.write("frontends:\n  www:\n    bind: \"*:80\"\n    default_backend: nope\n")
        shutil.copy(self.deb, os.path.join(self.root, "root", "again.deb"))
        r = self.inside("dpkg", "--force-confold", "-i", "/root/again.deb", check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("enabled but not started", r.stderr + r.stdout)
        self.assertNotEqual(self.inside("systemctl", "is-active", "tandem", check=False)
                            .stdout.strip(), "active")
        self.assertEqual(self.inside("systemctl", "is-enabled", "tandem").stdout.strip(),
                         "enabled")


if __name__ == "__main__":
    unittest.main(verbosity=2)
