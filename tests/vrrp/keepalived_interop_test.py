#!/usr/bin/env python3
"""Tandem's VRRP agent paired with the real keepalived (Debian's package) on a namespace
topology: both roles, VRRPv3 (100 ms adverts) and VRRPv2 with auth_type PASS (1 s adverts),
failover in both directions."""
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import TANDEM, Process  # noqa
from netns import Lab  # noqa

VIP = "198.18.0.100"
RUN_DIR = tempfile.mkdtemp(prefix="tandem-kad-run-")  # the agent's control socket and state
unittest.addModuleCleanup(shutil.rmtree, RUN_DIR, True)


def tandem_cfg(prio, version):
    v = (f"      version: 3\n      advert_int: 100ms\n" if version == 3 else
         "      version: 2\n      advert_int: 1s\n"
         "      authentication: { type: PASS, password: secret }\n")
    return f"""
global: {{ log: {{ target: stderr, level: info }} }}
vrrp:
  control_socket: {RUN_DIR}/ctl-{prio}-{version}.sock
  state_dir: {RUN_DIR}/state
  instances:
    VI_1:
      interface: eth0
      virtual_router_id: 51
      priority: {prio}
{v}      virtual_ipaddress: [{VIP}/24]
"""


def keepalived_cfg(prio, version, state):
    auth = ("" if version == 3 else
            "    authentication {\n      auth_type PASS\n      auth_pass secret\n    }\n")
    return f"""global_defs {{
  router_id kad
  vrrp_version {version}
  script_user root
}}
vrrp_instance VI_1 {{
    state {state}
    interface eth0
    virtual_router_id 51
    priority {prio}
    advert_int {"0.1" if version == 3 else "1"}
{auth}    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"""


class KeepalivedInteropTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tandem-kad-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.lab = Lab()
        self.addCleanup(self.lab.close)
        self.lab.add_host("T", "198.18.0.1")  # Tandem
        self.lab.add_host("K", "198.18.0.2")  # keepalived
        self.lab.add_host("C", "198.18.0.10")

    def tandem(self, prio, version):
        path = os.path.join(self.tmp, "tandem.yaml")
        with open(path, "w") as f:
            f.write(tandem_cfg(prio, version))
        p = Process(["ip", "netns", "exec", self.lab.ns("T"), TANDEM, "vrrp", "-c", path],
                    os.path.join(self.tmp, f"tandem-{time.monotonic()}.log"))
        self.lab.procs.append(p)
        return p

    def keepalived(self, prio, version, state="BACKUP"):
        path = os.path.join(self.tmp, "keepalived.conf")
        with open(path, "w") as f:
            f.write(keepalived_cfg(prio, version, state))
        p = Process(["ip", "netns", "exec", self.lab.ns("K"), "keepalived", "-n", "-l", "-D", "-P",
                     "-G", "-f", path, "-p", os.path.join(self.tmp, "kad.pid"),
                     "-r", os.path.join(self.tmp, "kad-vrrp.pid")],
                    os.path.join(self.tmp, f"keepalived-{time.monotonic()}.log"))
        self.lab.procs.append(p)
        return p

    def holders(self):
        return [n for n in ("T", "K") if self.lab.has_address(n, VIP)]

    def wait_only(self, node, timeout):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.holders() == [node]:
                return (time.monotonic() - t0) * 1000
            time.sleep(0.003)
        return None

    def logs(self):
        return "\n".join(f"--- {p.log_path}\n{p.output()[-2000:]}" for p in self.lab.procs)

    def pair(self, version, tandem_master):
        hi, lo = 150, 100
        t = self.tandem(hi if tandem_master else lo, version)
        k = self.keepalived(lo if tandem_master else hi, version)
        winner, loser = ("T", "K") if tandem_master else ("K", "T")
        settle = 2 if version == 3 else 6
        self.assertIsNotNone(self.wait_only(winner, settle), self.logs())
        time.sleep(0.5 if version == 3 else 2.5)
        self.assertEqual(self.holders(), [winner], self.logs())
        r = self.lab.run("C", "ping", "-c", "1", "-W", "1", VIP, check=False)
        self.assertEqual(r.returncode, 0)
        self.assertIn(self.lab.mac(winner), self.lab.run("C", "ip", "neigh", "show", VIP).stdout)
        # Failover: the master leaves gracefully (priority 0), the other takes the VIP.
        (t if tandem_master else k).stop()
        took = self.wait_only(loser, 5)
        self.assertIsNotNone(took, self.logs())
        print(f"\n  v{version} {'Tandem' if tandem_master else 'keepalived'} master stopped: "
              f"{'keepalived' if tandem_master else 'Tandem'} holds the VIP after {took:.0f} ms",
              file=sys.stderr)
        return t, k

    def test_v3_tandem_master_keepalived_backup(self):
        self.pair(3, tandem_master=True)

    def test_v3_keepalived_master_tandem_backup(self):
        self.pair(3, tandem_master=False)

    def test_v2_pass_auth_tandem_master_keepalived_backup(self):
        self.pair(2, tandem_master=True)

    def test_v2_pass_auth_keepalived_master_tandem_backup(self):
        self.pair(2, tandem_master=False)

    def test_v3_tandem_killed_keepalived_takes_over_within_master_down(self):
        t = self.tandem(150, 3)
        self.keepalived(100, 3)
        self.assertIsNotNone(self.wait_only("T", 2), self.logs())
        time.sleep(0.5)
        t.stop(9)
        took = None
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3:
            if self.lab.has_address("K", VIP):
                took = (time.monotonic() - t0) * 1000
                break
            time.sleep(0.003)
        self.assertIsNotNone(took, self.logs())
        bound = 3 * 100 + (256 - 100) * 100 / 256
        print(f"\n  v3 Tandem SIGKILLed: keepalived holds the VIP after {took:.0f} ms "
              f"(Master_Down_Interval {bound:.0f} ms)", file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
