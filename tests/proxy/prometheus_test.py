#!/usr/bin/env python3
"""The Prometheus exporter as Prometheus users meet it: HAProxy's exporter's metric names and
labels with values that follow the traffic, output that `promtool check metrics` accepts, and a
real Prometheus server that scrapes it and answers a query with the proxy's number."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import (Backend, PrometheusServer, Tandem, dashboard_queries, free_port, get,  # noqa
                     metric, scrape, wait_port)


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
        self.assertEqual(metric(t, "haproxy_frontend_http_requests_total", **fe), 6)
        self.assertEqual(metric(t, "haproxy_frontend_http_responses_total", code="2xx", **fe), 5)
        self.assertEqual(metric(t, "haproxy_frontend_http_responses_total", code="4xx", **fe), 1)
        self.assertEqual(metric(t, "haproxy_frontend_requests_denied_total", **fe), 1)
        # Six requests, plus the connection that found the port open at start.
        self.assertEqual(metric(t, "haproxy_frontend_sessions_total", **fe), 7)
        self.assertGreater(metric(t, "haproxy_frontend_bytes_in_total", **fe), 0)
        self.assertGreater(metric(t, "haproxy_frontend_bytes_out_total", **fe), 0)
        be = {"proxy": "app"}
        self.assertEqual(metric(t, "haproxy_backend_http_requests_total", **be), 5)
        self.assertEqual(metric(t, "haproxy_backend_http_responses_total", code="2xx", **be), 5)
        # `balance: first` tries the dead server first every time: refused, retried elsewhere.
        self.assertEqual(metric(t, "haproxy_backend_connection_errors_total", **be), 5)
        self.assertEqual(metric(t, "haproxy_backend_retry_warnings_total", **be), 5)
        self.assertEqual(metric(t, "haproxy_backend_redispatch_warnings_total", **be), 5)
        self.assertEqual(
            metric(t, "haproxy_server_connection_errors_total", server="gone", **be), 5)
        self.assertEqual(metric(t, "haproxy_server_connection_errors_total", server="up1", **be), 0)
        self.assertEqual(
            metric(t, "haproxy_server_http_responses_total", server="up1", code="2xx", **be), 5)
        self.assertEqual(metric(t, "haproxy_server_status", server="up1", state="UP", **be), 1)
        self.assertEqual(metric(t, "haproxy_backend_status", state="UP", **be), 1)
        self.assertEqual(metric(t, "tandem_backend_total_time_seconds_count", **be), 5)
        self.assertEqual(metric(t, "tandem_backend_total_time_seconds_bucket", le="+Inf", **be), 5)
        self.assertGreaterEqual(metric(t, "haproxy_backend_max_sessions", **be), 1)
        self.assertGreater(metric(t, "haproxy_backend_total_time_average_seconds", **be), 0)

    @classmethod
    def prometheus(cls):
        """A real Prometheus scraping the exporter every second (started once, on first use)."""
        if not getattr(cls, "server", None):
            cls.server = PrometheusServer(cls.tmp, f"127.0.0.1:{cls.prom}")
            cls.addClassCleanup(cls.server.stop)
            wait_port(cls.server.web, proc=cls.server.proc, timeout=30)
        return cls.server

    def test_a_real_prometheus_scrapes_it_and_answers_a_query(self):
        server = self.prometheus()
        status, result = server.wait_for('haproxy_frontend_http_requests_total{proxy="web"}',
                                         lambda r: r and float(r[0]["value"][1]) >= 6)
        self.assertEqual(status, "success", server.output()[-2000:])
        self.assertEqual(float(result[0]["value"][1]), 6)

    def test_every_query_of_the_grafana_dashboard_answers(self):
        # The node's panels (VRRP, restarts, reloads) are checked against `tandem run` in
        # tests/vrrp/vrrp_netns_test.py; a proxy alone has the rest.
        self.assertGreaterEqual(len(dashboard_queries(node=False)), 8)
        server = self.prometheus()
        # rate() needs two scrapes in its window: wait for the first query to have them.
        server.wait_for("rate(haproxy_frontend_http_requests_total[1m])", lambda r: bool(r))
        server.check_dashboard(self, node=False)


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
        self.assertEqual(metric(t, "haproxy_server_check_status", state="L7OK", **ok), 1)
        self.assertEqual(metric(t, "haproxy_server_check_status", state="L4CON", **ok), 0)
        self.assertEqual(metric(t, "haproxy_server_check_code", **ok), 200)
        self.assertGreater(metric(t, "haproxy_server_check_duration_seconds", **ok), 0)
        self.assertEqual(metric(t, "haproxy_server_check_failures_total", **ok), 0)
        self.assertEqual(metric(t, "haproxy_server_check_status", state="L4CON", **gone), 1)
        self.assertGreaterEqual(metric(t, "haproxy_server_check_failures_total", **gone), 2)
        self.assertEqual(metric(t, "haproxy_server_check_up_down_total", **gone), 1)
        self.assertEqual(metric(t, "haproxy_backend_check_up_down_total", proxy="checked"), 1)
        self.assertEqual(metric(t, "haproxy_server_status", state="DOWN", **gone), 1)
        self.assertGreater(metric(t, "haproxy_server_downtime_seconds_total", **gone), 0.1)
        self.assertEqual(metric(t, "haproxy_server_downtime_seconds_total", **ok), 0)
        changed = metric(t, "haproxy_server_check_last_change_seconds", **gone)
        self.assertGreater(changed, 0)
        # ok1 never changed: its figure counts from the start, before gone's first check.
        self.assertGreater(metric(t, "haproxy_server_check_last_change_seconds", **ok), changed)
        self.assertIsNone(metric(t, "haproxy_server_check_status", proxy="unchecked", server="u1",
                                state="L7OK"), "no check, no check families")
        r = subprocess.run(["promtool", "check", "metrics"], input=t, text=True,
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
