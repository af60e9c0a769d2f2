#!/usr/bin/env python3
"""The Prometheus exporter as Prometheus users meet it: HAProxy's exporter's metric names and
labels with values that follow the traffic, output that `promtool check metrics` accepts, and a
real Prometheus server that scrapes it and answers a query with the proxy's number."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import Backend, Process, Tandem, free_port, get, wait_port  # noqa


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def value(text, name, **labels):
    """The sample `name{labels}` (labels in any order, all of them given), or None."""
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if got == labels:
            return float(m.group(3))
    return None


class PrometheusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-prom-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.up = Backend("up1", cls.tmp)
        cls.addClassCleanup(cls.up.stop)
        cls.port, cls.prom = free_port(), free_port()
        dead = free_port()
        cfg = f"""
frontends:
  web:
    bind: "127.0.0.1:{cls.port}"
    acls: {{ is_admin: {{ path: /admin }} }}
    http_request:
      - deny: 403
        if: is_admin
    default_backend: app
backends:
  app:
    balance: first
    retries: 2
    redispatch: true
    servers:
      - {{ name: gone, address: "127.0.0.1:{dead}" }}
      - {{ name: up1, address: "{cls.up.address}" }}
  watched:  # checked, so the check families exist (the dashboard plots them)
    check: {{ type: tcp, inter: 200ms }}
    servers: [ {{ name: w1, address: "{cls.up.address}" }} ]
prometheus:
  bind: "127.0.0.1:{cls.prom}"
"""
        cls.proxy = Tandem(cfg, cls.tmp, [cls.port, cls.prom])
        cls.addClassCleanup(cls.proxy.stop)
        for _ in range(5):
            get(cls.port, "/")
        get(cls.port, "/admin")
        cls.text = scrape(cls.prom)

    def test_promtool_accepts_the_output(self):
        r = subprocess.run(["promtool", "check", "metrics"], input=self.text, text=True,
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_haproxy_names_and_labels_follow_the_traffic(self):
        t = self.text
        fe = {"proxy": "web"}
        self.assertEqual(value(t, "haproxy_frontend_http_requests_total", **fe), 6)
        self.assertEqual(value(t, "haproxy_frontend_http_responses_total", code="2xx", **fe), 5)
        self.assertEqual(value(t, "haproxy_frontend_http_responses_total", code="4xx", **fe), 1)
        self.assertEqual(value(t, "haproxy_frontend_requests_denied_total", **fe), 1)
        # Six requests, plus the connection that found the port open at start.
        self.assertEqual(value(t, "haproxy_frontend_sessions_total", **fe), 7)
        self.assertGreater(value(t, "haproxy_frontend_bytes_in_total", **fe), 0)
        self.assertGreater(value(t, "haproxy_frontend_bytes_out_total", **fe), 0)
        be = {"proxy": "app"}
        self.assertEqual(value(t, "haproxy_backend_http_requests_total", **be), 5)
        self.assertEqual(value(t, "haproxy_backend_http_responses_total", code="2xx", **be), 5)
        # `balance: first` tries the dead server first every time: refused, retried elsewhere.
        self.assertEqual(value(t, "haproxy_backend_connection_errors_total", **be), 5)
        self.assertEqual(value(t, "haproxy_backend_retry_warnings_total", **be), 5)
        self.assertEqual(value(t, "haproxy_backend_redispatch_warnings_total", **be), 5)
        self.assertEqual(value(t, "haproxy_server_connection_errors_total", server="gone", **be), 5)
        self.assertEqual(value(t, "haproxy_server_connection_errors_total", server="up1", **be), 0)
        self.assertEqual(
            value(t, "haproxy_server_http_responses_total", server="up1", code="2xx", **be), 5)
        self.assertEqual(value(t, "haproxy_server_status", server="up1", state="UP", **be), 1)
        self.assertEqual(value(t, "haproxy_backend_status", state="UP", **be), 1)
        self.assertEqual(value(t, "tandem_backend_total_time_seconds_count", **be), 5)
        self.assertEqual(value(t, "tandem_backend_total_time_seconds_bucket", le="+Inf", **be), 5)
        self.assertGreaterEqual(value(t, "haproxy_backend_max_sessions", **be), 1)
        self.assertGreater(value(t, "haproxy_backend_total_time_average_seconds", **be), 0)

    @classmethod
    def prometheus(cls):
        """A real Prometheus scraping the exporter every second (started once, on first use)."""
        if getattr(cls, "web", None):
            return cls.web
        web = free_port()
        cfg = os.path.join(cls.tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(f"""global: {{ scrape_interval: 1s }}
scrape_configs:
  - job_name: tandem
    static_configs: [ {{ targets: [ "127.0.0.1:{cls.prom}" ] }} ]
""")
        cls.prom_proc = Process(["prometheus", f"--config.file={cfg}",
                                 f"--storage.tsdb.path={os.path.join(cls.tmp, 'tsdb')}",
                                 f"--web.listen-address=127.0.0.1:{web}"],
                                os.path.join(cls.tmp, "prometheus.log"))
        cls.addClassCleanup(cls.prom_proc.stop)
        wait_port(web, proc=cls.prom_proc.proc, timeout=30)
        cls.web = web
        return web

    def query(self, expr):
        """(status, result) of an instant query; status None while Prometheus starts."""
        url = f"http://127.0.0.1:{self.prometheus()}/api/v1/query?query={urllib.parse.quote(expr)}"
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            if e.code == 400:  # a bad expression: the answer says why
                return "error", json.load(e).get("error")
            return None, []  # 503 while its storage starts
        return body["status"], body["data"]["result"]

    def wait_for(self, expr, ok, timeout=30):
        deadline = time.time() + timeout
        status, result = None, []
        while time.time() < deadline:
            status, result = self.query(expr)
            if status == "error" or (status == "success" and ok(result)):
                break
            time.sleep(0.5)
        return status, result

    def test_a_real_prometheus_scrapes_it_and_answers_a_query(self):
        status, result = self.wait_for('haproxy_frontend_http_requests_total{proxy="web"}',
                                       lambda r: r and float(r[0]["value"][1]) >= 6)
        self.assertEqual(status, "success", self.prom_proc.output()[-2000:])
        self.assertEqual(float(result[0]["value"][1]), 6)

    def test_every_query_of_the_grafana_dashboard_answers(self):
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                            "grafana", "tandem-dashboard.json")
        with open(path) as f:
            dashboard = json.load(f)
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        self.assertGreaterEqual(len(exprs), 8)
        # rate() needs two scrapes in its window: wait for the first query to have them.
        self.wait_for("rate(haproxy_frontend_http_requests_total[1m])", lambda r: bool(r))
        for expr in exprs:
            e = expr.replace("$instance", ".*").replace("$__rate_interval", "1m")
            status, result = self.wait_for(e, lambda r: bool(r), timeout=10)
            self.assertEqual(status, "success", f"{expr}: {result}")
            self.assertTrue(result, f"no series for {expr}")


class CheckMetricsTest(unittest.TestCase):
    """Health check families: the last check's HAProxy status and code, failed checks, UP to
    DOWN transitions, downtime, time since the last change."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-prom-checks-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.up = Backend("ok1", cls.tmp)
        cls.addClassCleanup(cls.up.stop)
        cls.prom = free_port()
        dead = free_port()
        cfg = f"""
backends:
  checked:
    check: {{ type: http, uri: /, inter: 100ms, fall: 1, rise: 1 }}
    servers:
      - {{ name: ok1, address: "{cls.up.address}" }}
      - {{ name: gone, address: "127.0.0.1:{dead}" }}
  unchecked:
    servers: [ {{ name: u1, address: "{cls.up.address}" }} ]
prometheus:
  bind: "127.0.0.1:{cls.prom}"
"""
        cls.proxy = Tandem(cfg, cls.tmp, [cls.prom])
        cls.addClassCleanup(cls.proxy.stop)
        time.sleep(0.6)  # a few rounds of checks
        cls.text = scrape(cls.prom)

    def test_the_last_check_and_the_counts(self):
        t = self.text
        ok = {"proxy": "checked", "server": "ok1"}
        gone = {"proxy": "checked", "server": "gone"}
        self.assertEqual(value(t, "haproxy_server_check_status", state="L7OK", **ok), 1)
        self.assertEqual(value(t, "haproxy_server_check_status", state="L4CON", **ok), 0)
        self.assertEqual(value(t, "haproxy_server_check_code", **ok), 200)
        self.assertGreater(value(t, "haproxy_server_check_duration_seconds", **ok), 0)
        self.assertEqual(value(t, "haproxy_server_check_failures_total", **ok), 0)
        self.assertEqual(value(t, "haproxy_server_check_status", state="L4CON", **gone), 1)
        self.assertGreaterEqual(value(t, "haproxy_server_check_failures_total", **gone), 2)
        self.assertEqual(value(t, "haproxy_server_check_up_down_total", **gone), 1)
        self.assertEqual(value(t, "haproxy_backend_check_up_down_total", proxy="checked"), 1)
        self.assertEqual(value(t, "haproxy_server_status", state="DOWN", **gone), 1)
        self.assertGreater(value(t, "haproxy_server_downtime_seconds_total", **gone), 0.1)
        self.assertEqual(value(t, "haproxy_server_downtime_seconds_total", **ok), 0)
        changed = value(t, "haproxy_server_check_last_change_seconds", **gone)
        self.assertGreater(changed, 0)
        # ok1 never changed: its figure counts from the start, before gone's first check.
        self.assertGreater(value(t, "haproxy_server_check_last_change_seconds", **ok), changed)
        self.assertIsNone(value(t, "haproxy_server_check_status", proxy="unchecked", server="u1",
                                state="L7OK"), "no check, no check families")
        r = subprocess.run(["promtool", "check", "metrics"], input=t, text=True,
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
