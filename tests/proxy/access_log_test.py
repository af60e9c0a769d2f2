#!/usr/bin/env python3
"""Access logs of a real `tandem proxy`, as an operator meets them: lines in a file (and on
stderr) for real clients and backends on 127.0.0.0/8, HAProxy's httplog and tcplog fields,
dontlognull, dontlog_normal, defaults.log, and a logrotate-style rename of the file. The field
details for every termination state are unit-tested in tests/proxy/http_stream_test.cc."""
import json
import os
import re
import shutil
import socket
import ssl
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import (TANDEM, Backend, Process, Tandem, free_port, make_cert,  # noqa: E402
                     recv_response, wait_port)

# 127.0.0.1:41234 [01/Dec/2026:10:00:00.123] fe be/srv 0/0/1/2/3 200 130 - - ---- 1/1/1/1/0 0/0
#   "GET / HTTP/1.1"
HTTPLOG = re.compile(
    r'^(?P<ip>127\.0\.0\.1):(?P<port>\d+) \[(?P<date>\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] '
    r'(?P<fe>\S+) (?P<be>[^/ ]+)/(?P<srv>\S+) '
    r'(?P<TR>-?\d+)/(?P<Tw>-?\d+)/(?P<Tc>-?\d+)/(?P<Tr>-?\d+)/(?P<Ta>-?\d+) '
    r'(?P<status>-?\d+) (?P<bytes>\d+) - - (?P<term>\S\S)-- '
    r'(?P<ac>\d+)/(?P<fc>\d+)/(?P<bc>\d+)/(?P<sc>\d+)/(?P<rc>\+?\d+) (?P<sq>\d+)/(?P<bq>\d+) '
    r'"(?P<request>[^"]*)"$')
TCPLOG = re.compile(
    r'^127\.0\.0\.1:\d+ \[[^\]]+\] (?P<fe>\S+) (?P<be>[^/ ]+)/(?P<srv>\S+) '
    r'(?P<Tw>-?\d+)/(?P<Tc>-?\d+)/(?P<Tt>-?\d+) (?P<bytes>\d+) (?P<term>\S\S) '
    r'\d+/\d+/\d+/\d+/\+?\d+ \d+/\d+$')


def get(port, path="/", close=True):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        conn = "Connection: close\r\n" if close else ""
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n{conn}\r\n".encode())
        status, _, body, _ = recv_response(s, 5)
        return status, s.getsockname()[1]


class AccessLogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-access-log-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.web = Backend("web1", cls.tmp)
        cls.addClassCleanup(cls.web.stop)
        cls.echo = Backend("echo", cls.tmp, tcp_echo=True)
        cls.addClassCleanup(cls.echo.stop)
        cls.dead = free_port()  # nothing listens here
        names = ["http", "quiet", "errors", "tcp", "inherit_http", "inherit_tcp", "rotate",
                 "custom", "json", "tls"]
        cls.port = {n: free_port() for n in names}
        cls.file = {n: os.path.join(cls.tmp, f"{n}.log") for n in names}
        p, f = cls.port, cls.file
        cls.metrics = free_port()
        pem, _ = make_cert(cls.tmp, "log", "log.test")
        cfg = f"""
global: {{ threads: 1, log: {{ target: stderr, level: info }} }}
prometheus: {{ bind: "127.0.0.1:{cls.metrics}" }}
defaults:
  log: {{ httplog: true, target: {f['inherit_http']} }}
frontends:
  http:
    bind: "127.0.0.1:{p['http']}"
    default_backend: web
    log: {{ target: {f['http']} }}
  quiet:
    bind: "127.0.0.1:{p['quiet']}"
    default_backend: web
    log: {{ dontlognull: true, target: {f['quiet']} }}
  errors:
    bind: "127.0.0.1:{p['errors']}"
    use_backend: [ {{ backend: dead, if: broken }} ]
    acls: {{ broken: {{ path_beg: /broken }} }}
    default_backend: web
    log: {{ dontlog_normal: true, target: {f['errors']} }}
  tcp:
    mode: tcp
    bind: "127.0.0.1:{p['tcp']}"
    default_backend: echo
    log: {{ tcplog: true, target: {f['tcp']} }}
  inherit_http:
    bind: "127.0.0.1:{p['inherit_http']}"
    default_backend: web
  inherit_tcp:
    mode: tcp
    bind: "127.0.0.1:{p['inherit_tcp']}"
    default_backend: echo
    log: {{ target: {f['inherit_tcp']} }}
  rotate:
    bind: "127.0.0.1:{p['rotate']}"
    default_backend: web
    log: {{ target: {f['rotate']} }}
  custom:
    bind: "127.0.0.1:{p['custom']}"
    default_backend: web
    log: {{ format: "%ci %HM %HU %ST %b/%s %{{+Q}}[req.hdr(X-Request-Id)] 100%%", target: {f['custom']} }}
  tls:
    bind: [ {{ address: "127.0.0.1:{p['tls']}", crt: {pem} }} ]
    default_backend: web
    log: {{ format: "%Th %Ti %TR %ST %r", target: {f['tls']} }}
  json:
    bind: "127.0.0.1:{p['json']}"
    default_backend: web
    log: {{ json: true, dontlognull: true, target: {f['json']} }}
backends:
  web: {{ servers: [ {{ name: web1, address: "{cls.web.address}" }} ] }}
  dead:
    retries: 0
    servers: [ {{ name: nobody, address: "127.0.0.1:{cls.dead}" }} ]
  echo: {{ mode: tcp, servers: [ {{ name: echo, address: "{cls.echo.address}" }} ] }}
"""
        cls.proxy = Tandem(cfg, cls.tmp, [])
        cls.addClassCleanup(cls.proxy.stop)
        for port in p.values():
            wait_port(port, proc=cls.proxy.proc)
        # wait_port's probes are connections without a request: their lines (where not
        # dontlognull) go out with the next batch; the files start after them.
        time.sleep(0.3)
        for path in f.values():
            if os.path.exists(path):
                os.truncate(path, 0)

    def lines(self, name, count, timeout=5.0):
        """The file's lines once it has at least `count` (lines go out in batches)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(self.file[name]) as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                lines = []
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def test_httplog_line_has_haproxys_fields(self):
        before = len(self.lines("http", 0))
        status, port = get(self.port["http"], "/echo?x=1")
        self.assertEqual(status, 200)
        lines = self.lines("http", before + 1)
        self.assertEqual(len(lines), before + 1, lines)
        m = HTTPLOG.match(lines[-1])
        self.assertIsNotNone(m, lines[-1])
        self.assertEqual(int(m["port"]), port)
        self.assertEqual((m["fe"], m["be"], m["srv"]), ("http", "web", "web1"))
        self.assertEqual((m["status"], m["term"], m["request"]),
                         ("200", "--", "GET /echo?x=1 HTTP/1.1"))
        self.assertGreater(int(m["bytes"]), 0)
        for timer in ("TR", "Tw", "Tc", "Tr", "Ta"):
            self.assertGreaterEqual(int(m[timer]), 0, timer)
        self.assertLessEqual(int(m["Tr"]), int(m["Ta"]))
        self.assertEqual(time.strftime("%d/%b/%Y", time.localtime()), m["date"][:11])

    def test_dontlognull_skips_connections_without_a_request(self):
        # Without it (frontend http) a connection that sends nothing is a <BADREQ> line.
        before = len(self.lines("http", 0))
        socket.create_connection(("127.0.0.1", self.port["http"]), timeout=5).close()
        lines = self.lines("http", before + 1)
        self.assertEqual(len(lines), before + 1)
        m = HTTPLOG.match(lines[-1])
        self.assertIsNotNone(m, lines[-1])
        self.assertEqual((m["srv"], m["status"], m["term"], m["request"]),
                         ("<NOSRV>", "-1", "CR", "<BADREQ>"))
        # With it (frontend quiet): nothing for the empty connection, a line for the request.
        socket.create_connection(("127.0.0.1", self.port["quiet"]), timeout=5).close()
        self.assertEqual(get(self.port["quiet"])[0], 200)
        time.sleep(0.3)  # a line for the empty connection would be written by now
        lines = self.lines("quiet", 1)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn('"GET / HTTP/1.1"', lines[0])

    def test_dontlog_normal_keeps_only_errors(self):
        self.assertEqual(get(self.port["errors"], "/echo")[0], 200)
        self.assertEqual(get(self.port["errors"], "/broken")[0], 503)
        time.sleep(0.3)
        lines = self.lines("errors", 1)
        self.assertEqual(len(lines), 1, lines)
        m = HTTPLOG.match(lines[0])
        self.assertIsNotNone(m, lines[0])
        self.assertEqual((m["be"], m["srv"], m["status"], m["term"]), ("dead", "nobody", "503", "SC"))

    def test_tcplog_line_when_the_connection_ends(self):
        with socket.create_connection(("127.0.0.1", self.port["tcp"]), timeout=5) as s:
            s.sendall(b"ping\n")
            s.shutdown(socket.SHUT_WR)
            got = b""
            while chunk := s.recv(100):
                got += chunk
        lines = self.lines("tcp", 1)
        self.assertEqual(len(lines), 1, lines)
        m = TCPLOG.match(lines[0])
        self.assertIsNotNone(m, lines[0])
        self.assertEqual((m["fe"], m["be"], m["srv"], m["term"]), ("tcp", "echo", "echo", "--"))
        self.assertEqual(int(m["bytes"]), len(got))

    def test_defaults_log_applies_to_every_frontend_in_its_mode(self):
        self.assertEqual(get(self.port["inherit_http"])[0], 200)
        lines = self.lines("inherit_http", 1)
        self.assertTrue(lines and HTTPLOG.match(lines[-1]), lines)
        # httplog from defaults logs a TCP frontend with tcplog lines (as HAProxy falls back).
        with socket.create_connection(("127.0.0.1", self.port["inherit_tcp"]), timeout=5) as s:
            s.sendall(b"x")
            s.recv(10)
        lines = self.lines("inherit_tcp", 1)
        self.assertTrue(lines and TCPLOG.match(lines[-1]), lines)

    def test_custom_format_and_json(self):
        with socket.create_connection(("127.0.0.1", self.port["custom"]), timeout=5) as s:
            s.sendall(b"GET /echo?c HTTP/1.1\r\nHost: t\r\nX-Request-Id: abc-123\r\n"
                      b"Connection: close\r\n\r\n")
            self.assertEqual(recv_response(s, 5)[0], 200)
        lines = self.lines("custom", 1)
        self.assertEqual(lines, ['127.0.0.1 GET /echo?c 200 web/web1 "abc-123" 100%'])
        self.assertEqual(get(self.port["json"], "/echo?j")[0], 200)
        lines = self.lines("json", 1)
        self.assertEqual(len(lines), 1, lines)
        obj = json.loads(lines[0])
        self.assertEqual((obj["client_ip"], obj["frontend_name"], obj["backend_name"],
                          obj["server_name"], obj["status_code"], obj["http_request"],
                          obj["termination_state_cookie"]),
                         ("127.0.0.1", "json", "web", "web1", 200, "GET /echo?j HTTP/1.1", "----"))
        for key in ("client_port", "TR", "Tw", "Tc", "Tr", "Ta", "bytes_read", "actconn",
                    "retries"):
            self.assertIsInstance(obj[key], int, key)

    def test_written_and_dropped_lines_are_metrics(self):
        self.assertEqual(get(self.port["http"], "/echo?m")[0], 200)
        self.lines("http", 1)
        with socket.create_connection(("127.0.0.1", self.metrics), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            status, _, body, _ = recv_response(s, 5)
        self.assertEqual(status, 200)
        text = body.decode()
        target = self.file["http"]
        written = re.search(r'^tandem_access_log_lines_total\{target="%s"\} (\d+)$'
                            % re.escape(target), text, re.M)
        dropped = re.search(r'^tandem_access_log_dropped_total\{target="%s"\} (\d+)$'
                            % re.escape(target), text, re.M)
        self.assertTrue(written and dropped, text)
        self.assertGreaterEqual(int(written[1]), 1)
        self.assertEqual(int(dropped[1]), 0)

    def test_tls_handshake_and_idle_times(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", self.port["tls"]), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="log.test") as s:
                time.sleep(0.2)  # idle after the handshake: %Ti
                s.sendall(b"GET /echo?tls HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                self.assertEqual(recv_response(s, 5)[0], 200)
        lines = self.lines("tls", 1)
        self.assertEqual(len(lines), 1, lines)
        th, ti, tr, status, request = lines[0].split(" ", 4)
        self.assertGreaterEqual(int(th), 0, lines[0])  # -1 would mean the handshake went unseen
        self.assertGreaterEqual(int(ti), 150, lines[0])
        self.assertEqual((status, request), ("200", "GET /echo?tls HTTP/1.1"))

    def test_file_target_follows_logrotate(self):
        self.assertEqual(get(self.port["rotate"], "/echo?before")[0], 200)
        self.assertEqual(len(self.lines("rotate", 1)), 1)
        rotated = self.file["rotate"] + ".1"
        os.rename(self.file["rotate"], rotated)  # logrotate's default: rename, then a new file
        time.sleep(1.5)  # the writer looks for a new file once a second
        self.assertEqual(get(self.port["rotate"], "/echo?after")[0], 200)
        lines = self.lines("rotate", 1)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn('"GET /echo?after HTTP/1.1"', lines[0])
        with open(rotated) as f:
            old = f.read()
        self.assertIn("/echo?before", old)
        self.assertNotIn("/echo?after", old)


class SyslogAccessLogTest(unittest.TestCase):
    """Syslog targets: a UDP socket and a unix datagram socket of the test's own stand in for
    the syslog daemon (nothing is sent beyond 127.0.0.1)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-access-syslog-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.web = Backend("web1", cls.tmp)
        cls.addClassCleanup(cls.web.stop)
        cls.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        cls.udp.bind(("127.0.0.1", 0))
        cls.addClassCleanup(cls.udp.close)
        cls.unix_path = os.path.join(cls.tmp, "log.sock")
        cls.unix = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        cls.unix.bind(cls.unix_path)
        cls.addClassCleanup(cls.unix.close)
        cls.port = {"udp": free_port(), "unix": free_port()}
        p = cls.port
        cfg = f"""
global: {{ threads: 1, log: {{ target: stderr, level: info }} }}
defaults:
  log: {{ httplog: true, dontlognull: true }}
frontends:
  udp:
    bind: "127.0.0.1:{p['udp']}"
    default_backend: web
    log: {{ target: "udp:127.0.0.1:{cls.udp.getsockname()[1]}", facility: local2,
           syslog_format: rfc5424, tag: edge-lb }}
  unix:
    bind: "127.0.0.1:{p['unix']}"
    default_backend: web
    log: {{ target: "unix:{cls.unix_path}", tag: tandem-test }}
backends:
  web: {{ servers: [ {{ name: web1, address: "{cls.web.address}" }} ] }}
"""
        cls.proxy = Tandem(cfg, cls.tmp, [])
        cls.addClassCleanup(cls.proxy.stop)
        for port in p.values():
            wait_port(port, proc=cls.proxy.proc)

    def receive(self, sock):
        sock.settimeout(5)
        return sock.recv(65536).decode()

    def test_udp_target_sends_rfc5424_datagrams(self):
        self.assertEqual(get(self.port["udp"], "/echo?udp")[0], 200)
        msg = self.receive(self.udp)
        # <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG; local2.info = 18*8+6 = 150
        m = re.match(r"^<150>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d) (\S+) "
                     r"edge-lb (\d+) - - (.*)$", msg)
        self.assertIsNotNone(m, msg)
        self.assertEqual(int(m[3]), self.proxy.pid)
        line = HTTPLOG.match(m[4])
        self.assertIsNotNone(line, m[4])
        self.assertEqual(line["request"], "GET /echo?udp HTTP/1.1")

    def test_unix_target_sends_rfc3164_datagrams(self):
        self.assertEqual(get(self.port["unix"], "/echo?unix")[0], 200)
        msg = self.receive(self.unix)
        # <PRI>Mmm dd hh:mm:ss TAG[PID]: MSG; local0.info = 16*8+6 = 134
        m = re.match(r"^<134>\w{3} [ \d]\d \d\d:\d\d:\d\d tandem-test\[(\d+)\]: (.*)$", msg)
        self.assertIsNotNone(m, msg)
        self.assertEqual(int(m[1]), self.proxy.pid)
        line = HTTPLOG.match(m[2])
        self.assertIsNotNone(line, m[2])
        self.assertEqual(line["request"], "GET /echo?unix HTTP/1.1")


class JournalAccessLogTest(unittest.TestCase):
    """target: journal. A socket of the test's own stands in for journald: tandem runs in a
    private mount namespace whose /run is a tmpfs holding /run/systemd/journal/socket, a
    symlink to it. Entries arrive in the journal's native protocol, one field per line."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-access-journal-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.web = Backend("web1", cls.tmp)
        cls.addClassCleanup(cls.web.stop)
        cls.sock_path = os.path.join(cls.tmp, "journal.sock")
        cls.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        cls.sock.bind(cls.sock_path)
        cls.addClassCleanup(cls.sock.close)
        cls.port = free_port()
        config = os.path.join(cls.tmp, "tandem.yaml")
        with open(config, "w") as f:
            f.write(f"""
global: {{ threads: 1, log: {{ target: stderr, level: info }} }}
frontends:
  web:
    bind: "127.0.0.1:{cls.port}"
    default_backend: web
    log: {{ httplog: true, dontlognull: true, target: journal, tag: edge-lb, facility: local2 }}
backends:
  web: {{ servers: [ {{ name: web1, address: "{cls.web.address}" }} ] }}
""")
        script = f"""set -e
mount -t tmpfs -o size=64k,mode=755 tmpfs /run
mkdir -p /run/systemd/journal
ln -s '{cls.sock_path}' /run/systemd/journal/socket
exec '{TANDEM}' proxy -c '{config}'
"""
        cls.proxy = Process(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                            os.path.join(cls.tmp, "tandem.log"))
        cls.addClassCleanup(cls.proxy.stop)
        wait_port(cls.port, proc=cls.proxy.proc)

    def entry(self):
        self.sock.settimeout(5)
        data = self.sock.recv(65536).decode()
        fields = {}
        for line in data.split("\n"):
            if "=" in line:
                k, v = line.split("=", 1)
                fields[k] = v
        return fields

    def test_each_request_is_a_journal_entry_with_its_own_fields(self):
        self.assertEqual(get(self.port, "/echo?journal")[0], 200)
        e = self.entry()
        self.assertIsNotNone(HTTPLOG.match(e["MESSAGE"]), e)
        self.assertEqual(e["PRIORITY"], "6")
        self.assertEqual(e["SYSLOG_IDENTIFIER"], "edge-lb")
        self.assertEqual(e["SYSLOG_FACILITY"], "18")
        self.assertEqual(e["TANDEM_FRONTEND"], "web")
        self.assertEqual(e["TANDEM_BACKEND"], "web")
        self.assertEqual(e["TANDEM_SERVER"], "web1")
        self.assertEqual(e["TANDEM_STATUS"], "200")
        self.assertEqual(e["TANDEM_CLIENT_IP"], "127.0.0.1")
        self.assertEqual(e["TANDEM_TERMINATION"], "--")
        self.assertEqual(e["TANDEM_REQUEST"], "GET /echo?journal HTTP/1.1")
        self.assertGreaterEqual(int(e["TANDEM_TOTAL_MS"]), 0)


if __name__ == "__main__":
    unittest.main()
