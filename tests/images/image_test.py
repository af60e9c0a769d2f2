#!/usr/bin/env python3
"""The appliance disk image, for real: `make image`'s script builds it (mmdebstrap, mke2fs -d,
mtools + syslinux, qcow2), then qemu boots it under TCG (no KVM here) with user-mode networking
(restrict=on, host ports forwarded on 127.0.0.1 only), snapshot=on and the serial console in a
file. First boot: the proxy answers through the forwarded port and the stats page shows the node.
Second boot: a seed disk (vfat, label TANDEMSEED) brings the real configuration and the
hostname. Then two VMs form a VRRP pair on a bridge in a network namespace (bench/image_drill.py)
and the master is powered off: the other VM must answer on the VIP within Master_Down_Interval
(+ room for emulation). Every wait is bounded; qemu is stopped by PID; the serial log tail is printed on
failure."""
import json
import re
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from harness import TANDEM, free_port  # noqa

BOOT_BUDGET = 300


def sh(*args, timeout=900):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def http(port, path="/", timeout=3):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: vm\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data.decode(errors="replace")
    except OSError:
        return ""


class Vm:
    def __init__(self, image, tmp, name, extra_drives=()):
        self.serial = os.path.join(tmp, f"{name}-serial.log")
        self.http_port, self.stats_port = free_port(), free_port()
        args = ["qemu-system-x86_64", "-accel", "tcg", "-m", "1024", "-smp", "2",
                "-display", "none", "-no-reboot",
                "-drive", f"file={image},if=virtio,snapshot=on",
                "-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{self.http_port}-:80,"
                           f"hostfwd=tcp:127.0.0.1:{self.stats_port}-:8404",
                "-device", "virtio-net-pci,netdev=n0", "-serial", f"file:{self.serial}"]
        for d in extra_drives:
            args += ["-drive", f"file={d},if=virtio,format=raw,snapshot=on"]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def serial_tail(self, n=4000):
        try:
            with open(self.serial, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def wait_http(self, needle):
        deadline = self.started + BOOT_BUDGET
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"qemu exited ({self.proc.returncode})\n{self.serial_tail()}")
            if needle in http(self.http_port):
                return time.monotonic() - self.started
            time.sleep(1)
        raise AssertionError(f"no '{needle}' within {BOOT_BUDGET} s; serial log tail:\n"
                             f"{self.serial_tail()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ApplianceImageTest(unittest.TestCase):
    # One ctest entry: the methods run in order on one set-up (tests/tools/list_tests.py).
    CTEST_PER_CLASS = True
    CTEST_TIMEOUT = 1500

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-image-", dir="/var/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        build = os.path.dirname(os.path.abspath(TANDEM))
        # The image is built from this build tree's package into a folder of the test's own.
        work = os.path.join(cls.tmp, "build")
        os.makedirs(work)
        os.symlink(os.path.abspath(TANDEM), os.path.join(work, "tandem"))
        sh("bash", os.path.join(SRC, "images", "deb", "build-deb.sh"), work, work)
        started = time.monotonic()
        out = sh("bash", os.path.join(SRC, "images", "appliance", "build-image.sh"), work).stdout
        cls.build_seconds = time.monotonic() - started
        cls.report = out.strip().splitlines()[-2:]
        cls.qcow2 = os.path.join(work, "image", "tandem.qcow2")
        cls.raw = os.path.join(work, "image", "tandem.raw")

    def vm(self, name, drives=()):
        vm = Vm(self.qcow2, self.tmp, name, drives)
        self.addCleanup(vm.stop)
        return vm

    def test_1_first_boot_serves_with_the_default_config(self):
        vm = self.vm("default")
        seconds = vm.wait_http("Tandem is running")
        stats = json.loads(http(vm.stats_port, "/stats;json").split("\r\n\r\n", 1)[1])
        self.assertEqual([f["name"] for f in stats["frontends"]], ["www"])
        # systemd's own line on the serial console (console=ttyS0): the unit started, and never
        # failed first (a "Failed to start tandem.service" also names the unit). The proxy
        # answers as soon as its worker serves; systemd prints the line once the supervisor's
        # READY=1 reached it, a moment later under emulation: wait for it, bounded.
        deadline = time.monotonic() + 60
        while True:
            plain = re.sub(r"\x1b\[[0-9;]*m", "", vm.serial_tail(200000))  # unit names coloured
            if "Started tandem.service" in plain or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertRegex(plain, r"Started tandem\.service", vm.serial_tail())
        self.assertNotIn("Failed to start tandem", plain, vm.serial_tail())
        print(f"\nimage built in {self.build_seconds:.0f} s: {' / '.join(self.report)}; "
              f"first boot to the proxy answering (TCG): {seconds:.0f} s; qcow2 "
              f"{os.path.getsize(self.qcow2) / 2**20:.0f} MiB", file=sys.stderr)

    def test_2_seed_disk_brings_config_and_hostname(self):
        seed = os.path.join(self.tmp, "seed.img")
        sh("mkfs.vfat", "-n", "TANDEMSEED", "-C", seed, "8192")
        conf = os.path.join(self.tmp, "tandem.yaml")
        with open(conf, "w") as f:
            f.write('frontends:\n  www:\n    bind: "*:80"\n    http_request:\n'
                    '      - return: { status: 200, string: "seeded node edge-7" }\n'
                    'stats: { bind: "*:8404" }\n')
        with open(os.path.join(self.tmp, "hostname"), "w") as f:
            f.write("edge-7\n")
        sh("mcopy", "-i", seed, conf, "::/tandem.yaml")
        sh("mcopy", "-i", seed, os.path.join(self.tmp, "hostname"), "::/hostname")
        vm = self.vm("seeded", [seed])
        vm.wait_http("seeded node edge-7")
        serial = vm.serial_tail(200000)
        self.assertIn("tandem-seed: configuration installed from the seed", serial,
                      vm.serial_tail())
        self.assertIn("tandem-seed: hostname edge-7", serial, vm.serial_tail())

    def test_3_two_vms_fail_over_when_the_master_powers_off(self):
        sys.path.insert(0, os.path.join(SRC, "bench"))
        import image_drill
        boot, moved, failed, total = image_drill.drill(self.qcow2)
        print(f"\ntwo VMs up in {boot:.0f} s; master powered off -> VIP answered by the other "
              f"VM after {moved:.0f} ms; {failed}/{total} probes failed", file=sys.stderr)
        self.assertIsNotNone(moved)
        # Master_Down_Interval (361 ms) plus room for software emulation.
        self.assertLess(moved, 361 + 250)


if __name__ == "__main__":
    unittest.main(verbosity=2)
