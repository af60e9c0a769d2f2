#!/usr/bin/env python3
"""VRRP configuration keys, each with a non-default value whose effect shows on a namespace
topology (nodes A 198.18.0.1 and B 198.18.0.2, client C 198.18.0.10 on one bridge, the lab
of vrrp_netns_test.py): gratuitous ARP bursts counted by a raw-socket witness on C, the
initial state, nopreempt, unicast_src_ip, interface and proxy tracking, virtual address
mappings (address, dev, label), the notify FIFO and fault hook, and track script timing
(interval, timeout, fall, rise) driven by a queue of planned results."""
import os
import re
import stat
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, HERE)
from harness import Process  # noqa
from vrrp_netns_test import (ADDR, SLACK_MS, VIP, VrrpLab, config, master_down_ms,  # noqa
                             wait_for, with_scripts)

# Prints every ARP packet seen on eth0: monotonic time, opcode, sender IP, target IP.
ARP_WITNESS = r"""
import socket, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind(("eth0", 0x0806))
print("listening", flush=True)
while True:
    d = s.recv(2048)
    a = d[14:]
    print("%.6f %d %s %s" % (time.monotonic(), int.from_bytes(a[6:8], "big"),
                             socket.inet_ntoa(a[14:18]), socket.inet_ntoa(a[24:28])), flush=True)
"""

# Every "hold" window: a backup that ignored the change under test would take over within its
# Master_Down_Interval (counted from the master's last accepted advert) plus one advert.
HOLD_S = (master_down_ms(100, 100) + 100 + SLACK_MS) / 1000 + 0.3


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def ctl_path(cfg):
    return re.search(r"control_socket: (\S+)", cfg).group(1)


class VrrpKeysLab(VrrpLab):
    def tell(self, cfg, message):
        """Sends a supervisor message ("proxy down", "backends down") to an agent."""
        import socket
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(message.encode(), ctl_path(cfg))

    def start_pair(self, a_cfg, b_cfg=None):
        """A (the intended master) and B (priority 100), both settled: A holds the VIP, B is
        a backup. B starts once A is master: started together, a B whose process came up
        first (A slower under sanitizers) could win the first election before A's first advert."""
        self.start("A", a_cfg)
        self.assertIsNotNone(self.wait_holder("A", 5), self.logs())
        self.start("B", b_cfg or config(100))
        self.assertIsNotNone(self.wait_log("B", "Entering BACKUP STATE", 3), self.logs())
        self.assertIsNotNone(wait_for(lambda: self.holders() == ["A"], 3), self.logs())

    def veth(self, node, tag):
        """A veth pair inside the node's namespace (gone with it), both ends up; returns the
        name of the first end."""
        a, b = f"{tag}{os.getpid() % 100000}a", f"{tag}{os.getpid() % 100000}b"
        self.lab.run(node, "ip", "link", "add", a, "type", "veth", "peer", "name", b)
        self.addCleanup(self.lab.run, node, "ip", "link", "del", a, check=False)
        for dev in (a, b):
            self.lab.run(node, "ip", "link", "set", dev, "up")
        return a

    def watch_sole_holder(self, node, until, timeout, what):
        """Checks every 10 ms that `node` alone holds the VIP until `until()` holds."""
        deadline = time.monotonic() + timeout
        while not until():
            self.assertEqual(self.holders(), [node], self.logs())
            self.assertLess(time.monotonic(), deadline, f"timed out waiting for {what}\n" +
                            self.logs())
            time.sleep(0.01)


class GarpKeysTest(VrrpKeysLab):
    """vrrp_instance.garp: the gratuitous ARPs a new master sends, seen from the client."""

    def garps_after_master(self, extra, window):
        w = Process(["ip", "netns", "exec", self.lab.ns("C"), sys.executable, "-c", ARP_WITNESS],
                    os.path.join(self.tmp, "arp-witness.log"))
        self.lab.procs.append(w)
        self.assertIsNotNone(wait_for(lambda: "listening" in w.output(), 10, 0.02))
        self.start("A", config(150, extra=extra))
        self.assertIsNotNone(self.wait_holder("A", 3), self.logs())

        def garps():
            out = []
            for line in w.output().splitlines()[1:]:
                parts = line.split()
                if len(parts) == 4 and parts[2] == VIP and parts[3] == VIP:
                    out.append(float(parts[0]))
            return out
        self.assertIsNotNone(wait_for(garps, 3, 0.01), "no gratuitous ARP\n" + self.logs())
        first = garps()[0]
        while time.monotonic() < first + window:
            time.sleep(0.05)
        bursts = []  # [start time, count]: ARPs less than 250 ms apart are one burst
        for t in garps():
            if bursts and t - bursts[-1][2] < 0.25:
                bursts[-1][1] += 1
                bursts[-1][2] = t
            else:
                bursts.append([t, 1, t])
        return [(b[0] - first, b[1]) for b in bursts]

    def test_garp_master_repeat_is_the_burst_size(self):
        # vrrp_instance.garp too: without the mapping a burst is 5 ARPs.
        bursts = self.garps_after_master("      garp: { master_repeat: 2 }\n", 2.5)
        self.assertEqual([n for _, n in bursts], [2], bursts)

    def test_garp_master_delay_times_the_second_burst(self):
        bursts = self.garps_after_master("      garp: { master_delay: 1200ms }\n", 3.0)
        self.assertEqual([n for _, n in bursts], [5, 5], bursts)
        self.assertGreaterEqual(bursts[1][0], 1.1, bursts)
        self.assertLess(bursts[1][0], 2.6, bursts)

    def test_garp_master_refresh_repeats_the_bursts(self):
        bursts = self.garps_after_master(
            "      garp: { master_delay: 500ms, master_refresh: 1s }\n", 3.4)
        starts = [t for t, _ in bursts]
        self.assertGreaterEqual(len(bursts), 4, bursts)
        gaps = [b - a for a, b in zip(starts[1:], starts[2:])]
        self.assertGreaterEqual(min(gaps), 0.9, bursts)
        self.assertLess(max(gaps), 2.0, bursts)


class InstanceKeysTest(VrrpKeysLab):
    """Instance keys: state, nopreempt, unicast_src_ip, track_interface, virtual addresses."""

    def test_vrrp_instance_state_master_takes_the_vip_without_waiting(self):
        # advert_int 1 s: a BACKUP start would wait its Master_Down_Interval (about 3.4 s).
        self.start("A", config(150, advert="1s", extra="      state: MASTER\n"))
        took = self.wait_holder("A", 6)
        self.assertIsNotNone(took, self.logs())
        self.assertEqual(re.findall(r"Entering (\w+) STATE", self.agents["A"].output())[:1],
                         ["MASTER"], self.logs())
        self.assertNotIn("Master_Down_Interval", self.agents["A"].output(), self.logs())

    def test_vrrp_instance_nopreempt_keeps_the_current_master(self):
        self.start("B", config(100))
        self.assertIsNotNone(self.wait_holder("B", 3), self.logs())
        self.start("A", config(150, extra="      nopreempt: true\n"))
        self.assertIsNotNone(self.wait_log("A", "Entering BACKUP STATE", 5), self.logs())
        self.assert_sole_holder_for("B", (master_down_ms(150, 100) + 100 + SLACK_MS) / 1000 + 0.3)
        self.assertNotIn("Entering MASTER STATE", self.agents["A"].output(), self.logs())

    def test_vrrp_instance_unicast_src_ip_is_the_advert_source(self):
        # B accepts adverts from 198.18.0.21 only (its one unicast peer): A must send from it.
        src = "198.18.0.21"
        self.lab.run("A", "ip", "addr", "add", f"{src}/24", "dev", "eth0")
        self.start_pair(
            config(150, extra=f"      unicast_src_ip: {src}\n      unicast_peer: [{ADDR['B']}]\n"),
            config(100, extra=f"      unicast_peer: [{src}]\n"))
        self.assert_sole_holder_for("A", HOLD_S)
        self.assertNotIn("Entering MASTER STATE", self.agents["B"].output(), self.logs())
        self.assertIn(f"started on eth0 from {src}", self.agents["A"].output())

    def test_vrrp_instance_track_interface_down_means_fault(self):
        tracked = self.veth("A", "tk")
        self.start_pair(config(150, extra=f"      track_interface: [{tracked}]\n"))
        self.lab.run("A", "ip", "link", "set", tracked, "down")
        self.assertIsNotNone(wait_for(lambda: self.holders() == ["B"], 3), self.logs())
        self.assertIn(f"tracked interface {tracked} is down: going to FAULT",
                      self.agents["A"].output())
        self.lab.run("A", "ip", "link", "set", tracked, "up")
        self.assertIsNotNone(wait_for(lambda: self.holders() == ["A"], 4), self.logs())

    def vip_lines(self, dev):
        r = self.lab.run("A", "ip", "-4", "-o", "addr", "show", "dev", dev)
        return [line for line in r.stdout.splitlines() if f" {VIP}/" in line]

    def test_virtual_ipaddress_address_sets_the_address_and_prefix(self):
        self.start("A", config(150).replace(f"virtual_ipaddress: [{VIP}/24]",
                                            f"virtual_ipaddress: [{{ address: {VIP}/27 }}]"))
        self.assertIsNotNone(self.wait_holder("A", 3), self.logs())
        self.assertEqual([a for a in self.lab.addresses("A") if a.startswith(VIP + "/")],
                         [f"{VIP}/27"])

    def test_virtual_ipaddress_dev_puts_the_address_on_another_interface(self):
        dev = self.veth("A", "vx")
        self.start("A", config(150).replace(
            f"virtual_ipaddress: [{VIP}/24]",
            f"virtual_ipaddress: [{{ address: {VIP}/32, dev: {dev} }}]"))
        self.assertIsNotNone(self.wait_log("A", "Entering MASTER STATE", 3), self.logs())
        self.assertIsNotNone(wait_for(lambda: self.vip_lines(dev), 3), self.logs())
        self.assertEqual(self.vip_lines("eth0"), [])
        self.agents["A"].stop()
        self.assertEqual(self.vip_lines(dev), [])  # released from there on the way out

    def test_virtual_ipaddress_label_labels_the_address(self):
        self.start("A", config(150).replace(
            f"virtual_ipaddress: [{VIP}/24]",
            f"virtual_ipaddress: [{{ address: {VIP}/24, label: \"eth0:vip\" }}]"))
        self.assertIsNotNone(self.wait_holder("A", 3), self.logs())
        lines = self.vip_lines("eth0")
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], rf"inet {re.escape(VIP)}/24 .*\beth0:vip\b")


class NotifyKeysTest(VrrpKeysLab):
    def test_vrrp_notify_fifo_gets_one_line_per_state_change(self):
        fifo = os.path.join(self.tmp, "vrrp.fifo")
        cfg = config(150).replace("vrrp:\n", f"vrrp:\n  notify_fifo: {fifo}\n", 1)
        self.start("A", cfg)
        self.assertIsNotNone(self.wait_holder("A", 3), self.logs())
        st = os.stat(fifo)
        self.assertTrue(stat.S_ISFIFO(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the agent keeps it open: lines wait
        self.addCleanup(os.close, fd)
        self.agents["A"].stop()
        data = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        self.assertEqual(data.decode().splitlines(),
                         ['INSTANCE "VI_1" BACKUP 150', 'INSTANCE "VI_1" MASTER 150',
                          'INSTANCE "VI_1" INIT 150'])

    def test_notify_fault_runs_on_fault(self):
        out = os.path.join(self.tmp, "fault.out")
        cfg = config(150, extra=f"      notify:\n        fault: \"echo fault-$3-$4 >> {out}\"\n")
        self.start("A", cfg)
        self.assertIsNotNone(self.wait_holder("A", 3), self.logs())
        self.assertFalse(os.path.exists(out))
        self.tell(cfg, "proxy down")  # track_proxy weight 0: FAULT
        self.assertIsNotNone(wait_for(lambda: "\n" in read_text(out), 3, 0.02), self.logs())
        self.assertEqual(read_text(out).split(), ["fault-FAULT-150"])


class TrackProxyKeysTest(VrrpKeysLab):
    """track_proxy: how an instance follows the supervisor's "proxy"/"backends" messages."""

    def test_vrrp_instance_track_proxy_false_ignores_the_proxy(self):
        cfg = config(150, extra="      track_proxy: false\n")
        self.start_pair(cfg)
        self.tell(cfg, "proxy down")
        self.assertIsNotNone(self.wait_log("A", "local proxy reported down", 2), self.logs())
        self.assert_sole_holder_for("A", HOLD_S)
        self.assertNotIn("FAULT", self.agents["A"].output())

    def test_track_proxy_weight_lowers_the_priority_instead_of_fault(self):
        cfg = config(150, extra="      track_proxy: { weight: -20 }\n")
        self.start_pair(cfg)
        self.tell(cfg, "proxy down")
        self.assertIsNotNone(self.wait_log("A", "effective priority 150 -> 130", 2), self.logs())
        self.assert_sole_holder_for("A", HOLD_S)  # 130 > 100: A stays master
        self.assertNotIn("FAULT", self.agents["A"].output())
        self.tell(cfg, "proxy up")
        self.assertIsNotNone(self.wait_log("A", "effective priority 130 -> 150", 2), self.logs())

    def test_track_proxy_backends_down_weight_is_added_while_backends_are_down(self):
        cfg = config(150, extra="      track_proxy: { backends_down_weight: -20 }\n")
        self.start_pair(cfg)
        self.tell(cfg, "backends down")
        self.assertIsNotNone(self.wait_log("A", "effective priority 150 -> 130", 2), self.logs())
        self.assert_sole_holder_for("A", HOLD_S)  # 130 > 100 (the default -254 gives 1)
        self.tell(cfg, "backends up")
        self.assertIsNotNone(self.wait_log("A", "effective priority 130 -> 150", 2), self.logs())


class TrackScriptKeysTest(VrrpKeysLab):
    """vrrp_script timing and track_script references. Scripts run as root here (the
    directories are the test's own, mode 0700)."""

    def queue_script(self):
        """A track script whose results the test plans: each run takes the oldest token from a
        queue directory ("NNNN-S" succeeds, "NNNN-F" fails) and, with none left, succeeds while
        the `ok` file exists. Every result is appended to `runs` (S, F, d = default success,
        e = default failure). Tokens are separate files renamed into place, so nothing the
        test plans can be lost to a run in progress."""
        self.queue = os.path.join(self.tmp, "queue")
        self.done = os.path.join(self.tmp, "done")
        self.staging = os.path.join(self.tmp, "staging")
        for d in (self.queue, self.done, self.staging):
            os.mkdir(d)
        self.ok = os.path.join(self.tmp, "ok")
        self.runs_file = os.path.join(self.tmp, "runs")
        self.tokens = 0
        return (f"for t in {self.queue}/*; do [ -e \"$t\" ] || break; "
                f"mv \"$t\" {self.done}/ || continue; r=${{t##*-}}; echo $r >> {self.runs_file}; "
                f"[ $r = S ]; exit $?; done; "
                f"if test -e {self.ok}; then echo d >> {self.runs_file}; "
                f"else echo e >> {self.runs_file}; exit 1; fi")

    def enqueue(self, results):
        for r in results:
            name = f"{self.tokens:04d}-{r}"
            self.tokens += 1
            open(os.path.join(self.staging, name), "w").close()
            os.rename(os.path.join(self.staging, name), os.path.join(self.queue, name))

    def runs(self):
        try:
            with open(self.runs_file) as f:
                return f.read().split()
        except FileNotFoundError:
            return []

    def consumed(self, start, results, then, after=2):
        """True once `results` were all taken (after `start` runs) and `after` more runs gave
        `then` (the default result)."""
        got = self.runs()[start:]
        return (len(got) >= len(results) + after and
                got[:len(results)] == list(results) and
                got[len(results):len(results) + after] == [then] * after)

    def test_vrrp_script_fall_is_the_failures_that_make_it_fail(self):
        cmd = self.queue_script()
        open(self.ok, "w").close()
        scripts = f"    chk: {{ command: '{cmd}', interval: 150ms, weight: -60, fall: 6 }}\n"
        self.start_pair(with_scripts(config(150, extra="      track_script: [chk]\n"), scripts))
        start = len(self.runs())
        self.enqueue("FFFFF")  # five failures in a row, then successes: fewer than fall
        self.watch_sole_holder("A", lambda: self.consumed(start, "FFFFF", "d"), 10,
                               "five failed runs and two good ones")
        self.assertNotIn("VRRP_Script(chk) failed", self.agents["A"].output(), self.logs())
        os.remove(self.ok)  # failing for good: failed after the sixth, 150 - 60 = 90 < 100
        self.assertIsNotNone(wait_for(lambda: self.holders() == ["B"], 6), self.logs())
        self.assertIn("VRRP_Script(chk) failed", self.agents["A"].output())
        self.assertIn("effective priority 150 -> 90", self.agents["A"].output())

    def test_vrrp_script_rise_is_the_successes_that_make_it_succeed(self):
        cmd = self.queue_script()  # no `ok` file: every run fails
        scripts = f"    chk: {{ command: '{cmd}', interval: 150ms, weight: -60, rise: 6 }}\n"
        self.start("B", config(100))
        self.assertIsNotNone(self.wait_holder("B", 3), self.logs())
        self.start("A", with_scripts(config(150, extra="      track_script: [chk]\n"), scripts))
        self.assertIsNotNone(self.wait_log("A", "effective priority 150 -> 90", 3), self.logs())
        self.assertIsNotNone(self.wait_log("A", "Entering BACKUP STATE", 3), self.logs())
        start = len(self.runs())
        self.enqueue("SSSSS")  # five successes in a row, then failures: fewer than rise
        self.watch_sole_holder("B", lambda: self.consumed(start, "SSSSS", "e"), 10,
                               "five good runs and two failed ones")
        self.assertNotIn("effective priority 90 -> 150", self.agents["A"].output(), self.logs())
        open(self.ok, "w").close()  # passing for good: OK after the sixth, A preempts
        self.assertIsNotNone(wait_for(lambda: self.holders() == ["A"], 6), self.logs())
        self.assertIn("VRRP_Script(chk) succeeded", self.agents["A"].output())

    def test_vrrp_script_interval_spaces_the_runs(self):
        runs = os.path.join(self.tmp, "runs")
        scripts = f"    chk: {{ command: 'date +%s.%N >> {runs}', interval: 2s }}\n"
        self.start("A", with_scripts(config(150, extra="      track_script: [chk]\n"), scripts))

        def times():
            try:
                with open(runs) as f:
                    return [float(x) for x in f.read().split()]
            except FileNotFoundError:
                return []
        self.assertIsNotNone(wait_for(lambda: len(times()) >= 3, 10, 0.05), self.logs())
        t = times()
        gaps = [b - a for a, b in zip(t, t[1:])]
        self.assertGreaterEqual(min(gaps), 1.8, gaps)  # the default would run it every second
        self.assertLess(max(gaps), 4.0, gaps)

    def test_vrrp_script_timeout_lets_a_slow_run_pass_and_kills_a_slower_one(self):
        runs = os.path.join(self.tmp, "runs")
        slow = os.path.join(self.tmp, "slower")
        cmd = f"if test -e {slow}; then exec sleep 9; fi; sleep 1.5; echo done >> {runs}"
        scripts = (f"    chk: {{ command: '{cmd}', interval: 3500ms, timeout: 3s, "
                   f"weight: -60 }}\n")
        self.start_pair(with_scripts(config(150, extra="      track_script: [chk]\n"), scripts))
        # A 1.5 s run within the 3 s timeout succeeds (the default 1 s would kill it: failed,
        # priority 90, B takes over).
        self.watch_sole_holder("A", lambda: os.path.exists(runs), 8, "a run to complete")
        self.assertNotIn("VRRP_Script(chk) failed", self.agents["A"].output(), self.logs())
        open(slow, "w").close()  # the next run outlives the timeout: killed, a failure
        self.assertIsNotNone(wait_for(lambda: self.holders() == ["B"], 10), self.logs())
        self.assertIn("VRRP_Script(chk) failed", self.agents["A"].output())

    def test_track_script_name_and_weight_pick_the_script_and_override_its_weight(self):
        flag = os.path.join(self.tmp, "healthy")
        open(flag, "w").close()
        scripts = (f"    chk: {{ command: \"test -e {flag}\", interval: 100ms, weight: -60 }}\n"
                   f"    decoy: {{ command: \"false\", interval: 100ms, weight: -60 }}\n")
        self.start_pair(with_scripts(
            config(150, extra="      track_script: [{ name: chk, weight: -20 }]\n"), scripts))
        # The always failing decoy is not tracked: A is at 150 until chk fails, then at 130
        # (its own weight -60 would give 90 and hand the VIP to B).
        self.assertNotIn("effective priority", self.agents["A"].output(), self.logs())
        os.remove(flag)
        self.assertIsNotNone(self.wait_log("A", "effective priority 150 -> 130", 3), self.logs())
        self.assert_sole_holder_for("A", HOLD_S)


if __name__ == "__main__":
    unittest.main(verbosity=2)
