#!/usr/bin/env python3
"""The stats page in a real browser: headless Chromium (Selenium, chromedriver) against
`tandem run` on loopback. Basic auth keeps the page shut until the browser has the credentials;
the tables render with HAProxy's columns; the page refreshes itself and shows the new numbers;
its admin buttons change a server's state, and the change shows in the page, in `tandem status`,
on the admin socket and in the Prometheus metrics; and a page of another origin loaded in the
same (logged-in) browser cannot change a state by posting the same form."""
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from browser import Chromium  # noqa: E402
from harness import Backend, Node, admin_command, free_port, get, metric, scrape  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CTEST_TIMEOUT = 90
USER, PASSWORD = "admin", "s3cret"

# Every table of the page at once (one script: a refresh in between cannot tear it): caption,
# column names (a two-row head spelled out: "Sessions Total", "Server Status") and the rows.
TABLES = """
return Array.from(document.querySelectorAll('table')).map(t => {
  const heads = Array.from(t.rows).filter(r => r.querySelector('th'));
  const cols = [];
  if (heads.length === 2) {
    let j = 0;
    for (const th of heads[0].cells) {
      if (th.rowSpan > 1) cols.push(th.textContent);
      else for (let k = 0; k < th.colSpan; k++)
        cols.push(th.textContent + ' ' + heads[1].cells[j++].textContent);
    }
  }
  return {caption: t.caption ? t.caption.textContent : '', columns: cols,
          rows: Array.from(t.rows).filter(r => !r.querySelector('th')).map(r => ({
            class: r.className,
            cells: Array.from(r.cells).map(c => c.textContent)}))};
});
"""

# HAProxy's stats page columns (its two-row head), left to right.
HAPROXY_COLUMNS = [
    "name", "Queue Cur", "Queue Max", "Session rate Cur", "Session rate Max", "Sessions Cur",
    "Sessions Max", "Sessions Limit", "Sessions Total", "Bytes In", "Bytes Out", "Denied Req",
    "Errors Req", "Errors Conn", "Errors Resp", "Warnings Retr", "Warnings Redis",
    "Server Status", "Server LastChk", "Server Wght", "Server Act", "Server Bck", "Server Chk",
    "Server Dwn", "Server Dwntme", "Server Thrtle"]

STATES = {"ready": "UP", "drain": "DRAIN", "maint": "MAINT"}


class _Attacker(BaseHTTPRequestHandler):
    """Another site's page: once loaded, it posts the stats page's own admin form to the stats
    page twice, as a script's fetch() and as a form it submits (a top-level navigation)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        target = self.server.target
        fields = {"b": "app", "s": "a2", "action": "maint"}
        inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
        body = "&".join(f"{k}={v}" for k, v in fields.items())
        page = f"""<!DOCTYPE html><html><head><title>cute cats</title></head><body>
<form method="post" action="{target}">{inputs}</form>
<script>
fetch("{target}", {{method: "POST", mode: "no-cors", credentials: "include",
  headers: {{"Content-Type": "application/x-www-form-urlencoded"}}, body: "{body}"}})
  .catch(() => null).then(() => document.forms[0].submit());
</script></body></html>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)


class StatsBrowserTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tandem-stats-browser-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.backends = {}
        for n in ("a1", "a2"):
            self.backends[n] = Backend(n, self.tmp)
            self.addCleanup(self.backends[n].stop)
        self.port, self.stats, self.prom = free_port(), free_port(), free_port()
        self.admin_sock = os.path.join(self.tmp, "admin.sock")
        servers = "\n".join(f'      - {{ name: {b.name}, address: "{b.address}" }}'
                            for b in self.backends.values())
        # probe none: the supervisor's liveness probe would add requests of its own to the
        # frontend's counters that the refresh test reads.
        cfg = f"""
global: {{ threads: 2, admin_socket: {{ path: {self.admin_sock} }},
           log: {{ target: stderr, level: info }} }}
supervisor:
  control_socket: {os.path.join(self.tmp, "node.sock")}
  probe: {{ type: none }}
frontends:
  web: {{ bind: "127.0.0.1:{self.port}", default_backend: app }}
backends:
  app:
    check: {{ type: http, uri: /health, inter: 100ms, fall: 1, rise: 1 }}
    servers:
{servers}
stats:
  bind: "127.0.0.1:{self.stats}"
  uri: /stats
  refresh: 1s
  auth: [ {{ user: {USER}, password: "{PASSWORD}" }} ]
  admin_allowed_from: [ 127.0.0.1/32 ]
prometheus: {{ bind: "127.0.0.1:{self.prom}" }}
"""
        self.node = Node(cfg, self.tmp, wait_ready=False)
        self.addCleanup(self.node.stop)  # before the wait: a node that never gets ready stops too
        self.node.wait(lambda s: s["proxy"]["ready"], "the proxy worker to be ready")
        self.page_url = f"http://127.0.0.1:{self.stats}/stats"
        self.browser = Chromium(self.tmp)
        self.addCleanup(self.browser.quit)
        self.driver = self.browser.driver

    # ---- the page as the browser shows it ------------------------------------------------------

    def log_in(self):
        """Gives the browser the credentials (in the URL, as a user answers its login prompt),
        then opens the page by its plain URL: the browser sends them by itself from now on."""
        self.driver.get(f"http://{USER}:{PASSWORD}@127.0.0.1:{self.stats}/stats")
        self.assertEqual(self.browser.navigation_status(), 200)
        self.driver.get(self.page_url)
        self.assertEqual(self.browser.navigation_status(), 200)
        self.assertEqual(self.driver.title, "Tandem statistics")

    def tables(self):
        # Asked again while a refresh or a redirect replaces the page.
        return self.browser.wait(
            lambda: {t["caption"]: t for t in self.driver.execute_script(TABLES)}, "the tables")

    def rows(self, caption):
        """The rows of one table, each a dict of column name to text (and its "class")."""
        t = self.tables()[caption]
        return [dict(zip(t["columns"], r["cells"]), **{"class": r["class"]}) for r in t["rows"]]

    def row(self, caption, name):
        return next(r for r in self.rows(caption) if r["name"] == name)

    def click(self, by, selector):
        """Clicks the element; found again when the page's refresh replaced it meanwhile."""
        self.browser.wait(lambda: self.driver.find_element(by, selector).click() or True,
                          f"a click on {selector}")

    def press(self, server, action):
        """The admin button `action` in the row of `server`."""
        self.click(By.XPATH, f"//tr[td[1]='{server}']//form[input[@name='action' and "
                             f"@value='{action}']]/button")

    # ---- the same state elsewhere --------------------------------------------------------------

    def status_state(self, server):
        return next(s["state"] for b in self.node.status()["backends"] if b["name"] == "app"
                    for s in b["servers"] if s["name"] == server)

    def socket_state(self, server):
        for line in admin_command(self.admin_sock, "show servers state").splitlines():
            f = line.split()
            if f[:2] == ["app", server]:
                return f[3]
        self.fail(f"app/{server} not on the admin socket")

    def metric_state(self, server):
        text = scrape(self.prom)
        up = [s for s in STATES.values()
              if metric(text, "haproxy_server_status", proxy="app", server=server, state=s) == 1]
        return up[0] if len(up) == 1 else up

    # ---- tests ---------------------------------------------------------------------------------

    def test_basic_auth_shuts_the_page_until_the_browser_has_the_credentials(self):
        self.driver.get(self.page_url)
        self.assertEqual(self.browser.navigation_status(), 401)
        self.assertEqual(self.driver.find_elements(By.TAG_NAME, "table"), [])
        self.driver.get(f"http://{USER}:wrong@127.0.0.1:{self.stats}/stats")
        self.assertEqual(self.browser.navigation_status(), 401)
        self.assertEqual(self.driver.find_elements(By.TAG_NAME, "table"), [])
        self.log_in()
        self.assertIn("Frontend web", self.tables())

    def test_the_tables_render_with_haproxy_columns_and_buttons(self):
        self.log_in()
        tables = self.tables()
        self.assertIn("Frontend web", tables)
        self.assertIn("Backend app", tables)
        for caption in ("Frontend web", "Backend app"):
            self.assertEqual(tables[caption]["columns"], HAPROXY_COLUMNS + ["admin"], caption)
        (fe,) = self.rows("Frontend web")
        self.assertEqual((fe["name"], fe["class"], fe["Server Status"]),
                         ("Frontend", "OPEN total", "OPEN"))
        self.browser.wait(lambda: [(r["class"], r["Server LastChk"][:4])
                                   for r in self.rows("Backend app")]
                          == [("UP", "L7OK"), ("UP", "L7OK"), ("UP total", "")],
                          "both servers UP and checked, then the total line")
        servers = self.rows("Backend app")
        self.assertEqual([r["name"] for r in servers], ["a1", "a2", "Backend"])
        for r in servers[:2]:
            self.assertRegex(r["Server Status"], r"^\S+ UP$")  # "3s UP": since when, and how
            self.assertRegex(r["Server LastChk"], r"^L7OK/200 in \d+ms$")
            self.assertEqual(r["admin"].split(), ["ready", "drain", "maint"])
        self.assertEqual(servers[2]["Server Act"], "2")
        # The page's JSON link, followed in the same browser.
        self.click(By.LINK_TEXT, "JSON")
        self.browser.wait(lambda: self.driver.current_url.endswith("/stats;json"), "the JSON")
        self.assertIn('"server":"a2"', self.driver.find_element(By.TAG_NAME, "body").text)

    def test_the_page_refreshes_itself_with_the_new_numbers(self):
        self.log_in()
        self.assertEqual(self.driver.execute_script(
            "return document.querySelector('meta[http-equiv=refresh]').content"), "1")

        def totals():
            return (int(self.row("Frontend web", "Frontend")["Sessions Total"]),
                    int(self.row("Backend app", "Backend")["Sessions Total"]))

        frontend, backend = totals()
        self.driver.execute_script("window.tandemTestMark = 1")  # gone once the page reloads
        for _ in range(7):
            self.assertEqual(get(self.port, "/")[0], 200)
        # No get(), no refresh() from here: the page reloads by itself.
        self.browser.wait(lambda: self.driver.execute_script("return !window.tandemTestMark")
                          and totals() == (frontend + 7, backend + 7),
                          "the page to show the 7 new sessions")
        self.assertEqual(self.browser.navigation_status(), 200)

    def test_admin_buttons_change_the_state_everywhere(self):
        self.log_in()
        self.browser.wait(lambda: self.row("Backend app", "a2")["class"] == "UP", "a2 UP")
        for action in ("drain", "maint", "ready"):
            state = STATES[action]
            self.press("a2", action)
            # Post/Redirect/Get: back on the page, which shows the new state.
            self.browser.wait(lambda: self.driver.current_url == self.page_url
                              and self.row("Backend app", "a2")["class"] == state,
                              f"the page to show a2 {state}")
            self.assertEqual(self.browser.navigation_status(), 200)
            self.assertTrue(self.row("Backend app", "a2")["Server Status"].endswith(" " + state))
            self.node.wait(lambda s: self.status_state("a2") == state, f"a2 {state} in status")
            text = self.node.ctl("status").stdout
            if state == "UP":
                self.assertNotIn("a2(", text)
            else:
                self.assertIn(f"a2({state})", text)
            self.assertEqual(self.socket_state("a2"), state)
            self.assertEqual(self.metric_state("a2"), state)
            self.assertEqual(metric(scrape(self.prom), "tandem_server_up", backend="app",
                                    server="a2"), 1 if state == "UP" else 0)
            served = {get(self.port, "/")[2] for _ in range(10)}
            self.assertEqual(served, {b"a1\n", b"a2\n"} if state == "UP" else {b"a1\n"})
            self.assertEqual(self.row("Backend app", "a1")["class"], "UP")  # only a2 changed
        log = self.node.output()
        self.assertIn("Server app/a2 is DRAIN (was UP), reason: set from the stats page", log)
        self.assertIn("Server app/a2 is MAINT (was DRAIN), reason: set from the stats page", log)

    def attacker(self, host):
        """Another site's page (see _Attacker), served on host from a thread; its URL."""
        server = ThreadingHTTPServer((host, 0), _Attacker)
        server.daemon_threads = True
        server.target = self.page_url
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return f"http://{host}:{server.server_address[1]}/cats"

    def test_a_page_of_another_origin_cannot_change_a_state(self):
        self.log_in()
        self.browser.wait(lambda: self.row("Backend app", "a2")["class"] == "UP", "a2 UP")
        self.browser.responses()  # forget the log-in's
        # Another site (another address), and another origin of the same site (another port).
        for host, site in (("127.0.0.3", "cross-site"), ("127.0.0.1", "same-site")):
            with self.subTest(site=site):
                self.driver.get(self.attacker(host))
                self.browser.wait(lambda: self.driver.current_url == self.page_url
                                  and "cross-site request refused" in
                                  self.driver.find_element(By.TAG_NAME, "body").text,
                                  "the posted form's answer")
                self.assertEqual(self.browser.navigation_status(), 403)
                self.assertIn(f"Sec-Fetch-Site: {site}",
                              self.driver.find_element(By.TAG_NAME, "body").text)
                # The form reached the page with the credentials (else 401) and was refused.
                # The fetch() too: refused by Tandem (403), or sent without the credentials
                # (401) where the browser keeps them from another site's requests (Chromium
                # does, cross-site).
                posts = [status for method, url, status in self.browser.responses()
                         if method == "POST" and url == self.page_url]
                self.assertEqual(len(posts), 2, posts)
                self.assertIn(posts[0], (401, 403), "the fetch()")
                self.assertEqual(posts[1], 403, "the form")
        time.sleep(0.3)  # what an accepted post would have set has reached every thread by now
        self.assertEqual(self.socket_state("a2"), "UP")
        self.assertEqual(self.status_state("a2"), "UP")
        self.assertNotIn("set from the stats page", self.node.output())
        # The very same form, posted by the page itself in this browser, does change it.
        self.driver.get(self.page_url)
        self.press("a2", "maint")
        self.browser.wait(lambda: self.socket_state("a2") == "MAINT", "a2 MAINT from the page")


if __name__ == "__main__":
    unittest.main(verbosity=2)
