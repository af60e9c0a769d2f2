#!/usr/bin/env python3
"""One file for the pair (`nodes:`): a node's part is laid over the shared part.

  NodesCheckTest  `tandem check` validates a `nodes:` file as each node will load it: an error
                  in one node's part is reported at that part's line with the node's name, an
                  error in the shared part once; `--node` checks one node; a node the file does
                  not list is refused with the list; malformed `nodes:` sections are errors.
  NodesRunTest    `tandem run --node lb2` runs lb2's part (its own bind), its proxy worker and
                  reloads load the same node, and `tandem status` names it.
Everything runs on 127.0.0.1; every process is stopped by PID."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

CTEST_TIMEOUT = 120

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from harness import TANDEM, Backend, Node, free_port, get  # noqa: E402


def pair_file(port1, port2, backend, sock, lb2_extra="", shared_extra=""):
    """A file for two nodes: lb1 and lb2 differ in their frontend's bind (and what lb2_extra
    adds to lb2's part)."""
    return f"""global: {{ threads: 1, log: {{ target: stderr, level: info }} }}
supervisor:
  control_socket: {sock}
  probe: {{ interval: 100ms, timeout: 200ms }}
frontends:
  web:
    bind: "127.0.0.1:{port1}"
    default_backend: app
backends:
  app:
    servers: [ {{ name: s1, address: "{backend}" }} ]
{shared_extra}nodes:
  lb1:
    global: {{ threads: 1 }}
  lb2:
    frontends:
      web:
        bind: "127.0.0.1:{port2}"
{lb2_extra}"""


def check(path, *args):
    return subprocess.run([TANDEM, "check", "-c", path, *args], capture_output=True, text=True,
                          timeout=30)


class NodesCheckTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tandem-nodes-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.path = os.path.join(self.tmp, "pair.yaml")

    def write(self, text):
        with open(self.path, "w") as f:
            f.write(text)

    def test_check_validates_every_node_and_names_the_node_of_an_error(self):
        self.write(pair_file(18001, 18002, "127.0.0.1:18003", "/tmp/x.sock"))
        r = check(self.path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Configuration file is valid for nodes lb1, lb2", r.stdout)
        # An error in lb2's part: at its own line, with its name; lb1 is fine.
        text = pair_file(18001, 18002, "127.0.0.1:18003", "/tmp/x.sock",
                         lb2_extra="    backends:\n      app:\n        balance: bogus\n")
        self.write(text)
        line = text.splitlines().index("        balance: bogus") + 1
        r = check(self.path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, rf"pair\.yaml:{line}:18: error: backends\.app\.balance: .*"
                                   r"\(node lb2\)")
        self.assertIn("1 error", r.stderr)
        # An error in the shared part is every node's: said once, without a node.
        self.write(pair_file(18001, 18002, "127.0.0.1:18003", "/tmp/x.sock").replace(
            "default_backend: app", "default_backend: nowhere"))
        r = check(self.path)
        self.assertEqual(r.returncode, 1)
        errors = [l for l in r.stderr.splitlines() if "error:" in l]
        self.assertEqual(len(errors), 1, r.stderr)
        self.assertIn("default_backend", errors[0])
        self.assertNotIn("(node", errors[0])

    def test_check_node_checks_that_node_only(self):
        self.write(pair_file(18001, 18002, "127.0.0.1:18003", "/tmp/x.sock",
                             lb2_extra="    backends:\n      app:\n        balance: bogus\n"))
        r = check(self.path, "--node", "lb1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("valid for node lb1", r.stdout)
        r = check(self.path, "--node", "lb2")
        self.assertEqual(r.returncode, 1)
        self.assertIn("backends.app.balance", r.stderr)

    def test_a_node_the_file_does_not_list_is_refused(self):
        self.write(pair_file(18001, 18002, "127.0.0.1:18003", "/tmp/x.sock"))
        for cmd in (["check", "-c", self.path, "--node", "lb3"],
                    ["proxy", "-c", self.path, "--node", "lb3"]):
            r = subprocess.run([TANDEM, *cmd], capture_output=True, text=True, timeout=30)
            self.assertNotEqual(r.returncode, 0, cmd)
            self.assertIn("this node is 'lb3' (--node), which nodes: does not list (lb1, lb2)",
                          r.stderr)

    def test_malformed_nodes_sections_are_errors(self):
        base = pair_file(18001, 18002, "127.0.0.1:18003", "/tmp/x.sock")
        shared = base.split("nodes:\n")[0]
        cases = {
            "nodes: [lb1, lb2]\n": "expected a mapping of node name",
            "nodes:\n  lb1: 5\n": "nodes.lb1: expected a mapping of what differs",
            "nodes:\n  lb1: { nodes: { x: {} } }\n": "a node's part cannot list nodes itself",
            "nodes:\n  \"lb 1\": {}\n": "invalid node name 'lb 1'",
            # A typo in a node's part is an unknown key where it was written.
            "nodes:\n  lb1: { frontends: { web: { bnid: \"127.0.0.1:1\" } } }\n": "bnid",
        }
        for section, message in cases.items():
            with self.subTest(section=section):
                self.write(shared + section)
                r = check(self.path, "--node", "lb1")
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn(message, r.stderr)


class NodesRunTest(unittest.TestCase):
    def test_run_node_runs_its_own_part_and_reloads_as_it(self):
        tmp = tempfile.mkdtemp(prefix="tandem-nodes-run-")
        self.addCleanup(shutil.rmtree, tmp, True)
        web = Backend("b1", tmp)
        self.addCleanup(web.stop)
        p1, p2 = free_port(), free_port()
        sock = os.path.join(tmp, "node.sock")
        text = pair_file(p1, p2, web.address, sock)
        node = Node(text, tmp, extra_args=("--node", "lb2"))
        self.addCleanup(node.stop)
        self.assertEqual(node.status()["node"], "lb2")
        status = subprocess.run([TANDEM, "status", "-s", sock], capture_output=True, text=True,
                                timeout=30)
        self.assertIn("as node lb2", status.stdout)
        # lb2's bind, not the shared one: the worker loaded lb2's part too.
        self.assertEqual(get(p2)[0], 200)
        with self.assertRaises(OSError):
            get(p1, timeout=1)
        # A reload loads lb2 again (this host is neither lb1 nor lb2): a header added to the
        # shared part shows up on lb2's port.
        node.write_config(pair_file(p1, p2, web.address, sock, shared_extra=(
            "    http_response:\n      - set_header: { name: X-Pair, value: shared }\n")))
        code, reply = node.reload()
        self.assertEqual(code, 0, reply)
        status_code, headers, _, _ = get(p2)
        self.assertEqual((status_code, headers.get("x-pair")), (200, "shared"))


if __name__ == "__main__":
    unittest.main()
