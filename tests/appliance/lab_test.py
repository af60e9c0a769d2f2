#!/usr/bin/env python3
"""`tandem lab` and every `tandem drill` scenario, for real: two `tandem run` nodes, three demo
backends and a client in network namespaces (198.18.0.0/15 only), real curl through the VIP.
The lab has a unique name and is always taken down (`tandem lab down`), also on failure."""
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import TANDEM  # noqa

NAME = f"t{os.getpid() % 100000}"


def tandem(*args, timeout=180):
    return subprocess.run([TANDEM, *args], capture_output=True, text=True, timeout=timeout)


def netns_list():
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


class LabTest(unittest.TestCase):
    # One ctest entry: the methods run in order on one set-up (tests/tools/list_tests.py).
    CTEST_PER_CLASS = True
    CTEST_TIMEOUT = 900

    reports = {}

    @classmethod
    def setUpClass(cls):
        cls.addClassCleanup(tandem, "lab", "down", "--name", NAME)
        r = tandem("lab", "up", "--name", NAME, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"lab up failed:\n{r.stdout}\n{r.stderr}")
        cls.up_output = r.stdout
        cls.dir = f"/run/tandem-lab/{NAME}"

    @classmethod
    def tearDownClass(cls):
        if cls.reports:
            print("\n\ndrill      moved_ms  failed/total  both_held_ms  returned", file=sys.stderr)
            for name, r in cls.reports.items():
                moved = "-" if r["vip_moved_ms"] is None else f"{r['vip_moved_ms']:.0f}"
                print(f"{name:10} {moved:>8}  {r['requests_failed']:>6}/{r['requests_total']:<5} "
                      f"{r['both_held_ms']:>12.0f}  {r['returned_to_initial_state']}",
                      file=sys.stderr)

    def drill(self, scenario):
        r = tandem("drill", scenario, "--lab", NAME, "--json")
        report = json.loads(r.stdout)
        self.reports[scenario] = report
        self.assertTrue(report["pass"], json.dumps(report, indent=2))
        self.assertEqual(r.returncode, 0)
        self.assertTrue(report["returned_to_initial_state"])
        self.assertEqual(report["notes"], [])
        return report

    def test_a_lab_up_prints_where_to_reach_what_and_settles(self):
        self.assertIn(f"ip netns exec {NAME}-client curl -s http://198.18.0.100/", self.up_output)
        self.assertIn(f"tandem lab down --name {NAME}", self.up_output)
        s = json.loads(tandem("lab", "status", "--name", NAME, "--json").stdout)
        self.assertEqual(s["vip_held_by"], ["n1"])
        for node in s["nodes"]:
            self.assertTrue(node["status"]["proxy"]["live"])
            self.assertEqual(node["status"]["backends"][0]["up"], 3)
        roles = [n["status"]["vrrp"][0]["state"] for n in s["nodes"]]
        self.assertEqual(roles, ["MASTER", "BACKUP"])
        # One file for the pair, and the two supervisors hear each other over the pair channel
        # (each with the other's role).
        for me, other, role in (("n1", "n2", "BACKUP"), ("n2", "n1", "MASTER")):
            deadline = time.monotonic() + 10
            while True:
                st = json.loads(tandem("status", "-s", f"{self.dir}/{me}.sock", "--json").stdout)
                peer = st.get("pair", {}).get("peer", {})
                if (st.get("pair", {}).get("peer_up") and
                        peer.get("roles") == [{"instance": "VI_1", "state": role}]):
                    break
                self.assertLess(time.monotonic(), deadline, st.get("pair"))
                time.sleep(0.1)
            self.assertEqual(peer["node"], other)
            self.assertFalse(st["pair"]["config_drift"])
            self.assertEqual(peer["config_hash"], st["config_hash"])
        with open(f"{self.dir}/n1.yaml") as f:
            self.assertIn("nodes:", f.read())

    def test_b_traffic_through_the_vip_is_balanced(self):
        # Nine requests from one curl, back to back (a few milliseconds): the supervisors' own
        # liveness probes take turns in the round robin too, and nine curl processes spread over
        # a loaded second could keep meeting a probe in between and skip a server.
        r = subprocess.run(["ip", "netns", "exec", f"{NAME}-client", "curl", "-s", "-m", "5"] +
                           ["http://198.18.0.100/"] * 9, capture_output=True, text=True,
                           timeout=20)
        words = r.stdout.split()
        self.assertEqual(len(words), 18, r.stdout)
        seen = {}
        for backend, node in zip(words[0::2], words[1::2]):
            seen[backend] = seen.get(backend, 0) + 1
            self.assertEqual(node, "198.18.0.11")  # the master forwards
        self.assertEqual(set(seen), {"b1", "b2", "b3"}, seen)  # round robin over all three

    def test_c_drill_kill_proxy(self):
        r = self.drill("kill-proxy")
        # The fast path (pidfd -> agent -> priority 0 -> peer after Skew_Time) beats the
        # Master_Down_Interval the peer would otherwise wait; the milliseconds themselves are
        # `make bench-drills`' to report (polling `ip` here would make a bound flaky).
        self.assertLess(r["vip_moved_ms"], r["master_down_interval_ms"])
        self.assertLessEqual(r["both_held_ms"], 100)  # the hand-back: one advert interval

    def test_d_drill_kill_agent(self):
        r = self.drill("kill-agent")
        # Master_Down_Interval, plus one advert interval and polling slack.
        self.assertLessEqual(r["vip_moved_ms"], r["master_down_interval_ms"] + 150)
        # The supervisor removed the dead agent's VIP at once: never two holders (without it,
        # both would hold it until the agent came back).
        self.assertLessEqual(r["both_held_ms"], 100)
        with open(f"{self.dir}/n1.log") as f:
            self.assertIn("removed virtual address 198.18.0.100/24 from eth0: the VRRP agent died",
                          f.read())

    def test_e_drill_kill_node(self):
        r = self.drill("kill-node")
        self.assertLessEqual(r["vip_moved_ms"], r["master_down_interval_ms"] + 150)

    def test_f_drill_link_down(self):
        r = self.drill("link-down")
        self.assertLessEqual(r["both_held_ms"], 100)

    def test_g_drill_reload(self):
        r = self.drill("reload")
        self.assertEqual(r["requests_failed"], 0)
        self.assertGreater(r["requests_total"], 100)

    def test_h_drill_preempt_and_clean_stop_order(self):
        r = self.drill("preempt")
        self.assertLessEqual(r["both_held_ms"], 100)
        # The drill stopped n1 with SIGTERM: the agent left first, then the proxy drained.
        with open(f"{self.dir}/n1.log") as f:
            log = f.read()
        stop = log.rindex("SIGTERM: stopping")
        agent = log.index("VRRP agent exited with status 0", stop)
        proxy = log.index("proxy worker exited with status 0", stop)
        self.assertLess(agent, proxy)

    def test_i_vrrp_change_on_reload_keeps_the_unchanged_instance_master(self):
        cfg = f"{self.dir}/n1.yaml"
        with open(cfg) as f:
            original = f.read()
        sock = f"{self.dir}/n1.sock"
        log_path = f"{self.dir}/n1.log"
        old_ctl, new_ctl = f"{self.dir}/n1-vrrp.sock", f"{self.dir}/n1-vrrp-moved.sock"
        try:
            # Also move the agent's control socket: the agent follows at once (the supervisor's
            # liveness reports go to the new path from this generation on).
            # The lab's file is one for both nodes: VI_2 goes into the shared VRRP part of n1's
            # copy (n2 keeps its copy, and so never runs VI_2).
            anchor = "\nvrrp:\n  instances:\n"
            self.assertIn(anchor, original)
            with open(cfg, "w") as f:
                f.write(original.replace(old_ctl, new_ctl).replace(
                    anchor, anchor + "    VI_2:\n      interface: eth0\n"
                    "      virtual_router_id: 52\n      priority: 150\n      advert_int: 100ms\n"
                    "      virtual_ipaddress: [198.18.0.101/24]\n", 1))
            before = os.path.getsize(log_path)
            r = tandem("reload", "-s", sock, "--json")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                s = json.loads(tandem("status", "-s", sock, "--json").stdout)
                states = {i["instance"]: i["state"] for i in s["vrrp"]}
                if states.get("VI_2") == "MASTER":
                    break
                time.sleep(0.1)
            self.assertEqual(states, {"VI_1": "MASTER", "VI_2": "MASTER"})
            with open(log_path) as f:
                f.seek(before)
                after = f.read()
            self.assertIn("configuration reloaded: 1 instance(s) unchanged, 1 (re)started", after)
            self.assertNotIn("VRRP_Instance(VI_1) Entering", after)  # never left MASTER
            self.assertIn(f"control socket moved to {new_ctl}", after)
            self.assertTrue(os.path.exists(new_ctl))
            self.assertFalse(os.path.exists(old_ctl))
        finally:
            with open(cfg, "w") as f:
                f.write(original)
            tandem("reload", "-s", sock)

    def test_j_hung_proxy_fails_the_probe_and_the_vip_moves(self):
        # First a reload moves vrrp.control_socket somewhere the agent cannot bind (under a
        # regular file): the agent stays on its socket, and the supervisor's liveness must keep
        # reaching it there — the VIP moving below proves it.
        cfg, sock, log_path = f"{self.dir}/n1.yaml", f"{self.dir}/n1.sock", f"{self.dir}/n1.log"
        with open(cfg) as f:
            original = f.read()
        old_ctl, bad_ctl = f"{self.dir}/n1-vrrp.sock", f"{self.dir}/n1.yaml/vrrp.sock"
        self.addCleanup(tandem, "reload", "-s", sock)
        self.addCleanup(lambda: open(cfg, "w").write(original))
        before = os.path.getsize(log_path)
        with open(cfg, "w") as f:
            f.write(original.replace(old_ctl, bad_ctl))
        r = tandem("reload", "-s", sock, "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open(log_path) as f:
                f.seek(before)
                if f"staying on {old_ctl}" in f.read():
                    break
            time.sleep(0.05)
        with open(log_path) as f:
            f.seek(before)
            self.assertIn(f"staying on {old_ctl}", f.read())
        s = json.loads(tandem("status", "-s", sock, "--json").stdout)
        pid = [c["pid"] for c in s["children"] if c["name"] == "proxy"][0]
        os.kill(pid, 19)  # SIGSTOP: alive but not answering, as a hung worker
        try:
            started = time.monotonic()
            holder = None
            while time.monotonic() - started < 5:
                holder = json.loads(tandem("lab", "status", "--name", NAME, "--json").stdout)[
                    "vip_held_by"]
                if holder == ["n2"]:
                    break
                time.sleep(0.02)
            # 2 failed probes (200 ms each at most) + Skew_Time, with room for a loaded machine
            self.assertEqual(holder, ["n2"])
            self.assertLess(time.monotonic() - started, 2.0)
        finally:
            os.kill(pid, 18)  # SIGCONT
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if json.loads(tandem("lab", "status", "--name", NAME, "--json").stdout)[
                    "vip_held_by"] == ["n1"]:
                break
            time.sleep(0.05)
        with open(f"{self.dir}/n1.log") as f:
            self.assertIn("local proxy probe of 127.0.0.1:80 fails", f.read())
        # `tandem status` says why the VIP left: n1's VRRP history, with its reasons.
        s = json.loads(tandem("status", "-s", sock, "--json").stdout)
        left = [t for t in s["transitions"] if t["what"].startswith("vrrp ") and
                t["from"] == "MASTER"]
        self.assertTrue(left, s["transitions"])
        self.assertTrue(any("proxy" in t["reason"] or "advertisement" in t["reason"]
                            for t in left), left)
        self.assertIn("last changes (UTC):", tandem("status", "-s", sock).stdout)

    def test_k_drill_config_drift(self):
        r = tandem("drill", "config-drift", "--lab", NAME, "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        report = json.loads(r.stdout)
        self.assertTrue(report["pass"], report)
        for node in ("n1", "n2"):
            self.assertIsNotNone(report["drift_seen_ms"][node])
            self.assertIsNotNone(report["drift_cleared_ms"][node])
        print(f"\nconfig-drift: seen after {report['drift_seen_ms']} ms, cleared after "
              f"{report['drift_cleared_ms']} ms", file=sys.stderr)
        r = tandem("drill", "config-drift", "--lab", NAME)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("result: PASS", r.stdout)

    def test_z_lab_down_removes_everything(self):
        r = tandem("lab", "down", "--name", NAME)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(f"{NAME}-", netns_list())
        self.assertFalse(os.path.exists(self.dir))
        self.assertIn("is not up", tandem("lab", "down", "--name", NAME).stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
