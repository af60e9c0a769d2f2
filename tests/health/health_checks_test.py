#!/usr/bin/env python3
"""Integration tests of health checks inside `tandem proxy`: real backends that turn unhealthy
(wrong status, wrong body, refusing, hanging), a real redis-server, a real MariaDB with a check
user, and a scripted SMTP server. State is observed where an operator sees it: the log."""
import collections
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import Backend, Process, Tandem, free_port, get, wait_port  # noqa

INTER = 0.2  # seconds between checks in these tests
FALL, RISE, TIMEOUT = 3, 2, 0.3


def wait_for(predicate, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(step)
    return None


class HangingServer:
    """Accepts TCP connections (kernel backlog) but never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


class SmtpServer(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        self.sessions = 0
        self.start()

    def run(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            try:
                c.settimeout(2)
                f = c.makefile("rwb")
                f.write(b"220 smtp.test ESMTP ready\r\n")
                f.flush()
                line = f.readline()
                if line.upper().startswith(b"EHLO"):
                    f.write(b"250-smtp.test\r\n250 SIZE 1000000\r\n")
                    f.flush()
                    if f.readline().upper().startswith(b"QUIT"):
                        f.write(b"221 bye\r\n")
                        f.flush()
                        self.sessions += 1
            except OSError:
                pass
            finally:
                c.close()

    def close(self):
        self.stopped = True
        self.join()
        self.sock.close()


class HealthChecksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-health-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.health = {}
        cls.b = {}
        for name in ("a1", "a2", "k1", "k2", "s1", "s2", "bk"):
            cls.health[name] = os.path.join(cls.tmp, f"{name}.health")
            with open(cls.health[name], "w") as f:
                f.write("ok")
            cls.b[name] = Backend(name, cls.tmp, health_file=cls.health[name])
            cls.addClassCleanup(cls.b[name].stop)
        cls.hang = HangingServer()
        cls.addClassCleanup(cls.hang.close)
        cls.smtp = SmtpServer()
        cls.addClassCleanup(cls.smtp.close)
        cls.port = {n: free_port() for n in ("status", "body", "backup", "slow")}
        a = lambda n: cls.b[n].address
        cfg = f"""
global: {{ threads: 2, log: {{ target: stderr, level: info }} }}
defaults:
  timeout: {{ connect: 1s, client: 5s, server: 5s, check: {int(TIMEOUT * 1000)}ms }}
frontends:
  status: {{ bind: "127.0.0.1:{cls.port['status']}", default_backend: status }}
  body: {{ bind: "127.0.0.1:{cls.port['body']}", default_backend: body }}
  backup: {{ bind: "127.0.0.1:{cls.port['backup']}", default_backend: backup }}
  slow: {{ bind: "127.0.0.1:{cls.port['slow']}", default_backend: slow }}
backends:
  status:
    check: {{ type: http, uri: /health, expect: {{ status: 200 }}, inter: {int(INTER * 1000)}ms, fall: {FALL}, rise: {RISE} }}
    servers:
      - {{ name: a1, address: "{a('a1')}" }}
      - {{ name: a2, address: "{a('a2')}" }}
      - {{ name: hang, address: "127.0.0.1:{cls.hang.port}" }}
  body:
    check: {{ type: http, uri: /health, expect: {{ string: ok }}, inter: {int(INTER * 1000)}ms, fall: {FALL}, rise: {RISE} }}
    servers:
      - {{ name: k1, address: "{a('k1')}" }}
      - {{ name: k2, address: "{a('k2')}" }}
  backup:
    check: {{ type: http, uri: /health, inter: {int(INTER * 1000)}ms, fall: 2, rise: 1 }}
    servers:
      - {{ name: s1, address: "{a('s1')}" }}
      - {{ name: bk, address: "{a('bk')}", backup: true }}
  slow:
    check: {{ type: http, uri: /health, inter: 100ms, fall: 1, rise: 1 }}
    servers:
      - {{ name: s2, address: "{a('s2')}", slowstart: 3s, weight: 100 }}
      - {{ name: k2, address: "{a('k2')}", weight: 100 }}
  smtp:
    mode: tcp
    check:
      type: tcp-script
      steps:
        - connect: {{ port: {cls.smtp.port} }}
        - expect: {{ string: "220" }}
        - send: "EHLO tandem\\r\\n"
        - expect: {{ string: "250 " }}
        - send: "QUIT\\r\\n"
        - expect: {{ string: "221" }}
      inter: {int(INTER * 1000)}ms
    servers:
      - {{ name: mx1, address: "127.0.0.1:25" }}
  steptimeout:
    mode: tcp
    timeout: {{ check: 5s }}
    check:
      type: tcp-script
      steps:
        - connect: {{ port: {cls.hang.port} }}
        - send: "HELLO\\r\\n"
        - expect: {{ string: "OK", timeout: 150ms }}
      inter: 1s
      fall: 1
    servers:
      - {{ name: h1, address: "127.0.0.1:{cls.hang.port}" }}
"""
        cls.proxy = Tandem(cfg, cls.tmp, cls.port.values())
        cls.addClassCleanup(cls.proxy.stop)

    def set_health(self, name, text):
        with open(self.health[name], "w") as f:
            f.write(text)

    def log(self):
        return self.proxy.output()

    def wait_log(self, pattern, timeout=5.0, after=0):
        def find():
            m = re.compile(pattern).search(self.log(), after)
            return m
        return wait_for(find, timeout)

    def test_hanging_server_goes_down_with_a_timeout(self):
        m = self.wait_log(r"Server status/hang is DOWN \(was UP, going down\), reason: Layer7 timeout",
                          timeout=INTER * FALL + TIMEOUT * FALL + 3)
        self.assertIsNotNone(m, self.log()[-3000:])

    def test_wrong_status_down_after_exactly_fall_checks_then_up_after_rise(self):
        # The backend's third server hangs: traffic below must not wait on it (each test runs
        # on its own, so it may not be DOWN yet).
        self.assertIsNotNone(self.wait_log(r"Server status/hang is DOWN",
                                           timeout=INTER * FALL + TIMEOUT * FALL + 3))
        start = len(self.log())
        t0 = time.monotonic()
        self.set_health("a1", "status:500")
        m = self.wait_log(r"Server status/a1 is DOWN", timeout=5, after=start)
        detected = time.monotonic() - t0
        self.assertIsNotNone(m, self.log()[-3000:])
        segment = self.log()[start:m.end()]
        fails = re.findall(r"Health check for server status/a1 failed, reason: Layer7 wrong status 500", segment)
        self.assertEqual(len(fails), FALL - 1)  # the fall-th failure is the DOWN line itself
        self.assertIn("Layer7 wrong status 500", m.string[m.start():m.start() + 300])
        # Detection within inter x fall + timeout (+ scheduling slack).
        self.assertLess(detected, INTER * 1.025 * FALL + TIMEOUT + 0.25, f"detected in {detected:.3f}s")
        print(f"\n  detection: {detected * 1000:.0f} ms (bound {INTER * FALL * 1000 + TIMEOUT * 1000:.0f} ms)",
              file=sys.stderr)
        # No traffic to a server known DOWN.
        servers = collections.Counter(get(self.port["status"])[2].split()[0] for _ in range(20))
        self.assertEqual(set(servers), {b"a2"})
        start = len(self.log())
        self.set_health("a1", "ok")
        m = self.wait_log(r"Server status/a1 is UP", timeout=5, after=start)
        self.assertIsNotNone(m)
        self.assertEqual(len(re.findall(r"Health check for server status/a1 succeeded",
                                        self.log()[start:m.end()])), RISE - 1)
        servers = collections.Counter(get(self.port["status"])[2].split()[0] for _ in range(20))
        self.assertEqual(set(servers), {b"a1", b"a2"})

    def test_wrong_body_goes_down(self):
        start = len(self.log())
        self.set_health("k1", "not good")
        m = self.wait_log(r"Server body/k1 is DOWN.*reason: Layer7 response did not match 'ok'", 5, start)
        self.assertIsNotNone(m, self.log()[-2000:])
        self.set_health("k1", "ok")
        self.assertIsNotNone(self.wait_log(r"Server body/k1 is UP", 5, m.end()))

    def test_refused_server_no_client_request_fails_once_known_down(self):
        start = len(self.log())
        port = self.b["k2"].port
        self.b["k2"].stop()
        try:
            m = self.wait_log(r"Server body/k2 is DOWN.*Layer4 connection refused", 5, start)
            self.assertIsNotNone(m, self.log()[-2000:])
            results = [get(self.port["body"])[0] for _ in range(30)]
            self.assertEqual(results, [200] * 30)
        finally:
            # Bring k2 back on the same port for the other tests.
            proc = Process([sys.executable, os.path.join(os.path.dirname(__file__), "..", "tools", "backend.py"),
                            "--port", str(port), "--name", "k2", "--health-file", self.health["k2"]])
            type(self).addClassCleanup(proc.stop)
            wait_port(port, proc=proc.proc)
        self.assertIsNotNone(self.wait_log(r"Server body/k2 is UP", 5, m.end()))

    def test_backup_takes_over_and_hands_back(self):
        self.assertEqual({get(self.port["backup"])[2].split()[0] for _ in range(5)}, {b"s1"})
        start = len(self.log())
        self.set_health("s1", "status:503")
        m = self.wait_log(r"Server backup/s1 is DOWN.* 0 active and 1 backup servers left", 5, start)
        self.assertIsNotNone(m, self.log()[-2000:])
        self.assertEqual({get(self.port["backup"])[2].split()[0] for _ in range(5)}, {b"bk"})
        self.set_health("s1", "ok")
        self.assertIsNotNone(self.wait_log(r"Server backup/s1 is UP", 5, m.end()))
        self.assertEqual({get(self.port["backup"])[2].split()[0] for _ in range(5)}, {b"s1"})

    def test_slowstart_ramps_the_share_of_a_recovered_server(self):
        start = len(self.log())
        self.set_health("s2", "status:500")
        m = self.wait_log(r"Server slow/s2 is DOWN", 5, start)
        self.assertIsNotNone(m)
        self.set_health("s2", "ok")
        m = self.wait_log(r"Server slow/s2 is UP", 5, m.end())
        self.assertIsNotNone(m)
        shares = []
        for _ in range(5):  # 5 windows over the 3 s ramp
            t_end = time.monotonic() + 0.5
            c = collections.Counter()
            while time.monotonic() < t_end:
                c[get(self.port["slow"])[2].split()[0]] += 1
            shares.append(c[b"s2"] / max(1, sum(c.values())))
        print(f"\n  slowstart share of s2 per 0.5 s window: {[round(s, 2) for s in shares]}", file=sys.stderr)
        self.assertLess(shares[0], 0.25)
        self.assertGreater(shares[-1], shares[0] + 0.15)

    def test_tcp_check_step_timeout_applies(self):
        m = self.wait_log(r"Server steptimeout/h1 is DOWN.*Layer7 timeout at step 3, check "
                          r"duration: (\d+)ms", 4)
        self.assertIsNotNone(m, self.log()[-2000:])
        self.assertLess(int(m.group(1)), 1000)  # the step's 150 ms, not the check's 5 s

    def test_smtp_sequence(self):
        m = self.wait_log(r"Server smtp/mx1 is DOWN", 1.5)
        self.assertIsNone(m, "the SMTP dialogue failed: " + self.log()[-2000:])
        self.assertGreater(wait_for(lambda: self.smtp.sessions >= 2, 3), 0)


class RealServerChecksTest(unittest.TestCase):
    """Redis and MySQL checks against the real servers from Debian."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-health-real-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.redis_port, cls.redis_auth_port, cls.mysql_port = free_port(), free_port(), free_port()
        cls.redis = Process(["redis-server", "--port", str(cls.redis_port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", cls.tmp],
                            os.path.join(cls.tmp, "redis.log"))
        cls.addClassCleanup(cls.redis.stop)
        cls.redis_auth = Process(["redis-server", "--port", str(cls.redis_auth_port), "--bind",
                                  "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", cls.tmp,
                                  "--requirepass", "secret"], os.path.join(cls.tmp, "redis2.log"))
        cls.addClassCleanup(cls.redis_auth.stop)
        wait_port(cls.redis_port, proc=cls.redis.proc)
        wait_port(cls.redis_auth_port, proc=cls.redis_auth.proc)
        # MariaDB in a private data directory, on loopback, with a password-less check user.
        datadir = os.path.join(cls.tmp, "mysql")
        subprocess.run(["mariadb-install-db", "--user=root", f"--datadir={datadir}",
                        "--auth-root-authentication-method=normal", "--skip-test-db"],
                       check=True, capture_output=True, timeout=120)
        cls.sock = os.path.join(cls.tmp, "mysql.sock")
        cls.mysql = Process(["mariadbd", "--no-defaults", "--user=root", f"--datadir={datadir}",
                             f"--socket={cls.sock}", f"--port={cls.mysql_port}",
                             "--bind-address=127.0.0.1", "--skip-grant-tables=0",
                             f"--pid-file={cls.tmp}/mysql.pid", "--log-warnings=2",
                             f"--log-error={cls.tmp}/mysql-error.log"],
                            os.path.join(cls.tmp, "mysql.log"))
        cls.addClassCleanup(cls.mysql.stop)
        wait_port(cls.mysql_port, timeout=60, proc=cls.mysql.proc)
        subprocess.run(["mariadb", "--no-defaults", f"--socket={cls.sock}", "-uroot", "-e",
                        "CREATE USER 'haproxy_check'@'127.0.0.1';"], check=True, timeout=30)
        cls.port = free_port()
        cfg = f"""
global: {{ threads: 1, log: {{ target: stderr, level: info }} }}
listens:
  redis:
    mode: tcp
    bind: "127.0.0.1:{cls.port}"
    check: {{ type: redis, inter: 200ms, fall: 2, rise: 1 }}
    servers:
      - {{ name: good, address: "127.0.0.1:{cls.redis_port}" }}
      - {{ name: noauth, address: "127.0.0.1:{cls.redis_auth_port}" }}
backends:
  mysql:
    mode: tcp
    check: {{ type: mysql, user: haproxy_check, inter: 200ms, fall: 2, rise: 1 }}
    servers:
      - {{ name: db1, address: "127.0.0.1:{cls.mysql_port}" }}
  mysql_bad_user:
    mode: tcp
    check: {{ type: mysql, user: nobody_here, inter: 200ms, fall: 2, rise: 1 }}
    servers:
      - {{ name: db1, address: "127.0.0.1:{cls.mysql_port}" }}
"""
        cls.proxy = Tandem(cfg, cls.tmp, [cls.port])
        cls.addClassCleanup(cls.proxy.stop)

    def test_redis_ping_pong_and_error_answer(self):
        time.sleep(1.5)
        log = self.proxy.output()
        self.assertNotIn("redis/good is DOWN", log)
        m = re.search(r"Server redis/noauth is DOWN.*did not match '\+PONG'.*NOAUTH", log)
        self.assertIsNotNone(m, log[-2000:])
        # Traffic goes only to the healthy server: a real PING through the proxy.
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", self.port), timeout=3) as s:
                s.sendall(b"PING\r\n")
                self.assertEqual(s.recv(100), b"+PONG\r\n")

    def test_mysql_check_user_and_no_aborted_connections(self):
        time.sleep(1.5)
        log = self.proxy.output()
        self.assertNotIn("mysql/db1 is DOWN", log, log[-2000:])
        m = re.search(r"Server mysql_bad_user/db1 is DOWN.*MySQL error: .*[Aa]ccess denied", log)
        self.assertIsNotNone(m, log[-2000:])
        r = subprocess.run(["mariadb", "--no-defaults", f"--socket={self.sock}", "-uroot", "-N", "-e",
                            "SHOW GLOBAL STATUS LIKE 'Aborted_clients'"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.stdout.split()[-1], "0", "checks must end with COM_QUIT, not abort")


class CheckSocketsTest(unittest.TestCase):
    """Plain TCP checks of many servers leave no closing sockets (TIME_WAIT, FIN-WAIT) behind on
    the checking side."""

    def test_tcp_checks_close_with_a_reset_and_leave_no_closing_sockets(self):
        tmp = tempfile.mkdtemp(prefix="tandem-checksock-")
        self.addCleanup(shutil.rmtree, tmp, True)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        port = listener.getsockname()[1]
        held = []
        stop = threading.Event()

        def accept():  # accept and hold: the checker must be the side that closes
            listener.settimeout(0.2)
            while not stop.is_set():
                try:
                    held.append(listener.accept()[0])
                except OSError:
                    pass

        t = threading.Thread(target=accept, daemon=True)
        t.start()

        def cleanup():
            stop.set()
            t.join(5)
            for c in held:
                c.close()
            listener.close()
        self.addCleanup(cleanup)
        fport = free_port()
        servers = "\n".join(f'      - {{ name: c{i}, address: "127.0.0.1:{port}" }}'
                             for i in range(20))
        cfg = f"""
global: {{ threads: 1, log: {{ target: stderr, level: info }} }}
frontends:
  f: {{ bind: "127.0.0.1:{fport}", default_backend: b }}
backends:
  b:
    check: {{ type: tcp, inter: 100ms, fall: 2, rise: 1 }}
    servers:
{servers}
"""
        proxy = Tandem(cfg, tmp, [fport])
        self.addCleanup(proxy.stop)
        self.assertTrue(wait_for(lambda: len(held) >= 200, 10), f"only {len(held)} checks")
        # A FIN would leave each closed check socket in FIN-WAIT-2 (this server holds its end)
        # or TIME-WAIT (a server that closes back) for a minute; a reset leaves nothing.
        out = subprocess.run(["ss", "-Htan", "state", "time-wait", "state", "fin-wait-1",
                              "state", "fin-wait-2", "state", "closing", f"( dport = :{port} )"],
                             capture_output=True, text=True, timeout=10).stdout
        self.assertEqual(out.strip().splitlines(), [], "checks left closing sockets behind")
        self.assertNotIn("is DOWN", proxy.output())


if __name__ == "__main__":
    unittest.main(verbosity=2)
