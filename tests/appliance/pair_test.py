#!/usr/bin/env python3
"""The pair channel (`pair:`): two real supervisors, authenticated with the pair key.

  PairCheckTest    `tandem pair keygen` writes a 0600 key and never replaces one; `tandem check`
                   refuses a pair section without its keys, a key file others can read, a
                   malformed key, dead_after not above heartbeat, and a peer that is itself.
  PairChannelTest  two nodes from one `nodes:` file hear each other: `tandem status` shows the
                   peer's node name, version, generation, configuration hash and roles; nodes with
                   different keys never talk and both log why; a plain TCP client (or TLS without
                   the key) sending a forged heartbeat is rejected, logged, and changes nothing;
                   heartbeat and dead_after set how often the peer is heard and when it is down.
Everything runs on 127.0.0.1; every process is stopped by PID."""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

CTEST_TIMEOUT = 240

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from harness import TANDEM, Backend, Node, free_port, get  # noqa: E402
from netns import Lab  # noqa: E402


def keygen(path):
    r = subprocess.run([TANDEM, "pair", "keygen", "-o", path], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    return r


def check(path, *args):
    return subprocess.run([TANDEM, "check", "-c", path, *args], capture_output=True, text=True,
                          timeout=30)


def pair_file(tmp, backend, ports, keys, timers=""):
    """One file for lb1 and lb2: each node's part holds its control socket, its frontend's bind
    and its end of the pair channel."""
    parts = []
    for i, name in enumerate(("lb1", "lb2")):
        me, peer = ports["pair"][i], ports["pair"][1 - i]
        parts.append(f"""  {name}:
    supervisor: {{ control_socket: {tmp}/{name}.sock }}
    frontends: {{ web: {{ bind: "127.0.0.1:{ports['web'][i]}" }} }}
    pair: {{ address: "127.0.0.1:{me}", peer: "127.0.0.1:{peer}", key_file: {keys[i]} }}
    prometheus: {{ bind: "127.0.0.1:{ports['prom'][i]}" }}
""")
    return f"""global: {{ threads: 1, log: {{ target: stderr, level: info }} }}
supervisor:
  probe: {{ interval: 100ms, timeout: 200ms }}
frontends:
  web:
    bind: "127.0.0.1:1"
    default_backend: app
backends:
  app:
    servers: [ {{ name: s1, address: "{backend}" }} ]
pair: {{ address: "127.0.0.1:1", peer: "127.0.0.1:2", key_file: {keys[0]}{timers} }}
nodes:
""" + "".join(parts)


class PairCheckTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tandem-pair-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.key = os.path.join(self.tmp, "pair.key")
        keygen(self.key)

    def write(self, pair_text):
        path = os.path.join(self.tmp, "node.yaml")
        with open(path, "w") as f:
            f.write(f"""frontends:
  web: {{ bind: "127.0.0.1:{free_port()}", default_backend: app }}
backends:
  app: {{ servers: [ {{ name: s1, address: "127.0.0.1:9" }} ] }}
pair: {pair_text}
""")
        return path

    def test_keygen_writes_a_private_key_and_never_replaces_one(self):
        mode = os.stat(self.key).st_mode & 0o777
        self.assertEqual(mode, 0o600)
        with open(self.key) as f:
            before = f.read()
        self.assertRegex(before, r"tandem-pair-key-v1 [0-9a-f]{64}")
        r = subprocess.run([TANDEM, "pair", "keygen", "-o", self.key], capture_output=True,
                           text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("never overwritten", r.stderr)
        with open(self.key) as f:
            self.assertEqual(f.read(), before)
        other = os.path.join(self.tmp, "other.key")
        keygen(other)
        with open(other) as f:
            self.assertNotEqual(f.read(), before, "two keys alike")

    def test_check_refuses_broken_pair_sections(self):
        loose = os.path.join(self.tmp, "loose.key")
        shutil.copy(self.key, loose)
        os.chmod(loose, 0o644)
        bad = os.path.join(self.tmp, "bad.key")
        with open(bad, "w") as f:
            f.write("tandem-pair-key-v1 1234\n")
        os.chmod(bad, 0o600)
        cases = [
            ('{ peer: "127.0.0.1:7401", key_file: KEY }', "pair.address",
             "the pair channel needs `address`"),
            ('{ address: "127.0.0.1:7400", key_file: KEY }', "pair.peer",
             "the pair channel needs `peer`"),
            ('{ address: "127.0.0.1:7400", peer: "127.0.0.1:7401" }', "pair.key_file",
             "the pair channel needs `key_file`"),
            (f'{{ address: "127.0.0.1:7400", peer: "127.0.0.1:7401", key_file: {loose} }}',
             "pair.key_file", "readable by others"),
            (f'{{ address: "127.0.0.1:7400", peer: "127.0.0.1:7401", key_file: {bad} }}',
             "pair.key_file", "64 hex digits"),
            ('{ address: "127.0.0.1:7400", peer: "127.0.0.1:7401", key_file: KEY, '
             'heartbeat: 2s, dead_after: 1s }', "pair.dead_after", "longer than heartbeat"),
            ('{ address: "127.0.0.1:7400", peer: "127.0.0.1:7400", key_file: KEY }', "pair.peer",
             "this node's own pair address"),
            ('{ address: "0.0.0.0:7400", peer: "127.0.0.1:7401", key_file: KEY }',
             "pair.address", "non-wildcard"),
        ]
        for text, path, message in cases:
            with self.subTest(path=path, message=message):
                r = check(self.write(text.replace("KEY", self.key)))
                self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
                out = r.stdout + r.stderr
                self.assertIn(path, out)
                self.assertIn(message, out)
                self.assertRegex(out, r"node\.yaml:5:\d+")
        r = check(self.write(f'{{ address: "127.0.0.1:7400", peer: "127.0.0.1:7401", '
                             f'key_file: {self.key} }}'))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class PairChannelTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tandem-pair-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.backend = Backend("app", self.tmp)
        self.addCleanup(self.backend.stop)
        self.ports = {"web": [free_port(), free_port()], "pair": [free_port(), free_port()],
                      "prom": [free_port(), free_port()]}
        self.key = os.path.join(self.tmp, "pair.key")
        keygen(self.key)

    def metric(self, index, name):
        body = get(self.ports["prom"][index], "/metrics")[2].decode()
        for line in body.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def start(self, keys, timers="", nodes=("lb1", "lb2")):
        text = pair_file(self.tmp, f"127.0.0.1:{self.backend.port}", self.ports, keys, timers)
        self.text = text
        started = {}
        for name in nodes:
            node = Node(text, self.tmp, name=name, extra_args=("--node", name))
            self.addCleanup(node.stop)
            started[name] = node
        return started

    def test_status_shows_the_peer_heard_over_the_channel(self):
        nodes = self.start([self.key, self.key])
        version = subprocess.run([TANDEM, "--version"], capture_output=True,
                                 text=True).stdout.split()[-1]
        for me, other in (("lb1", "lb2"), ("lb2", "lb1")):
            s = nodes[me].wait(lambda s: s["pair"]["peer_up"] and s["pair"]["connected"],
                               f"{me} to hear {other} and reach it")
            peer = s["pair"]["peer"]
            self.assertEqual(peer["node"], other)
            self.assertEqual(peer["version"], version)
            self.assertEqual(peer["generation"], 1)
            # One file for both: the same hash on both sides.
            self.assertEqual(peer["config_hash"], s["config_hash"])
            self.assertEqual(peer["roles"], [])
            self.assertEqual(s["pair"]["address"], f"127.0.0.1:{self.ports['pair'][0 if me == 'lb1' else 1]}")
        text = nodes["lb1"].ctl("status").stdout
        self.assertIn("pair: peer", text)
        self.assertIn("UP: node 'lb2'", text)
        self.assertIn("(same as here)", text)
        self.assertIn("pair: connected to the peer", nodes["lb1"].output())
        # A reload moves the generation, and the peer hears it.
        code, reply = nodes["lb2"].reload()
        self.assertEqual(code, 0, reply)
        nodes["lb1"].wait(lambda s: s["pair"]["peer"]["generation"] == 2,
                          "lb1 to hear lb2's new generation")

    def test_a_wrong_key_is_refused_and_logged_on_both_nodes(self):
        other = os.path.join(self.tmp, "other.key")
        keygen(other)
        nodes = self.start([self.key, other])
        nodes["lb1"].wait_output("do not hold the same pair key")
        nodes["lb2"].wait_output("do not hold the same pair key")
        nodes["lb1"].wait_output("did not authenticate with the pair key")
        nodes["lb2"].wait_output("did not authenticate with the pair key")
        time.sleep(1.5)  # several heartbeat rounds: still nothing heard
        for name in ("lb1", "lb2"):
            s = nodes[name].status()
            self.assertFalse(s["pair"]["peer_up"], s["pair"])
            self.assertNotIn("peer", s["pair"])
            self.assertEqual(s["pair"]["heartbeats_received"], 0)
            self.assertGreater(s["pair"]["rejected_connections"], 0)
            self.assertIn("DOWN", nodes[name].ctl("status").stdout)

    def test_an_unauthenticated_message_is_ignored_and_logged(self):
        nodes = self.start([self.key, self.key], nodes=("lb1",))
        lb1 = nodes["lb1"]
        lb1.wait(lambda s: "pair" in s, "the pair channel")
        forged = json.dumps({"type": "heartbeat", "node": "evil", "version": "9", "generation": 99,
                             "config_hash": "0" * 16, "roles": [], "instance": "x"}).encode()
        # Plain TCP, framed as the channel frames messages.
        with socket.create_connection(("127.0.0.1", self.ports["pair"][0]), timeout=5) as s:
            s.sendall(struct.pack(">I", len(forged)) + forged)
            s.settimeout(5)
            try:
                while s.recv(4096):
                    pass
            except (ConnectionResetError, socket.timeout):
                pass
        lb1.wait_output("did not authenticate with the pair key")
        # TLS 1.3 without the key: no certificate and no PSK, the handshake fails.
        r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.ports['pair'][0]}",
                            "-tls1_3"], input="", capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        s = lb1.wait(lambda s: s["pair"]["rejected_connections"] >= 2, "two rejected connections")
        self.assertNotIn("peer", s["pair"], "a forged heartbeat was taken")
        self.assertEqual(s["pair"]["heartbeats_received"], 0)
        self.assertFalse(s["pair"]["peer_up"])

    def test_a_configuration_drift_shows_in_status_log_and_metrics(self):
        nodes = self.start([self.key, self.key])
        lb1, lb2 = nodes["lb1"], nodes["lb2"]
        for n in (lb1, lb2):
            n.wait(lambda s: s["pair"]["peer_up"] and not s["pair"]["config_drift"], "the peer")
        self.assertEqual(self.metric(0, "tandem_pair_peer_up"), 1)
        self.assertEqual(self.metric(0, "tandem_pair_config_drift"), 0)
        # Someone edits lb2's copy of the file by hand and reloads lb2 alone.
        lb2.write_config(self.text + "# edited on lb2 only\n")
        code, reply = lb2.reload()
        self.assertEqual(code, 0, reply)
        for n in (lb1, lb2):
            s = n.wait(lambda s: s["pair"]["config_drift"], "the drift to show")
            self.assertNotEqual(s["pair"]["peer"]["config_hash"], s["config_hash"])
            n.wait_output("CONFIGURATION DRIFT")
            self.assertIn("CONFIGURATION DRIFT", n.ctl("status").stdout)
        deadline = time.monotonic() + 10
        while self.metric(0, "tandem_pair_config_drift") != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.metric(0, "tandem_pair_config_drift"), 1)
        # The same edit on lb1 ends it.
        lb1.write_config(self.text + "# edited on lb2 only\n")
        code, reply = lb1.reload()
        self.assertEqual(code, 0, reply)
        for n in (lb1, lb2):
            n.wait(lambda s: not s["pair"]["config_drift"] and s["pair"]["peer_up"],
                   "the drift to end")
            n.wait_output("the configuration drift ended")
        deadline = time.monotonic() + 10
        while self.metric(0, "tandem_pair_config_drift") != 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.metric(0, "tandem_pair_config_drift"), 0)

    def test_the_connections_stay_up_while_the_pair_is_quiet(self):
        # Each node only sends on the connection it opened: no read timeout may close it. The
        # first version closed it after 10 s of nothing to read and connected again.
        nodes = self.start([self.key, self.key], timers=", heartbeat: 200ms, dead_after: 1s")
        for n in nodes.values():
            n.wait(lambda s: s["pair"]["peer_up"] and s["pair"]["connected"], "the peer")
        time.sleep(12)
        for n in nodes.values():
            s = n.status()
            self.assertTrue(s["pair"]["peer_up"] and s["pair"]["connected"], s["pair"])
            log = n.output()
            self.assertEqual(log.count("pair: connected to the peer"), 1, log)
            self.assertNotIn("ended", log)

    def test_a_peer_on_another_version_is_a_mismatch(self):
        # A peer that holds the key but runs another version, played by stock OpenSSL with the
        # pair key as its TLS 1.3 external PSK (which also shows the channel is plain RFC 8446).
        nodes = self.start([self.key, self.key], timers=", heartbeat: 200ms, dead_after: 3s",
                           nodes=("lb1",))
        lb1 = nodes["lb1"]
        lb1.wait(lambda s: "pair" in s, "the pair channel")
        with open(self.key) as f:
            hexkey = [line.split()[1] for line in f if line.startswith("tandem-pair-key-v1")][0]
        status = lb1.status()
        beat = json.dumps({"type": "heartbeat", "node": "lb2", "version": "0.0.1",
                           "generation": 1, "config_hash": status["config_hash"], "roles": [],
                           "instance": "openssl"}).encode()
        r = subprocess.run(["openssl", "s_client", "-quiet", "-tls1_3", "-psk", hexkey,
                            "-psk_identity", "tandem-pair-v1", "-ciphersuites",
                            "TLS_AES_128_GCM_SHA256", "-connect",
                            f"127.0.0.1:{self.ports['pair'][0]}"],
                           input=struct.pack(">I", len(beat)) + beat, capture_output=True,
                           timeout=30)
        s = lb1.wait(lambda s: s["pair"].get("peer", {}).get("version") == "0.0.1",
                     "lb1 to hear the heartbeat", timeout=10)
        self.assertTrue(s["pair"]["version_mismatch"], (s["pair"], r.stderr))
        self.assertFalse(s["pair"]["config_drift"])  # same file, another version
        lb1.wait_output("VERSION MISMATCH: the peer runs tandem 0.0.1")
        self.assertIn("VERSION MISMATCH", lb1.ctl("status").stdout)
        self.assertEqual(s["pair"]["rejected_connections"], 0)

    def test_heartbeat_and_dead_after_time_the_peer(self):
        nodes = self.start([self.key, self.key], timers=", heartbeat: 200ms, dead_after: 1s")
        lb1 = nodes["lb1"]
        s = lb1.wait(lambda s: s["pair"]["peer_up"], "lb1 to hear lb2")
        before = s["pair"]["heartbeats_received"]
        time.sleep(2.0)
        after = lb1.status()["pair"]["heartbeats_received"]
        # 200 ms apart: about ten in two seconds (the default 1 s would give two).
        self.assertGreaterEqual(after - before, 6, (before, after))
        nodes["lb2"].stop(sig=9)
        s = lb1.wait(lambda s: not s["pair"]["peer_up"], "lb1 to see lb2 down")
        self.assertGreaterEqual(s["pair"]["peer"]["heard_ms_ago"], 1000)
        lb1.wait_output("is DOWN: no heartbeat for 1s")
        self.assertIn("DOWN", lb1.ctl("status").stdout)


class PairNetnsTest(unittest.TestCase):
    """Two supervisors in their own network namespaces (198.18.0.1 and .2 on one bridge), each
    running VRRP and the pair channel from one `nodes:` file: each sees the other's role."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tandem-pairns-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.lab = Lab()
        self.addCleanup(self.lab.close)
        self.addr = {"lb1": "198.18.0.1", "lb2": "198.18.0.2"}
        for name, ip in self.addr.items():
            self.lab.add_host(name, ip)
        self.key = os.path.join(self.tmp, "pair.key")
        keygen(self.key)

    def test_each_node_sees_the_peers_vrrp_role_over_the_channel(self):
        parts = ""
        for name, prio in (("lb1", 150), ("lb2", 100)):
            peer = self.addr["lb2" if name == "lb1" else "lb1"]
            parts += f"""  {name}:
    supervisor: {{ control_socket: {self.tmp}/{name}.sock }}
    vrrp:
      control_socket: {self.tmp}/{name}-vrrp.sock
      state_dir: {self.tmp}/{name}-state
      instances: {{ VI_1: {{ priority: {prio} }} }}
    pair: {{ address: "{self.addr[name]}:7400", peer: "{peer}:7400" }}
"""
        text = f"""global: {{ threads: 1, log: {{ target: stderr, level: info }} }}
frontends:
  web: {{ bind: "127.0.0.1:8080", default_backend: app }}
backends:
  app: {{ servers: [ {{ name: s1, address: "127.0.0.1:9" }} ] }}
vrrp:
  instances:
    VI_1: {{ interface: eth0, virtual_router_id: 51, version: 3, advert_int: 100ms,
             virtual_ipaddress: [198.18.0.100/24], track_proxy: false }}
pair: {{ key_file: {self.key}, heartbeat: 200ms, dead_after: 1s }}
nodes:
""" + parts
        nodes = {}
        for name in ("lb1", "lb2"):
            nodes[name] = Node(text, self.tmp, name=name, netns=self.lab.ns(name),
                               extra_args=("--node", name))
            self.addCleanup(nodes[name].stop)

        def peer_role(name, role):
            def ok(s):
                peer = s["pair"].get("peer")
                return (s["pair"]["peer_up"] and peer is not None and
                        peer["roles"] == [{"instance": "VI_1", "state": role}])
            return ok
        s1 = nodes["lb1"].wait(peer_role("lb1", "BACKUP"), "lb1 to see lb2 as BACKUP")
        s2 = nodes["lb2"].wait(peer_role("lb2", "MASTER"), "lb2 to see lb1 as MASTER")
        self.assertEqual(s1["pair"]["peer"]["node"], "lb2")
        self.assertEqual(s2["pair"]["peer"]["node"], "lb1")
        self.assertEqual(s2["pair"]["peer"]["address"].split(":")[0], "198.18.0.1")
        self.assertIn("VI_1 MASTER", nodes["lb2"].ctl("status").stdout)
        # The master stops: lb2 takes over, and lb2 sees its peer go down.
        nodes["lb1"].stop()
        s2 = nodes["lb2"].wait(lambda s: not s["pair"]["peer_up"] and
                               s["vrrp"][0]["state"] == "MASTER", "lb2 to be master alone")
        self.assertEqual(s2["pair"]["peer"]["roles"][0]["state"], "MASTER")  # as last heard


if __name__ == "__main__":
    unittest.main()
