#!/usr/bin/env python3
"""The built-in pages, read with real curl: the stats page (HTML, ;csv, ;json) behind basic
auth and its admin buttons, the Prometheus exporter, and `http_request: return` answers made by the proxy itself."""
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import Backend, Tandem, curl as curl_bytes, free_port, get, recv_response  # noqa


class _Text:
    def __init__(self, r):
        self.stdout = r.stdout.decode()


def curl(*args):
    return _Text(curl_bytes(*args))


class StatsPageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-stats-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.up = Backend("up1", cls.tmp)
        cls.addClassCleanup(cls.up.stop)
        cls.port, cls.stats, cls.prom = free_port(), free_port(), free_port()
        with open(os.path.join(cls.tmp, "welcome.html"), "w") as f:
            f.write("<h1>welcome</h1>\n")
        dead = free_port()
        cfg = f"""
defaults:
  timeout: {{ http_request: 400ms }}
frontends:
  web:
    bind: "127.0.0.1:{cls.port}"
    acls:
      is_welcome: {{ path: /welcome }}
      is_ping: {{ path: /ping }}
    http_request:
      - return: {{ status: 200, content_type: text/html, file: welcome.html }}
        if: is_welcome
      - return: {{ status: 503, string: "maintenance\\n" }}
        if: is_ping
    default_backend: app
backends:
  app:
    check: {{ type: tcp, inter: 100ms, fall: 1, rise: 1 }}
    servers:
      - {{ name: up1, address: "{cls.up.address}" }}
      - {{ name: gone, address: "127.0.0.1:{dead}" }}
stats:
  bind: "127.0.0.1:{cls.stats}"
  uri: /haproxy?stats
  refresh: 5s
  auth: [ {{ user: admin, password: "s3cret" }} ]
prometheus:
  bind: "127.0.0.1:{cls.prom}"
  path: /metrics
"""
        cls.proxy = Tandem(cfg, cls.tmp, [cls.port, cls.stats, cls.prom])
        cls.addClassCleanup(cls.proxy.stop)
        time.sleep(0.5)  # the dead server's check takes it DOWN

    def test_stats_and_prometheus_take_the_defaults_timeouts(self):
        # A client that never finishes its head gets 408 after defaults.timeout.http_request
        # (400 ms here), not the built-in 10 s: the built-in frontends read defaults too.
        for port in (self.stats, self.prom):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                start = time.monotonic()
                status, _, _, _ = recv_response(s, timeout=5)
                self.assertEqual(status, 408)
                self.assertLess(time.monotonic() - start, 3.0)

    def test_return_answers_from_the_proxy(self):
        status, headers, body, _ = get(self.port, "/welcome")
        self.assertEqual((status, headers["content-type"], body), (200, "text/html",
                                                                   b"<h1>welcome</h1>\n"))
        status, _, body, _ = get(self.port, "/ping")
        self.assertEqual((status, body), (503, b"maintenance\n"))
        status, _, body, _ = get(self.port, "/")
        self.assertEqual((status, body), (200, b"up1\n"))  # everything else is proxied

    def test_stats_needs_auth(self):
        r = curl("-s", "-o", "/dev/null", "-w", "%{http_code}",
                 f"http://127.0.0.1:{self.stats}/haproxy?stats")
        self.assertEqual(r.stdout, "401")
        r = curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "admin:wrong",
                 f"http://127.0.0.1:{self.stats}/haproxy?stats")
        self.assertEqual(r.stdout, "401")

    def test_stats_html_csv_json(self):
        base = f"http://127.0.0.1:{self.stats}/haproxy"
        html = curl("-s", "-u", "admin:s3cret", f"{base}?stats").stdout
        self.assertIn("<title>Tandem statistics</title>", html)
        self.assertIn('http-equiv="refresh" content="5"', html)
        # HAProxy's ;norefresh: the same page, still, for a keyboard user tabbing through it.
        still = curl("-s", "-u", "admin:s3cret", f"{base}?stats;norefresh").stdout
        self.assertNotIn('http-equiv="refresh"', still)
        self.assertIn('<tr class="DOWN"><td>gone</td>', still)
        self.assertIn(';norefresh">Stop refreshing</a>', html)
        self.assertIn('>Refresh every 5s</a>', still)
        self.assertIn('<tr class="DOWN"><td>gone</td>', html)
        csv = curl("-s", "-u", "admin:s3cret", f"{base}?stats;csv").stdout.splitlines()
        # HAProxy's columns, in its order: scripts index them by name or by position.
        header = csv[0][2:].split(",")
        self.assertEqual(header[:10], ["pxname", "svname", "qcur", "qmax", "scur", "smax",
                                       "slim", "stot", "bin", "bout"])
        self.assertEqual(header[17], "status")
        self.assertEqual(header[36], "check_status")
        rows = {tuple(f[:2]): dict(zip(header, f)) for f in (line.split(",") for line in csv[1:])}
        self.assertEqual(rows[("app", "gone")]["status"], "DOWN")
        self.assertEqual(rows[("app", "gone")]["check_status"], "L4CON")
        self.assertEqual(rows[("app", "up1")]["status"], "UP")
        self.assertEqual(rows[("app", "up1")]["check_status"], "L4OK")
        self.assertEqual(rows[("app", "BACKEND")]["act"], "1")
        self.assertEqual(rows[("web", "FRONTEND")]["status"], "OPEN")
        self.assertIn(">L4CON in ", html)
        data = json.loads(curl("-s", "-u", "admin:s3cret", f"{base}?stats;json").stdout)
        states = {s["server"]: s["state"] for s in data["servers"]}
        self.assertEqual(states, {"up1": "UP", "gone": "DOWN"})
        self.assertEqual(curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "-u",
                              "admin:s3cret", f"{base}/other").stdout, "404")

    def test_rates_and_plots_of_the_last_minutes(self):
        base = f"http://127.0.0.1:{self.stats}/haproxy"
        deadline = time.time() + 10
        html = ""
        while time.time() < deadline:  # worker 0 samples once a second; two samples make a rate
            for _ in range(5):
                get(self.port, "/")
            html = curl("-s", "-u", "admin:s3cret", f"{base}?stats").stdout
            if '<table id="plots">' in html:
                break
            time.sleep(0.5)
        self.assertIn('<table id="plots">', html)
        self.assertIn("<svg", html)
        self.assertIn("<title>web requests per second</title>", html)
        csv = curl("-s", "-u", "admin:s3cret", f"{base}?stats;csv").stdout.splitlines()
        header = csv[0][2:].split(",")
        fe = next(dict(zip(header, line.split(","))) for line in csv if line.startswith("web,FRONTEND"))
        self.assertGreaterEqual(int(fe["req_rate_max"]), 1)
        self.assertGreaterEqual(int(fe["rate_max"]), 1)

    def test_prometheus_exporter(self):
        get(self.port, "/")
        text = curl("-s", f"http://127.0.0.1:{self.prom}/metrics").stdout
        self.assertIn('tandem_server_up{backend="app",server="up1"} 1', text)
        self.assertIn('tandem_server_up{backend="app",server="gone"} 0', text)
        self.assertIn("# TYPE haproxy_server_sessions_total counter", text)


class StatsAdminTest(unittest.TestCase):
    """The stats page's admin buttons (HAProxy's `stats admin if ...`): only for clients in
    admin_allowed_from, a POST sets a checked or an unchecked server ready/drain/maint on every
    worker thread, and the page redirects back to itself."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-stats-admin-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.b = {}
        for n in ("a1", "a2", "p1"):
            cls.b[n] = Backend(n, cls.tmp)
            cls.addClassCleanup(cls.b[n].stop)
        cls.port, cls.stats = free_port(), free_port()
        cfg = f"""
global: {{ threads: 2 }}
frontends:
  web: {{ bind: "127.0.0.1:{cls.port}", default_backend: app }}
backends:
  app:
    check: {{ type: tcp, inter: 100ms, fall: 1, rise: 1 }}
    servers:
      - {{ name: a1, address: "{cls.b['a1'].address}" }}
      - {{ name: a2, address: "{cls.b['a2'].address}" }}
  plain:
    servers:
      - {{ name: p1, address: "{cls.b['p1'].address}" }}
stats:
  bind: "127.0.0.1:{cls.stats}"
  uri: /stats
  auth: [ {{ user: admin, password: "s3cret" }} ]
  admin_allowed_from: [ 127.0.0.2/32 ]
"""
        cls.proxy = Tandem(cfg, cls.tmp, [cls.port, cls.stats])
        cls.addClassCleanup(cls.proxy.stop)
        time.sleep(0.3)

    def page(self, source, path="/stats", *extra):
        return curl("-s", "--interface", source, "-u", "admin:s3cret", *extra,
                    f"http://127.0.0.1:{self.stats}{path}").stdout

    def post(self, source, query):
        return curl("-s", "--interface", source, "-u", "admin:s3cret", "-X", "POST", "-o",
                    "/dev/null", "-w", "%{http_code} %{redirect_url}",
                    f"http://127.0.0.1:{self.stats}/stats?{query}").stdout

    def states(self):
        data = json.loads(self.page("127.0.0.1", "/stats;json"))
        return {s["server"]: s["state"] for s in data["servers"]}

    def wait_state(self, server, state):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.states()[server] == state:
                return
            time.sleep(0.05)
        self.fail(f"{server} never became {state}: {self.states()}")

    def test_only_allowed_clients_see_and_use_the_buttons(self):
        self.assertNotIn('<form method="post"', self.page("127.0.0.1"))
        self.assertTrue(self.post("127.0.0.1", "b=app&s=a1&action=maint").startswith("403"))
        html = self.page("127.0.0.2")
        self.assertIn('<form method="post" style="display:inline" action="/stats">'
                      '<input type="hidden" name="b" value="app">'
                      '<input type="hidden" name="s" value="a1">'
                      '<input type="hidden" name="action" value="drain">', html)
        self.assertEqual(self.states()["a1"], "UP")
        unauth = curl("-s", "--interface", "127.0.0.2", "-X", "POST", "-o", "/dev/null", "-w",
                      "%{http_code}", f"http://127.0.0.1:{self.stats}/stats?b=app&s=a1&action=maint")
        self.assertEqual(unauth.stdout, "401")

    def test_drain_and_ready_a_checked_server(self):
        # 303 back to the page (curl shows the location with the credentials it will reuse)
        self.assertRegex(self.post("127.0.0.2", "b=app&s=a2&action=drain"),
                         rf"^303 http://(admin:s3cret@)?127\.0\.0\.1:{self.stats}/stats$")
        self.wait_state("a2", "DRAIN")
        self.assertIn("Server app/a2 is DRAIN (was UP), reason: set from the stats page",
                      self.proxy.output())
        served = {get(self.port, "/")[2] for _ in range(20)}
        self.assertEqual(served, {b"a1\n"})  # a draining server takes no new traffic
        self.assertTrue(self.post("127.0.0.2", "b=app&s=a2&action=ready").startswith("303"))
        self.wait_state("a2", "UP")
        served = {get(self.port, "/")[2] for _ in range(20)}
        self.assertEqual(served, {b"a1\n", b"a2\n"})

    def form(self, body, *headers):
        args = ["-s", "--interface", "127.0.0.2", "-u", "admin:s3cret", "-o", "/dev/null",
                "-w", "%{http_code}", "-d", body]
        for h in headers:
            args += ["-H", h]
        return curl(*args, f"http://127.0.0.1:{self.stats}/stats").stdout

    def test_haproxy_form_body_sets_several_servers(self):
        # HAProxy's admin form: `curl -d "s=srv&action=drain&b=be"`, `s` once per server.
        self.assertEqual(self.form("s=a1&s=a2&action=drain&b=app"), "303")
        self.wait_state("a1", "DRAIN")
        self.wait_state("a2", "DRAIN")
        self.assertEqual(self.form("b=app&s=a1&s=a2&action=ready"), "303")
        self.wait_state("a1", "UP")
        self.wait_state("a2", "UP")
        self.assertEqual(self.form("b=app&action=ready"), "400")  # no server named
        self.assertEqual(self.form("b=app&s=a1&s=zz&action=maint"), "404")
        self.assertEqual(self.states()["a1"], "UP", "a 404 must change nothing")
        chunked = curl("-s", "--interface", "127.0.0.2", "-u", "admin:s3cret", "-o", "/dev/null",
                       "-w", "%{http_code}", "-H", "Transfer-Encoding: chunked", "-d",
                       "b=app&s=a1&action=maint", f"http://127.0.0.1:{self.stats}/stats")
        self.assertEqual(chunked.stdout, "411")
        self.assertEqual(self.form("b=app&s=a1&action=maint&pad=" + "x" * 5000), "413")
        self.assertEqual(self.states()["a1"], "UP")

    def test_cross_site_posts_are_refused(self):
        # A browser holding the Basic credentials posts a form another site made: it says so in
        # Sec-Fetch-Site / Origin / Referer, and nothing changes.
        here = f"127.0.0.1:{self.stats}"
        for headers in (["Origin: http://evil.example"],
                        ["Sec-Fetch-Site: cross-site"],
                        ["Sec-Fetch-Site: same-site", f"Origin: http://{here}"],
                        ["Origin: null"],
                        ["Referer: http://evil.example/page"]):
            self.assertEqual(self.form("b=app&s=a1&action=maint", *headers), "403", headers)
            self.assertEqual(self.post_with("b=app&s=a1&action=maint", headers), "403", headers)
        time.sleep(0.2)
        self.assertEqual(self.states()["a1"], "UP")
        # The page's own buttons: same origin.
        self.assertEqual(self.form("b=app&s=a1&action=drain", f"Origin: http://{here}",
                                   "Sec-Fetch-Site: same-origin",
                                   f"Referer: http://{here}/stats"), "303")
        self.wait_state("a1", "DRAIN")
        self.assertEqual(self.form("b=app&s=a1&action=ready"), "303")
        self.wait_state("a1", "UP")

    def post_with(self, query, headers):
        args = ["-s", "--interface", "127.0.0.2", "-u", "admin:s3cret", "-X", "POST", "-o",
                "/dev/null", "-w", "%{http_code}"]
        for h in headers:
            args += ["-H", h]
        return curl(*args, f"http://127.0.0.1:{self.stats}/stats?{query}").stdout

    def test_maint_an_unchecked_server_and_bad_requests(self):
        self.assertTrue(self.post("127.0.0.2", "b=plain&s=p1&action=maint").startswith("303"))
        self.wait_state("p1", "MAINT")
        self.assertTrue(self.post("127.0.0.2", "b=plain&s=p1&action=ready").startswith("303"))
        self.wait_state("p1", "UP")
        self.assertTrue(self.post("127.0.0.2", "b=plain&s=nope&action=maint").startswith("404"))
        self.assertTrue(self.post("127.0.0.2", "b=plain&s=p1&action=explode").startswith("400"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
