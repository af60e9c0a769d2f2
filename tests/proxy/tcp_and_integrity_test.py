#!/usr/bin/env python3
"""`tandem proxy` with two worker threads: TCP mode with half-close, end-to-end data integrity
(1 KiB - 50 MiB, HTTP and TCP, checksums compared), no fd leak after 20k connections, graceful
stop with a request in flight."""
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import Backend, Nginx, Tandem, curl, free_port, get, recv_response  # noqa

SIZES = [1024, 100 * 1024, 5 * 1024 * 1024, 50 * 1024 * 1024]


class TcpAndIntegrityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-tcp-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.web = Backend("web", cls.tmp)
        cls.addClassCleanup(cls.web.stop)
        cls.echo = Backend("echo", cls.tmp, tcp_echo=True)
        cls.addClassCleanup(cls.echo.stop)
        cls.nginx = Nginx(cls.tmp)
        cls.addClassCleanup(cls.nginx.stop)
        cls.http_port, cls.tcp_port, cls.tcpweb_port = free_port(), free_port(), free_port()
        cls.fast_port = free_port()
        cfg = f"""
global: {{ threads: 2, log: {{ target: stderr, level: info }}, hard_stop_after: 5s }}
defaults:
  timeout: {{ connect: 1s, client: 10s, server: 10s }}
frontends:
  web: {{ bind: "127.0.0.1:{cls.http_port}", default_backend: web }}
  fast: {{ bind: "127.0.0.1:{cls.fast_port}", default_backend: fast }}
listens:
  echo:
    mode: tcp
    bind: "127.0.0.1:{cls.tcp_port}"
    servers: [ {{ name: e1, address: "{cls.echo.address}" }} ]
  tcpweb:
    mode: tcp
    bind: "127.0.0.1:{cls.tcpweb_port}"
    balance: leastconn
    servers: [ {{ name: w1, address: "{cls.web.address}" }} ]
backends:
  web: {{ servers: [ {{ name: w1, address: "{cls.web.address}" }} ] }}
  fast: {{ servers: [ {{ name: n1, address: "{cls.nginx.address}" }} ] }}
"""
        cls.proxy = Tandem(cfg, cls.tmp, [cls.http_port, cls.tcp_port, cls.tcpweb_port,
                                          cls.fast_port])
        cls.addClassCleanup(cls.proxy.stop)

    def test_tcp_half_close_is_carried_both_ways(self):
        with socket.create_connection(("127.0.0.1", self.tcp_port)) as s:
            s.sendall(b"hello ")
            s.sendall(b"world")
            s.shutdown(socket.SHUT_WR)  # our FIN must reach the server...
            got = b""
            s.settimeout(5)
            while True:
                d = s.recv(65536)
                if not d:
                    break  # ...and its FIN must reach us after its last bytes
                got += d
        self.assertEqual(got, b"hello world\nEOF after 11 bytes\n")

    def test_tcp_integrity(self):
        for size in SIZES:
            with self.subTest(size=size):
                data = random.Random(size).randbytes(size)
                got = bytearray()
                with socket.create_connection(("127.0.0.1", self.tcp_port)) as s:
                    s.settimeout(30)

                    def reader():
                        while True:
                            d = s.recv(1 << 20)
                            if not d:
                                return
                            got.extend(d)

                    t = threading.Thread(target=reader)
                    t.start()
                    s.sendall(data)
                    s.shutdown(socket.SHUT_WR)
                    t.join(60)
                trailer = f"\nEOF after {size} bytes\n".encode()
                self.assertTrue(bytes(got).endswith(trailer))
                self.assertEqual(hashlib.sha256(got[:-len(trailer)]).hexdigest(),
                                 hashlib.sha256(data).hexdigest())

    def test_http_download_and_upload_integrity(self):
        for port in (self.http_port, self.tcpweb_port):
            for size in SIZES:
                with self.subTest(port=port, size=size, direction="download"):
                    r = curl(f"http://127.0.0.1:{port}/download?bytes={size}&seed=7")
                    self.assertEqual(r.returncode, 0, r.stderr)
                    want = random.Random(7).randbytes(size)
                    self.assertEqual(hashlib.sha256(r.stdout).hexdigest(),
                                     hashlib.sha256(want).hexdigest())
                with self.subTest(port=port, size=size, direction="upload"):
                    path = os.path.join(self.tmp, f"up-{size}")
                    data = random.Random(size + 1).randbytes(size)
                    with open(path, "wb") as f:
                        f.write(data)
                    r = curl("--data-binary", f"@{path}", f"http://127.0.0.1:{port}/upload")
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertEqual(json.loads(r.stdout)["sha256"], hashlib.sha256(data).hexdigest())

    def test_slow_reader_does_not_grow_memory(self):
        # A client that reads nothing of a 50 MiB response: back-pressure must hold the proxy's
        # memory to its buffers, not the response.
        rss0 = self.proxy.rss_kib()
        with socket.create_connection(("127.0.0.1", self.http_port)) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /download?bytes=52428800&seed=3 HTTP/1.1\r\nHost: a\r\n\r\n")
            time.sleep(1.5)
            grown = self.proxy.rss_kib() - rss0
        self.assertLess(grown, 8 * 1024, f"proxy RSS grew by {grown} KiB")

    def test_no_fd_leak_after_20k_connections(self):
        base = self.proxy.fd_count()
        total = 0
        for _ in range(8):  # bounded: at most 8 runs of 3 s
            r = subprocess.run(["wrk", "-t1", "-c20", "-d3s", "-H", "Connection: close",
                                f"http://127.0.0.1:{self.fast_port}/"], capture_output=True,
                               text=True, timeout=30)
            for line in r.stdout.splitlines():
                if "requests in" in line:
                    total += int(line.split()[0])
            if total >= 20000:
                break
        self.assertGreaterEqual(total, 20000)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proxy.fd_count() > base + 4:
            time.sleep(0.2)  # pooled server connections close after their idle timeout
        self.assertLessEqual(self.proxy.fd_count(), base + 4)

    def test_zz_graceful_stop_finishes_in_flight_requests(self):
        result = {}

        def slow():
            result["r"] = get(self.http_port, "/slow?ms=1000")

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        self.proxy.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.http_port), timeout=1).close()
        t.join(5)
        self.assertEqual(result["r"][0], 200)
        self.assertEqual(self.proxy.proc.wait(5), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
