#!/usr/bin/env python3
"""The PROXY protocol with a real HAProxy on both sides: HAProxy in front sends v1 and v2
headers (also before TLS) and Tandem takes the client's address from them everywhere it uses
one (ACL src, X-Forwarded-For, the access log); a connection from elsewhere is a direct client;
a trusted source without a header is closed. Tandem in front sends v1 and v2 to HAProxy, which
answers with the source address it learnt, in HTTP and TCP mode."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import (Backend, Process, Tandem, closed_by_peer, curl, free_port,  # noqa
                     make_cert, recv_until_close, wait_port)


def haproxy(tmp, cfg, ports, name="haproxy"):
    path = os.path.join(tmp, f"{name}.cfg")
    with open(path, "w") as f:
        f.write(cfg)
    check = subprocess.run(["haproxy", "-c", "-f", path], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(check.stdout + check.stderr)
    p = Process(["haproxy", "-db", "-f", path], os.path.join(tmp, f"{name}.log"))
    for port in ports:
        wait_port(port, proc=p.proc)
    return p


HAPROXY_GLOBAL = """global
  log stderr format short local0 info
defaults
  mode tcp
  timeout connect 2s
  timeout client 10s
  timeout server 10s
"""


class ProxyProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-pp-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.backend = Backend("b1", cls.tmp)
        cls.addClassCleanup(cls.backend.stop)
        cert, _ = make_cert(cls.tmp)
        p = {k: free_port() for k in ("web", "tls", "tcp", "h1", "h2", "htls", "hr1", "hr2",
                                      "out1", "out2", "outtcp")}
        cls.p = p
        cls.log = os.path.join(cls.tmp, "access.log")
        # HAProxy in front: v1 and v2 to the HTTP bind, v2 to the TLS bind (passed through).
        cls.front = haproxy(cls.tmp, HAPROXY_GLOBAL + f"""
listen v1
  bind 127.0.0.1:{p['h1']}
  server t 127.0.0.1:{p['web']} send-proxy
listen v2
  bind 127.0.0.1:{p['h2']}
  server t 127.0.0.1:{p['web']} send-proxy-v2
listen tls
  bind 127.0.0.1:{p['htls']}
  server t 127.0.0.1:{p['tls']} send-proxy-v2
""", [p["h1"], p["h2"], p["htls"]], name="front")
        cls.addClassCleanup(cls.front.stop)
        # HAProxy behind: answers with the source address the PROXY header gave it.
        cls.behind = haproxy(cls.tmp, HAPROXY_GLOBAL + f"""
frontend r1
  mode http
  bind 127.0.0.1:{p['hr1']} accept-proxy
  http-request return status 200 content-type text/plain lf-string "%[src]:%[src_port] to %[dst]:%[dst_port]"
frontend r2
  mode http
  bind 127.0.0.1:{p['hr2']} accept-proxy
  http-request return status 200 content-type text/plain lf-string "v2 %[src]"
""", [p["hr1"], p["hr2"]], name="behind")
        cls.addClassCleanup(cls.behind.stop)
        cfg = f"""
global: {{ log: {{ target: stderr, level: info }} }}
defaults:
  log: {{ httplog: true, target: "{cls.log}" }}
frontends:
  web:
    bind: [ {{ address: "127.0.0.1:{p['web']}", accept_proxy: [ 127.0.0.1/32 ] }} ]
    timeout: {{ client: 2s }}
    acls:
      banned: {{ src: 127.0.0.66 }}
    http_request:
      - {{ deny: {{ status: 403 }}, if: banned }}
    default_backend: app
  secure:
    bind: [ {{ address: "127.0.0.1:{p['tls']}", crt: "{cert}", accept_proxy: true }} ]
    default_backend: app
  out:
    bind: "127.0.0.1:{p['out1']}"
    default_backend: to_haproxy
  out2:
    bind: "127.0.0.1:{p['out2']}"
    default_backend: to_haproxy_v2
  outtcp:
    mode: tcp
    bind: "127.0.0.1:{p['outtcp']}"
    default_backend: to_haproxy_tcp
backends:
  app:
    forwardfor: true
    servers: [ {{ name: b1, address: "{cls.backend.address}" }} ]
  to_haproxy:  # checked: the checks start with a header too, or HAProxy refuses them
    check: {{ type: http, inter: 100ms, fall: 2, rise: 1 }}
    servers: [ {{ name: h, address: "127.0.0.1:{p['hr1']}", send_proxy: v1 }} ]
  to_haproxy_v2:
    check: {{ type: http, inter: 100ms, fall: 2, rise: 1 }}
    servers: [ {{ name: h, address: "127.0.0.1:{p['hr2']}", send_proxy: v2 }} ]
  to_haproxy_tcp:
    mode: tcp
    servers: [ {{ name: h, address: "127.0.0.1:{p['hr2']}", send_proxy: v2 }} ]
"""
        cls.tandem = Tandem(cfg, cls.tmp, [p["web"], p["tls"], p["out1"], p["outtcp"]])
        cls.addClassCleanup(cls.tandem.stop)

    def get(self, source, url, *args):
        r = curl("--interface", source, *args, url)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode()

    def forwarded_for(self, port, source, scheme="http"):
        """The X-Forwarded-For the backend got for a request from `source`."""
        got = json.loads(self.get(source, f"{scheme}://127.0.0.1:{port}/echo", "-k"))
        return [v for k, v in got["headers"] if k.lower() == "x-forwarded-for"]

    def test_haproxy_sends_v1_and_v2_and_the_client_address_is_used(self):
        for port, client in ((self.p["h1"], "127.0.0.5"), (self.p["h2"], "127.0.0.6")):
            self.assertEqual(self.forwarded_for(port, client), [client])
        # Before TLS: HAProxy passes the TLS bytes through after its v2 header.
        self.assertEqual(self.forwarded_for(self.p["htls"], "127.0.0.7", "https"), ["127.0.0.7"])
        # ACL src sees the header's client: 127.0.0.66 is banned through HAProxy.
        code = self.get("127.0.0.66", f"http://127.0.0.1:{self.p['h2']}/", "-o", "/dev/null",
                        "-w", "%{http_code}")
        self.assertEqual(code, "403")
        deadline = time.time() + 5
        while time.time() < deadline:
            with open(self.log) as f:
                log = f.read()
            if "127.0.0.66:" in log:
                break
            time.sleep(0.1)
        self.assertRegex(log, r"127\.0\.0\.5:\d+ \[")
        self.assertRegex(log, r"127\.0\.0\.66:\d+ \[.* 403 ")

    def test_a_client_outside_the_list_is_direct_and_its_header_is_just_bytes(self):
        # Not 127.0.0.1: no header expected.
        self.assertEqual(self.forwarded_for(self.p["web"], "127.0.0.9"), ["127.0.0.9"])
        with socket.create_connection(("127.0.0.1", self.p["web"]), timeout=5,
                                      source_address=("127.0.0.9", 0)) as s:
            s.sendall(b"PROXY TCP4 198.18.0.1 198.18.0.2 1 2\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(b" 400 ", s.recv(4096).split(b"\r\n")[0] + b" ")

    def test_a_trusted_source_without_a_valid_header_is_closed(self):
        for data in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"PROXY TCP4 not-an-address 198.18.0.2 1 2\r\n"):
            with socket.create_connection(("127.0.0.1", self.p["web"]), timeout=5) as s:
                s.sendall(data)
                self.assertTrue(closed_by_peer(s), data)
            time.sleep(1.1)  # the reason is logged once a second at most: let each show
        # A header in pieces is waited for, and what follows it is the request.
        with socket.create_connection(("127.0.0.1", self.p["web"]), timeout=5) as s:
            for piece in (b"PROXY TCP4 198.18.", b"0.44 127.0.0.1 5555 80\r", b"\nGET /echo HT",
                          b"TP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"):
                s.sendall(piece)
                time.sleep(0.05)
            reply = recv_until_close(s)
            self.assertIn(b'["x-forwarded-for", "198.18.0.44"]', reply)
        # Silence: closed after timeout.client (2s here).
        with socket.create_connection(("127.0.0.1", self.p["web"]), timeout=10) as s:
            self.assertTrue(closed_by_peer(s, timeout=8))
        self.assertIn("no PROXY protocol header in time", self.tandem.output())
        self.assertIn("PROXY v1 address is not a TCP4 address", self.tandem.output())

    def test_haproxy_receives_v1_and_v2_with_the_client_address(self):
        time.sleep(0.5)  # a few rounds of checks: a check without its header would fail
        self.assertNotIn(" is DOWN", self.tandem.output())
        self.assertRegex(self.get("127.0.0.8", f"http://127.0.0.1:{self.p['out1']}/"),
                         rf"^127\.0\.0\.8:\d+ to 127\.0\.0\.1:{self.p['out1']}$")
        self.assertEqual(self.get("127.0.0.9", f"http://127.0.0.1:{self.p['out2']}/"),
                         "v2 127.0.0.9")
        # The connection spoke for one client: the next client gets its own.
        self.assertEqual(self.get("127.0.0.10", f"http://127.0.0.1:{self.p['out2']}/"),
                         "v2 127.0.0.10")
        # TCP mode: the header before the client's bytes.
        with socket.create_connection(("127.0.0.1", self.p["outtcp"]), timeout=5,
                                      source_address=("127.0.0.11", 0)) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            reply = recv_until_close(s)
        self.assertTrue(reply.endswith(b"v2 127.0.0.11"), reply)


if __name__ == "__main__":
    unittest.main()
