#!/usr/bin/env python3
"""The built-in pages, read with real curl: the stats page (HTML, ;csv, ;json) behind basic
auth, the Prometheus exporter, and `http_request: return` answers made by the proxy itself."""
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import Backend, Tandem, curl as curl_bytes, free_port, get  # noqa


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
        self.assertIn('<tr class="DOWN"><td>gone</td>', html)
        csv = curl("-s", "-u", "admin:s3cret", f"{base}?stats;csv").stdout.splitlines()
        self.assertEqual(csv[0], "# pxname,svname,scur,stot,status,weight,addr,bck")
        self.assertTrue(any(line.startswith("app,gone,0,0,DOWN,") for line in csv), csv)
        data = json.loads(curl("-s", "-u", "admin:s3cret", f"{base}?stats;json").stdout)
        states = {s["server"]: s["state"] for s in data["servers"]}
        self.assertEqual(states, {"up1": "UP", "gone": "DOWN"})
        self.assertEqual(curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "-u",
                              "admin:s3cret", f"{base}/other").stdout, "404")

    def test_prometheus_exporter(self):
        get(self.port, "/")
        text = curl("-s", f"http://127.0.0.1:{self.prom}/metrics").stdout
        self.assertIn('tandem_server_up{backend="app",server="up1"} 1', text)
        self.assertIn('tandem_server_up{backend="app",server="gone"} 0', text)
        self.assertIn("# TYPE tandem_server_sessions_total counter", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
