#!/usr/bin/env python3
"""The VRRP agent on a real two-node topology: network namespaces joined by a bridge, a client
namespace, addresses in 198.18.0.0/15. Checks election, VIP ownership with `ip addr`, the
client's ARP entry, takeover timing after SIGKILL and after a graceful stop, preemption,
nopreempt, stale-VIP cleanup, and the wire format as tshark decodes it."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import TANDEM, Node, Process, PrometheusServer, metric  # noqa
from netns import Lab, sh  # noqa

VIP = "198.18.0.100"
RUN_DIR = tempfile.mkdtemp(prefix="tandem-vrrp-run-")  # control sockets and state files
unittest.addModuleCleanup(shutil.rmtree, RUN_DIR, True)
ADDR = {"A": "198.18.0.1", "B": "198.18.0.2", "C": "198.18.0.10"}


def config(prio, version=3, advert="100ms", extra="", script_user="root"):
    # Every agent gets its own control socket and state directory under RUN_DIR, never the
    # system's /run/tandem. Scripts here read files in private (0700) test directories: they
    # run as root unless a test is about script_user.
    tag = f"{prio}-{time.monotonic_ns()}"
    return f"""
global: {{ log: {{ target: stderr, level: info }} }}
vrrp:
  script_user: {script_user}
  control_socket: {RUN_DIR}/ctl-{tag}.sock
  state_dir: {RUN_DIR}/state-{tag}
  instances:
    VI_1:
      interface: eth0
      virtual_router_id: 51
      version: {version}
      priority: {prio}
      advert_int: {advert}
      virtual_ipaddress: [{VIP}/24]
{extra}"""


def with_scripts(cfg, scripts):
    """Inserts a `scripts:` section into a config made by config()."""
    return cfg.replace("vrrp:\n", "vrrp:\n  scripts:\n" + scripts, 1)


def master_down_ms(prio, advert_ms):
    return 3 * advert_ms + (256 - prio) * advert_ms / 256


def skew_ms(prio, advert_ms):
    return (256 - prio) * advert_ms / 256


# Every VIP check forks `ip` twice; on a loaded 2-core machine one round can take tens of ms.
# Timing bounds are the protocol's own (Master_Down_Interval, Skew_Time, one advert) plus this.
SLACK_MS = 150


def wait_for(predicate, timeout, interval=0.005):
    """Polls predicate until it holds; returns time.monotonic() when it first did, else None."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return time.monotonic()
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


class VrrpLab(unittest.TestCase):
    """Two nodes (A 198.18.0.1, B 198.18.0.2) and a client (C) on one bridge."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tandem-vrrp-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.lab = Lab()
        self.addCleanup(self.lab.close)
        for name, ip in ADDR.items():
            self.lab.add_host(name, ip)
        self.agents = {}

    def start(self, node, cfg):
        path = os.path.join(self.tmp, f"{node}.yaml")
        with open(path, "w") as f:
            f.write(cfg)
        p = Process(["ip", "netns", "exec", self.lab.ns(node), TANDEM, "vrrp", "-c", path],
                    os.path.join(self.tmp, f"{node}-{len(self.lab.procs)}.log"))
        self.lab.procs.append(p)
        self.agents[node] = p
        return p

    def holders(self):
        return [n for n in ("A", "B") if self.lab.has_address(n, VIP)]

    def wait_holder(self, node, timeout):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.lab.has_address(node, VIP):
                return (time.monotonic() - t0) * 1000
            time.sleep(0.003)
        return None

    def logs(self):
        return "\n".join(f"--- {p.log_path}\n{p.output()[-1500:]}" for p in self.lab.procs)

    def wait_log(self, node, text, timeout):
        """When `text` first shows in the node's current agent log (time.monotonic()), or None."""
        return wait_for(lambda: text in self.agents[node].output(), timeout, 0.01)

    def since_master(self, node):
        """The node's log after it first entered MASTER (what a later step-down would add to)."""
        return self.agents[node].output().split("Entering MASTER STATE", 1)[-1]

    def assert_sole_holder_for(self, node, seconds):
        """The VIP is on `node` and nowhere else at every check during the window, not only at
        its end: a node that takes the VIP and hands it back in between is caught too."""
        deadline = time.monotonic() + seconds
        while True:
            self.assertEqual(self.holders(), [node], self.logs())
            if time.monotonic() >= deadline:
                return
            time.sleep(0.01)



class VrrpNetnsTest(VrrpLab):
    def test_election_takeover_and_preemption(self):
        self.start("A", config(150))
        self.start("B", config(100))
        self.assertIsNotNone(self.wait_holder("A", 2), self.logs())
        time.sleep(0.5)
        self.assertEqual(self.holders(), ["A"], self.logs())  # exactly one holder
        # The client reaches the VIP and its ARP entry points at the master's MAC.
        r = self.lab.run("C", "ping", "-c", "2", "-i", "0.2", "-W", "1", VIP, check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        neigh = self.lab.run("C", "ip", "neigh", "show", VIP).stdout
        self.assertIn(self.lab.mac("A"), neigh)

        # Master killed: the backup takes the VIP when Master_Down_Interval runs out (how fast
        # is measured by make bench; here the log says which timer fired).
        self.agents["A"].stop(9)
        took = self.wait_holder("B", 3)
        self.assertIsNotNone(took, self.logs())
        mdi = master_down_ms(100, 100)
        print(f"\n  SIGKILL takeover: {took:.0f} ms (Master_Down_Interval {mdi:.0f} ms)", file=sys.stderr)
        self.assertIn("Entering MASTER STATE (no advertisement from a master within "
                      "Master_Down_Interval", self.agents["B"].output(), self.logs())
        # The dead agent's address is still on A (what the supervisor will clean, issue 7); a
        # restarted agent removes it before anything else.
        self.start("A", config(150))
        time.sleep(0.2)
        # Preemption: A (150) takes the VIP back, B releases it; ARP follows after the GARP.
        self.assertIsNotNone(self.wait_holder("A", 2))
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and self.lab.has_address("B", VIP):
            time.sleep(0.01)
        self.assertEqual(self.holders(), ["A"], self.logs())
        self.assertIn("removed stale virtual address", self.agents["A"].output())
        self.lab.run("C", "ping", "-c", "1", "-W", "1", VIP, check=False)
        self.assertIn(self.lab.mac("A"), self.lab.run("C", "ip", "neigh", "show", VIP).stdout)

        # Graceful stop: priority 0, the backup takes over when Skew_Time passes, not after the
        # Master_Down_Interval a backup ignoring the priority-0 advert would wait.
        self.agents["A"].stop()
        took = self.wait_holder("B", 3)
        self.assertIsNotNone(took, self.logs())
        skew = skew_ms(100, 100)
        print(f"  graceful takeover: {took:.0f} ms (Skew_Time {skew:.0f} ms)", file=sys.stderr)
        self.assertIn("the master resigned (priority 0) and Skew_Time passed",
                      self.agents["B"].output(), self.logs())
        self.assertFalse(self.lab.has_address("A", VIP))  # released on the way out

    def test_unicast_peers_without_multicast(self):
        pcap = os.path.join(self.tmp, "unicast.pcap")
        cap = Process(["ip", "netns", "exec", self.lab.ns("B"), "tcpdump", "-i", "eth0", "-U",
                       "--immediate-mode", "-w", pcap, "ip proto 112"],
                      os.path.join(self.tmp, "tcpdump-u.log"))
        self.lab.procs.append(cap)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "listening on" not in cap.output():
            time.sleep(0.05)
        u = "      unicast_src_ip: {}\n      unicast_peer: [{}]\n"
        self.start("A", config(150, extra=u.format(ADDR["A"], ADDR["B"])))
        self.start("B", config(100, extra=u.format(ADDR["B"], ADDR["A"])))
        self.assertIsNotNone(self.wait_holder("A", 2), self.logs())
        time.sleep(0.5)
        self.assertEqual(self.holders(), ["A"], self.logs())
        self.agents["A"].stop(9)
        self.assertIsNotNone(self.wait_holder("B", 2), self.logs())
        cap.stop()
        r = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "ip.dst"],
                           capture_output=True, text=True, timeout=60)
        dsts = {l.strip() for l in r.stdout.splitlines() if l.strip()}
        self.assertTrue(dsts, r.stderr)
        self.assertNotIn("224.0.0.18", dsts)  # never a silent fallback to multicast
        self.assertLessEqual(dsts, {ADDR["A"], ADDR["B"]})

    def test_nopreempt_keeps_the_current_master(self):
        self.start("B", config(100))
        self.assertIsNotNone(self.wait_holder("B", 2), self.logs())
        self.start("A", config(150, extra="      preempt: false\n"))
        # Only once A runs as a backup does the check mean anything (an A that has not started
        # yet would "keep" B too). From then on, a preempting A would discard B's lower-priority
        # adverts and take over when its Master_Down_Interval ran out: watch the VIP for that
        # long plus one advert and the polling slack.
        self.assertIsNotNone(self.wait_log("A", "Entering BACKUP STATE", 5), self.logs())
        self.assert_sole_holder_for("B", (master_down_ms(150, 100) + 100 + SLACK_MS) / 1000)
        self.assertNotIn("Entering MASTER STATE", self.agents["A"].output(), self.logs())

    def test_split_brain_heals_to_the_higher_address_on_equal_priority(self):
        # Cut B off, let both become master, then heal the link: RFC 5798 §6.4.3 says the
        # master with the higher primary address stays (198.18.0.2 > 198.18.0.1).
        self.lab.link("B", False)
        self.start("A", config(100))
        self.start("B", config(100))
        self.assertIsNotNone(self.wait_holder("A", 2))
        self.assertIsNotNone(self.wait_holder("B", 2))
        self.lab.link("B", True)
        # Both masters advertise every 100 ms, so each hears the other within one interval of
        # the link coming up; the bound is generous (a whole Master_Down_Interval, one advert,
        # the polling slack). Then the outcome must hold: exactly one holder, B, for another
        # Master_Down_Interval and advert -- an A that stepped down but came back when its timer
        # ran out (or both stepping down and racing again) would show up there.
        mdi = master_down_ms(100, 100)
        healed = wait_for(lambda: self.holders() == ["B"], (mdi + 100 + SLACK_MS) / 1000)
        self.assertIsNotNone(healed, f"holders {self.holders()}, want only B\n" + self.logs())
        self.assert_sole_holder_for("B", (mdi + 100) / 1000)
        self.assertNotIn("Entering BACKUP STATE", self.since_master("B"), self.logs())
        self.assertIn("Entering BACKUP STATE", self.since_master("A"), self.logs())
        self.assertIn("another MASTER seen", self.agents["B"].output() + self.agents["A"].output())
        self.assertIn("re-announced its addresses", self.agents["B"].output())
        # The surviving master re-announced itself: the client's ARP entry points at B.
        self.lab.run("C", "ping", "-c", "1", "-W", "1", VIP, check=False)
        self.assertIn(self.lab.mac("B"), self.lab.run("C", "ip", "neigh", "show", VIP).stdout)

    def test_v2_with_pass_authentication_and_a_wrong_password_is_ignored(self):
        auth = "      authentication: {{ type: PASS, password: {} }}\n"
        self.start("A", config(150, version=2, advert="1s", extra=auth.format("secret")))
        self.start("B", config(100, version=2, advert="1s", extra=auth.format("wrong")))
        time.sleep(4.5)
        # B cannot accept A's adverts (auth mismatch): both become master, and B says why.
        self.assertIn("authentication mismatch", self.agents["B"].output(), self.logs())

    def wire_check(self, version, advert, extra=""):
        pcap = os.path.join(self.tmp, f"vrrp-v{version}.pcap")
        cap = Process(["ip", "netns", "exec", self.lab.ns("C"), "tcpdump", "-i", "eth0", "-U",
                       "--immediate-mode", "-w", pcap, "ip proto 112"],
                      os.path.join(self.tmp, f"tcpdump-v{version}.log"))
        self.lab.procs.append(cap)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "listening on" not in cap.output():
            time.sleep(0.05)
        self.start("A", config(150, version=version, advert=advert, extra=extra))
        self.assertIsNotNone(self.wait_holder("A", 6), self.logs())
        time.sleep(1.5 if version == 3 else 2.5)
        self.agents["A"].stop()
        time.sleep(0.3)
        cap.stop()
        r = subprocess.run(["tshark", "-r", pcap, "-o", "vrrp.v3_checksum_as_in_v2:FALSE", "-T",
                            "fields", "-e", "vrrp.version", "-e", "vrrp.virt_rtr_id", "-e",
                            "vrrp.prio", "-e", "vrrp.checksum.status", "-e", "ip.ttl", "-e",
                            "vrrp.ip_addr"], capture_output=True, text=True, timeout=60)
        rows = [l.split("\t") for l in r.stdout.splitlines() if "\t" in l]
        self.assertGreaterEqual(len(rows), 3, r.stdout + r.stderr)
        for ver, vrid, prio, status, ttl, addr in rows:
            self.assertEqual((ver, vrid, ttl, addr), (str(version), "51", "255", VIP))
            self.assertEqual(status, "1", "tshark checksum status 1 = good")
        self.assertEqual(rows[-1][2], "0", "the last advert on stop has priority 0\n" + self.logs())

    def test_wire_format_v3_decodes_in_tshark_with_a_good_checksum(self):
        self.wire_check(3, "100ms")

    def test_wire_format_v2_with_auth_decodes_in_tshark_with_a_good_checksum(self):
        self.wire_check(2, "1s", "      authentication: { type: PASS, password: secret }\n")

    def test_preempt_delay_holds_off_a_returning_higher_priority_node(self):
        delay_ms, mdi = 2000, master_down_ms(150, 100)
        self.start("B", config(100))
        self.assertIsNotNone(self.wait_holder("B", 2), self.logs())
        time.sleep(0.3)
        spawned = time.monotonic()  # before A's clock for the delay starts
        self.start("A", config(150, extra=f"      preempt_delay: {delay_ms}ms\n"))
        backup = self.wait_log("A", "Entering BACKUP STATE", 5)  # after it started
        self.assertIsNotNone(backup, self.logs())
        # Within the delay A accepts B's adverts; once it is over it discards them and takes
        # over when its Master_Down_Timer (reset by the last accepted advert) runs out. Until
        # A takes the VIP, B must hold it at every check.
        upper = delay_ms + mdi + 100 + SLACK_MS + 500  # generous: a loaded machine
        taken = None
        while taken is None:
            h = self.holders()
            if "A" not in h and h != ["B"]:
                # A takeover between the check of A and that of B (B releases as soon as it
                # hears A's first advert, which A sends before adding the address): look again.
                time.sleep(0.05)
                h = self.holders()
            if "A" in h:
                taken = time.monotonic()
                break
            self.assertEqual(h, ["B"], self.logs())  # within the delay: no preemption
            self.assertLess((time.monotonic() - backup) * 1000, upper, "A never preempted\n" +
                            self.logs())
            time.sleep(0.01)
        took_ms = (taken - spawned) * 1000
        print(f"\n  preemption {took_ms:.0f} ms after A started (preempt_delay {delay_ms} ms, "
              f"Master_Down_Interval {mdi:.0f} ms)", file=sys.stderr)
        # Not before the configured delay, counted from before A existed (its clock starts
        # later: a safe lower bound); not much after delay + Master_Down_Interval, counted from
        # its BACKUP line (seen after its clock started: a safe upper bound).
        self.assertGreaterEqual(took_ms, delay_ms, self.logs())
        self.assertLess((taken - backup) * 1000, upper, self.logs())
        # After it B hands the VIP over (it hears A's higher-priority adverts): A alone.
        self.assertIsNotNone(wait_for(lambda: self.holders() == ["A"], (mdi + SLACK_MS) / 1000),
                             self.logs())


def craft(version=3, vrid=51, prio=200, ttl=255, corrupt=False, auth=None, src="198.18.0.10",
          interval_cs=10, v2_trailer=True):
    """A VRRP advertisement with its IPv4 header (RFC 1071 checksums computed here).
    v2_trailer=False leaves out the v2 authentication data, checksum computed without it."""
    import struct

    def csum(b):
        if len(b) % 2:
            b += b"\0"
        t = sum(struct.unpack(f"!{len(b) // 2}H", b))
        while t >> 16:
            t = (t & 0xFFFF) + (t >> 16)
        return ~t & 0xFFFF

    dst = socket.inet_aton("224.0.0.18")
    srcb = socket.inet_aton(src)
    if version == 3:
        msg = bytes([0x31, vrid, prio, 1, (interval_cs >> 8) & 0x0F, interval_cs & 0xFF, 0, 0]) + \
            socket.inet_aton(VIP)
        c = csum(srcb + dst + bytes([0, 112, 0, len(msg)]) + msg)
    else:
        msg = bytes([0x21, vrid, prio, 1, 1 if auth else 0, 1, 0, 0]) + socket.inet_aton(VIP)
        if v2_trailer:
            msg += (auth or b"").ljust(8, b"\0")
        c = csum(msg)
    if corrupt:
        c ^= 0x0101
    msg = msg[:6] + struct.pack("!H", c) + msg[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(msg), 0, 0, ttl, 112, 0, srcb, dst)
    return ip + msg


SENDER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
for _ in range(int(sys.argv[2])):
    s.sendto(bytes.fromhex(sys.argv[1]), ("224.0.0.18", 0))
"""


# A raw-socket witness on a node: prints the source and priority of every VRRP packet the
# kernel delivers on eth0, so a test can tell "the agent ignored it" from "it never arrived".
WITNESS = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton("224.0.0.18") + socket.inet_aton(sys.argv[1]))
print("listening", flush=True)
while True:
    d = s.recv(2048)
    print(socket.inet_ntoa(d[12:16]), d[(d[0] & 15) * 4 + 2], flush=True)
"""


class VrrpWireTest(VrrpLab):
    """Crafted advertisements on the wire: every invalid one is discarded and counted, none
    moves the master; a valid higher-priority one does."""

    def send(self, packet, count=5):
        self.lab.run("C", sys.executable, "-c", SENDER, packet.hex(), str(count))

    def test_invalid_packets_are_ignored_and_counted(self):
        self.start("A", config(150))
        self.assertIsNotNone(self.wait_holder("A", 2), self.logs())
        cases = {
            "TTL is not 255": craft(ttl=64),
            "bad checksum": craft(corrupt=True),
            "wrong VRRP version": craft(version=2),
            "truncated packet": craft()[:20 + 6],
        }
        for reason, pkt in cases.items():
            self.send(pkt)
        self.send(craft(vrid=52))  # another router's advert: dropped quietly
        time.sleep(0.5)
        out = self.agents["A"].output()
        for reason in cases:
            self.assertRegex(out, rf"discarded advertisement from 198\.18\.0\.10: {reason} \(\d+ so far\)")
        self.assertNotIn("other virtual router id", out)  # counted, not logged
        self.assertEqual(self.holders(), ["A"])  # priority 200 in all of them, yet no change
        self.assertNotIn("Entering BACKUP STATE", out.split("Entering MASTER STATE", 1)[1])
        # A valid advert with a higher priority does make A a backup (and B would then win).
        self.send(craft(prio=200), count=1)
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline and "Entering BACKUP STATE" not in \
                self.agents["A"].output().split("Entering MASTER STATE", 1)[1]:
            time.sleep(0.01)
        self.assertIn("Entering BACKUP STATE", self.agents["A"].output().split("Entering MASTER STATE", 1)[1])

    def test_v2_advert_without_its_auth_trailer_is_truncated(self):
        # RFC 3768 §5.1: a v2 advert ends with 8 bytes of authentication data, even without
        # authentication. This one stops right after the addresses, with a checksum that is
        # right for what was sent: a receiver that forgot the trailer in its length check would
        # take it (and read 8 bytes past the packet) and let priority 200 push A to backup.
        self.start("A", config(150, version=2, advert="1s"))
        self.assertIsNotNone(self.wait_holder("A", 6), self.logs())
        self.send(craft(version=2, prio=200, v2_trailer=False), count=3)
        line = r"discarded advertisement from 198\.18\.0\.10: truncated packet \(\d+ so far\)"
        seen = wait_for(lambda: re.search(line, self.agents["A"].output()), 2, 0.01)
        self.assertIsNotNone(seen, self.logs())
        self.assert_sole_holder_for("A", 0.5)
        self.assertNotIn("Entering BACKUP STATE", self.since_master("A"), self.logs())
        # The same advert with its trailer is taken (what makes the check above mean something):
        # A steps down at once.
        self.send(craft(version=2, prio=200), count=1)
        self.assertIsNotNone(wait_for(lambda: "Entering BACKUP STATE" in self.since_master("A"),
                                      1, 0.01), self.logs())

    def test_own_address_as_source_is_not_a_peer(self):
        # An advert carrying the master's own address as source is its own (looped back, or
        # spoofed): it must not make the master step down, even with a higher priority. The
        # kernel drops a packet with a local source address as martian unless accept_local is
        # set, so it is set here on A's eth0 (this namespace only), and a raw-socket witness on
        # A proves the packet got as far as the agent's socket.
        self.lab.run("A", "sysctl", "-q", "-w", "net.ipv4.conf.eth0.accept_local=1")
        witness = Process(["ip", "netns", "exec", self.lab.ns("A"), sys.executable, "-c", WITNESS,
                           ADDR["A"]], os.path.join(self.tmp, "witness.log"))
        self.lab.procs.append(witness)
        self.assertIsNotNone(wait_for(lambda: "listening" in witness.output(), 10, 0.02))
        self.start("A", config(150))
        self.assertIsNotNone(self.wait_holder("A", 2), self.logs())
        self.send(craft(prio=200, src=ADDR["A"]), count=3)
        self.assertIsNotNone(wait_for(lambda: witness.output().count(f"{ADDR['A']} 200") >= 3, 2,
                                      0.01), witness.output())
        # Acted on, it would send A to backup at once (and the VIP away for a whole
        # Master_Down_Interval, there being no other node): watch for longer than that.
        self.assert_sole_holder_for("A", (master_down_ms(150, 100) + 100 + SLACK_MS) / 1000)
        out = self.since_master("A")
        self.assertNotIn("Entering BACKUP STATE", out, self.logs())
        self.assertNotIn("another MASTER seen", out, self.logs())
        # The very same advert from another address does win (the source was the only
        # difference).
        self.send(craft(prio=200), count=1)
        self.assertIsNotNone(wait_for(lambda: "Entering BACKUP STATE" in self.since_master("A"),
                                      1, 0.01), self.logs())

    def test_v2_wrong_password_on_the_wire(self):
        auth = "      authentication: {{ type: PASS, password: {} }}\n"
        self.start("A", config(150, version=2, advert="1s", extra=auth.format("secret")))
        self.assertIsNotNone(self.wait_holder("A", 5), self.logs())
        self.send(craft(version=2, prio=200, auth=b"guess"))
        time.sleep(0.3)
        self.assertIn("authentication mismatch", self.agents["A"].output())
        self.assertEqual(self.holders(), ["A"])


class VrrpTrackingTest(VrrpLab):
    """Track scripts, interface tracking, ordered notify hooks and the state file."""

    def test_proxy_down_message_moves_the_vip_at_once(self):
        cfg = config(150)
        ctl = re.search(r"control_socket: (\S+)", cfg).group(1)
        self.addCleanup(lambda: os.path.exists(ctl) and os.unlink(ctl))
        self.start("A", cfg)
        self.start("B", config(100))
        self.assertIsNotNone(self.wait_holder("A", 2), self.logs())
        time.sleep(0.3)
        t0 = time.monotonic()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(b"proxy down", ctl)
        took = self.wait_holder("B", 2)
        self.assertIsNotNone(took, self.logs())
        print(f"\n  proxy down -> VIP on the peer after {took:.0f} ms (issue 7 target: 150 ms; "
              f"speed is measured by make bench, not asserted here)", file=sys.stderr)
        # FAULT sends priority 0: B takes over when Skew_Time passes, not after the
        # Master_Down_Interval a silent master would cost. Its log says which timer ran out.
        b_log = self.agents["B"].output()
        self.assertIn("the master resigned (priority 0) and Skew_Time passed", b_log, self.logs())
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline and self.lab.has_address("A", VIP):
            time.sleep(0.005)
        self.assertFalse(self.lab.has_address("A", VIP))
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(b"proxy up", ctl)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and self.holders() != ["A"]:
            time.sleep(0.01)
        self.assertEqual(self.holders(), ["A"], self.logs())

    def test_failing_track_script_lowers_priority_and_moves_the_vip(self):
        flag = os.path.join(self.tmp, "healthy")
        open(flag, "w").close()
        scripts = (f"    chk: {{ command: \"test -e {flag}\", interval: 100ms, timeout: 1s, "
                   f"weight: -60, fall: 2, rise: 1 }}\n")
        self.start("A", with_scripts(config(150, extra="      track_script: [chk]\n"), scripts))
        self.start("B", config(100))
        self.assertIsNotNone(self.wait_holder("A", 2), self.logs())
        time.sleep(0.4)
        os.remove(flag)  # 150 - 60 = 90 < 100: B must take over
        self.assertIsNotNone(self.wait_holder("B", 3), self.logs())
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and self.holders() != ["B"]:
            time.sleep(0.01)
        self.assertEqual(self.holders(), ["B"], self.logs())
        self.assertIn("effective priority 150 -> 90", self.agents["A"].output())
        open(flag, "w").close()  # back to 150: A preempts again
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and self.holders() != ["A"]:
            time.sleep(0.01)
        self.assertEqual(self.holders(), ["A"], self.logs())

    def test_reload_keeps_a_failing_script_failing(self):
        flag = os.path.join(self.tmp, "healthy")
        open(flag, "w").close()

        def scripts(other_interval):
            return (f"    chk: {{ command: \"test -e {flag}\", interval: 100ms, weight: -60, "
                    f"fall: 1, rise: 1 }}\n"
                    f"    other: {{ command: \"true\", interval: {other_interval} }}\n")
        cfg = config(150, extra="      track_script: [chk, other]\n")
        a = self.start("A", with_scripts(cfg, scripts("1s")))
        self.start("B", config(100))
        self.assertIsNotNone(self.wait_holder("A", 2), self.logs())
        time.sleep(0.3)
        os.remove(flag)  # A: 150 - 60 = 90 < 100, B takes over
        self.assertIsNotNone(self.wait_holder("B", 3), self.logs())
        time.sleep(0.3)
        # Reload A with only the other script changed: chk must stay failed. Started over as
        # "OK", A would be back at 150 and preempt B until chk failed again.
        with open(os.path.join(self.tmp, "A.yaml"), "w") as f:
            f.write(with_scripts(cfg, scripts("2s")))
        a.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            self.assertEqual(self.holders(), ["B"], self.logs())
            time.sleep(0.01)
        self.assertIn("configuration reloaded", a.output())
        self.assertNotIn("effective priority 90 -> 150", a.output())

    def test_weight_zero_script_failure_means_fault(self):
        flag = os.path.join(self.tmp, "ok")
        open(flag, "w").close()
        scripts = f"    chk: {{ command: \"test -e {flag}\", interval: 100ms, weight: 0 }}\n"
        self.start("A", with_scripts(config(150, extra="      track_script: [chk]\n"), scripts))
        self.start("B", config(100))
        self.assertIsNotNone(self.wait_holder("A", 2), self.logs())
        time.sleep(0.3)
        os.remove(flag)
        self.assertIsNotNone(self.wait_holder("B", 2), self.logs())
        time.sleep(0.2)
        self.assertEqual(self.holders(), ["B"])
        self.assertIn("Entering FAULT STATE", self.agents["A"].output())

    def test_link_down_is_fault_and_link_up_rejoins(self):
        self.start("A", config(150))
        self.start("B", config(100))
        self.assertIsNotNone(self.wait_holder("A", 2), self.logs())
        time.sleep(0.3)
        self.lab.link("A", False)
        self.assertIsNotNone(self.wait_holder("B", 2), self.logs())
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and self.lab.has_address("A", VIP):
            time.sleep(0.01)
        self.assertFalse(self.lab.has_address("A", VIP), "a FAULT node releases the VIP")
        self.assertIn("going to FAULT", self.agents["A"].output())
        self.lab.link("A", True)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and self.holders() != ["A"]:
            time.sleep(0.01)
        self.assertEqual(self.holders(), ["A"], self.logs())

    def test_reload_of_a_broken_file_keeps_the_running_configuration(self):
        a = self.start("A", config(150))
        self.start("B", config(100))
        self.assertIsNotNone(self.wait_holder("A", 3), self.logs())
        self.assertIsNotNone(self.wait_log("B", "Entering BACKUP STATE", 3), self.logs())
        with open(os.path.join(self.tmp, "A.yaml"), "w") as f:
            f.write("vrrp:\n  instances: [ this is not valid\n")
        a.proc.send_signal(signal.SIGHUP)
        self.assertIsNotNone(self.wait_log("A", "keeping the running configuration", 3),
                             self.logs())
        # Still master on the running configuration: no step-down, no new election.
        self.assert_sole_holder_for("A", 3 * 0.1 + skew_ms(100, 100) / 1000 + 0.1)
        self.assertNotIn("Entering", self.since_master("A"))
        self.assertEqual(a.proc.poll(), None, "the agent exited on a bad reload")

    def test_scripts_and_hooks_run_as_script_user(self):
        # keepalived's script_user: the agent stays root, its scripts do not. The track script
        # (weight 0: failing means FAULT, no VIP) passes only as uid 65534, and every hook
        # records the uid it ran as.
        os.chmod(self.tmp, 0o755)
        out_dir = os.path.join(self.tmp, "out")
        os.mkdir(out_dir)
        os.chmod(out_dir, 0o777)  # where nobody may write (scripts themselves live elsewhere)
        out = os.path.join(out_dir, "uids")
        scripts = ("    chk: { command: \"/bin/sh -c 'test $(id -u) = 65534'\", interval: 100ms, "
                   "weight: 0 }\n")
        extra = (f"      track_script: [chk]\n"
                 f"      notify:\n"
                 f"        any: \"echo $(id -u):$(id -g):$(id -G) >> {out}\"\n")
        cfg = with_scripts(config(150, extra=extra, script_user="nobody"), scripts)
        # script_group: the group instead of the user's own (nogroup), and no other group.
        cfg = cfg.replace("  script_user: nobody\n", "  script_user: nobody\n  script_group: daemon\n")
        a = self.start("A", cfg)
        self.assertIsNotNone(self.wait_holder("A", 3), self.logs())
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not (os.path.exists(out) and
                                                   "\n" in open(out).read()):
            time.sleep(0.02)
        a.stop()
        with open(out) as f:
            uids = f.read().split()
        self.assertTrue(uids, self.logs())
        self.assertEqual(set(uids), {"65534:1:1"}, self.logs())
        self.assertNotIn("FAULT", a.output())

    def test_notify_hooks_run_in_order_and_state_file_follows(self):
        out = os.path.join(self.tmp, "notify.log")
        state_dir = os.path.join(self.tmp, "state")
        extra = (f"      notify:\n"
                 f"        backup: \"sleep 0.6; echo backup >> {out}\"\n"
                 f"        master: \"echo master >> {out}\"\n"
                 f"        stop: \"echo stop >> {out}\"\n"
                 f"        any: \"echo any-$3-$4 >> {out}\"\n")
        cfg = re.sub(r"state_dir: \S+", f"state_dir: {state_dir}", config(150, extra=extra))
        self.start("A", cfg)
        self.assertIsNotNone(self.wait_holder("A", 2), self.logs())
        time.sleep(1.0)  # the slow BACKUP hook is still running when MASTER is entered
        with open(os.path.join(state_dir, "vrrp-VI_1.state")) as f:
            self.assertEqual(f.read(), "MASTER\n")
        self.agents["A"].stop()
        with open(out) as f:
            lines = f.read().split()
        self.assertEqual(lines, ["backup", "any-BACKUP-150", "master", "any-MASTER-150", "stop",
                                 "any-INIT-150"], self.logs())
        with open(os.path.join(state_dir, "vrrp-VI_1.state")) as f:
            self.assertEqual(f.read(), "INIT\n")


class VrrpMetricsTest(VrrpLab):
    """`tandem run` on node A (a proxy with Prometheus and the stats page, one VRRP instance)
    against a plain agent on B: the pair as A's metrics, stats page and `tandem status` show
    it, following the election, a worker restart and a refused reload."""

    def node_a(self):
        # A fresh control socket in this test's own directory, a proxy that listens only on
        # A's loopback (its namespace), and the instance of config() at priority 150.
        cfg = config(150) + f"""
supervisor:
  control_socket: {self.tmp}/A.sock
  restart_delay: {{ initial: 100ms, max: 1s }}
frontends:
  web: {{ bind: "127.0.0.1:8080", default_backend: app }}
backends:
  app: {{ servers: [ {{ name: s1, address: "127.0.0.1:9" }} ] }}
stats: {{ bind: "127.0.0.1:8404", uri: /stats }}
prometheus: {{ bind: "127.0.0.1:9101" }}
"""
        node = Node(cfg, self.tmp, name="A", netns=self.lab.ns("A"))
        self.addCleanup(node.stop)
        self.node = node
        return node

    def get(self, path, port):
        return self.lab.run("A", "curl", "-sS", "--max-time", "5",
                            f"http://127.0.0.1:{port}{path}").stdout

    def wait_metrics(self, predicate, what, timeout=15.0):
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.get("/metrics", 9101)
            if predicate(text):
                return text
            time.sleep(0.1)
        node = self.node.output()[-3000:] if getattr(self, "node", None) else ""
        self.fail(f"timed out waiting for {what}:\n{text}\n{self.logs()}\n--- A\n{node}")

    def test_the_pair_in_metrics_stats_page_and_status(self):
        self.start("B", config(200))
        self.assertIsNotNone(self.wait_holder("B", 5), self.logs())
        node = self.node_a()
        prometheus = PrometheusServer(self.tmp, "127.0.0.1:9101", netns=self.lab.ns("A"))
        self.addCleanup(prometheus.stop)
        vi = {"iname": "VI_1", "intf": "eth0", "vrid": "51"}
        vip = {**vi, "ip_address": f"{VIP}/24"}
        peer = {**vi, "peer": ADDR["B"]}
        t = self.wait_metrics(
            lambda t: metric(t, "keepalived_vrrp_state", **vip) == 1 and
            (metric(t, "tandem_vrrp_peer_priority", **peer) or 0) == 200, "A as BACKUP of B")
        self.assertGreater(metric(t, "keepalived_advertisements_received_total", **vi), 0)
        self.assertEqual(metric(t, "keepalived_advertisements_sent_total", **vi), 0)
        self.assertEqual(metric(t, "tandem_vrrp_state", state="BACKUP", **vi), 1)
        self.assertEqual(metric(t, "tandem_vrrp_state", state="MASTER", **vi), 0)
        self.assertEqual(metric(t, "tandem_vrrp_priority", **vi), 150)
        self.assertEqual(metric(t, "tandem_vrrp_effective_priority", **vi), 150)
        self.assertEqual(metric(t, "tandem_vrrp_vip_held", **vip), 0)
        self.assertEqual(metric(t, "tandem_vrrp_agent_up"), 1)
        self.assertEqual(metric(t, "tandem_config_generation"), 1)
        self.assertEqual(metric(t, "tandem_last_reload_success"), 1)
        self.assertEqual(metric(t, "tandem_proxy_live"), 1)
        s = node.status()["vrrp"][0]
        self.assertEqual((s["state"], s["effective_priority"]), ("BACKUP", 150))
        self.assertEqual((s["peer"]["address"], s["peer"]["priority"]), (ADDR["B"], 200))
        text = node.ctl("status").stdout
        self.assertRegex(text, r"vrrp VI_1 on eth0 \(vrid 51\): BACKUP, holds no VIP, priority "
                         r"150; peer 198\.18\.0\.2 at priority 200, last heard 20")

        # B leaves cleanly (priority 0): A takes over, and every counter says so.
        self.agents["B"].stop()
        t = self.wait_metrics(
            lambda t: metric(t, "keepalived_vrrp_state", **vip) == 2 and
            metric(t, "keepalived_advertisements_sent_total", **vi) > 0, "A as MASTER")
        self.assertEqual(metric(t, "keepalived_become_master_total", **vi), 1)
        self.assertEqual(metric(t, "tandem_vrrp_transitions_total", **vi, **{
            "from": "BACKUP", "to": "MASTER"}), 1)
        self.assertGreaterEqual(metric(t, "keepalived_priority_zero_received_total", **vi), 1)
        self.assertEqual(metric(t, "tandem_vrrp_vip_held", **vip), 1)
        self.assertLess(metric(t, "tandem_vrrp_seconds_since_transition", **vi), 30)

        page = self.get("/stats", 8404)
        row = re.search(r'<tr data-instance="VI_1">(.*?)</tr>', page)
        self.assertIsNotNone(row, page)
        self.assertIn('class="MASTER">MASTER', row.group(1))
        self.assertIn(f"{VIP}/24 (held)", row.group(1))
        self.assertIn(f"{ADDR['B']} priority 0", row.group(1))  # its last word: resigning

        # The proxy worker killed: the supervisor restarts it and counts why.
        os.kill(node.child_pid("proxy"), signal.SIGKILL)
        t = self.wait_metrics(
            lambda t: metric(t, "tandem_child_restarts_total", child="proxy", reason="killed") == 1,
            "the restart counted")
        # A refused reload: the generation stays, the failure shows.
        with open(node.config) as f:
            good = f.read()
        node.write_config(good + "frontends: [ broken\n")
        code, _ = node.reload()
        self.assertNotEqual(code, 0)
        t = self.wait_metrics(lambda t: metric(t, "tandem_last_reload_success") == 0,
                              "the refused reload")
        self.assertEqual(metric(t, "tandem_config_generation"), 1)
        self.assertIsNotNone(metric(t, "tandem_last_reload_timestamp_seconds"))
        self.assertRegex(node.ctl("status").stdout, r"last reload: 20.*, FAILED: invalid config")
        r = subprocess.run(["promtool", "check", "metrics"], input=t, text=True,
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        page = self.get("/stats", 8404)
        self.assertIn('configuration generation <b id="generation">1</b>', page)
        self.assertIn("failed: invalid configuration", page)
        self.assertIn("restarts 1 (proxy killed 1)", page)
        # The dashboard's node panels (VRRP role, priorities, restarts, reloads) answer.
        prometheus.check_dashboard(self, node=True)



if __name__ == "__main__":
    unittest.main(verbosity=2)
