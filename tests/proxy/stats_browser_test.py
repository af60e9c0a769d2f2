#!/usr/bin/env python3
"""The stats page in a real browser: headless Chromium (Selenium, chromedriver) against
`tandem run` on loopback. Basic auth keeps the page shut until the browser has the credentials;
the tables render with HAProxy's columns; the page refreshes itself and shows the new numbers;
its admin buttons change a server's state, and the change shows in the page, in `tandem status`,
on the admin socket and in the Prometheus metrics; a page of another origin loaded in the
same (logged-in) browser cannot change a state by posting the same form; and the page is usable
on a phone (no sideways scrolling of the page, the wide tables scroll in boxes of their own,
readable text) and with the keyboard alone (every control a stop of TAB, the focus visible, and
TAB then ENTER or SPACE on an admin button changes the state)."""
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
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

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

# A phone's screen in CSS pixels (an iPhone 14's), laid out as a phone's browser does: with
# mobile on, the page's viewport meta decides the layout width (without one: 980px, zoomed out).
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True}

# For the scripts below: whether an element scrolls sideways itself, and a name for an element
# the focus can go to: "CSV", "a2 drain" (the row's server and the button) or, for a box that
# scrolls (Chromium makes one a stop of TAB when nothing in it is), "box " and its table's caption.
PAGE_JS = """
const scrolls = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
const nameOf = e => e.matches('a, button, input, select, textarea')
  ? (e.closest('tr') ? e.closest('tr').cells[0].textContent + ' ' : '') + e.textContent
  : 'box ' + (e.querySelector('caption') ? e.querySelector('caption').textContent : e.tagName);
"""

# The page as a phone shows it: its layout width and zoom, how far it scrolls sideways (asked to
# go 200px right), each table with the box it scrolls in (the nearest that scrolls sideways
# itself, null if none: then the page would) and whether that box moves when asked, and the
# font sizes of the tables' text.
PHONE_LAYOUT = PAGE_JS + """
window.scrollTo(200, 0);
const layout = {innerWidth: innerWidth, scale: visualViewport.scale, scrollX: scrollX,
  pageWidth: document.documentElement.scrollWidth,
  fontSizes: Array.from(document.querySelectorAll('caption, th, td'), c =>
    parseFloat(getComputedStyle(c).fontSize)),
  tables: Array.from(document.querySelectorAll('table'), t => {
    let box = t.parentElement;
    while (box !== document.body && !scrolls(box)) box = box.parentElement;
    const out = {caption: t.caption ? t.caption.textContent : '', width: t.offsetWidth, box: null};
    if (box === document.body) return out;
    box.scrollLeft = 50;
    out.box = {overflowX: getComputedStyle(box).overflowX, scrollWidth: box.scrollWidth,
               clientWidth: box.clientWidth, right: box.getBoundingClientRect().right,
               moved: box.scrollLeft};
    box.scrollLeft = 0;
    return out;
  })};
window.scrollTo(0, 0);
return layout;
"""

# Records each element the focus goes to from now until the page is replaced (a refresh, a
# post) in window.tandemFocusStops: its name, its outline and shadow while it has the focus and
# once the focus left it (a visible focus ring changes them), and whether its centre was in the
# window with the focus (the browser scrolls it in after the focusin: the focusout asks).
# Returns the page's controls (hidden form fields are data, not controls), each with its name
# and tabIndex (-1: TAB skips it), and how many boxes scroll sideways (each may be a stop too).
RECORD_FOCUS = PAGE_JS + """
const look = e => { const s = getComputedStyle(e);
  return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow].join(' '); };
const stops = window.tandemFocusStops = [];
document.addEventListener('focusin', ev =>
  stops.push({name: nameOf(ev.target), focused: look(ev.target)}));
document.addEventListener('focusout', ev => {
  if (!stops.length) return;  // the focus was somewhere before
  const r = ev.target.getBoundingClientRect(), x = r.x + r.width / 2, y = r.y + r.height / 2;
  Object.assign(stops[stops.length - 1], {unfocused: look(ev.target),
    shown: x >= 0 && x <= innerWidth && y >= 0 && y <= innerHeight});
});
return {controls: Array.from(
          document.querySelectorAll('a, button, input:not([type=hidden]), select, textarea'),
          e => ({name: nameOf(e), tabIndex: e.tabIndex})),
        boxes: Array.from(document.querySelectorAll('body *')).filter(scrolls).length};
"""


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

    def wait_for_the_page_to_show(self, server, state):
        """Post/Redirect/Get: back on the page after an admin action, which shows the new
        state."""
        self.browser.wait(lambda: self.driver.current_url == self.page_url
                          and self.row("Backend app", server)["class"] == state,
                          f"the page to show {server} {state}")

    def tab_through(self, until=None):
        """Opens the page and presses TAB, the keyboard alone (on a page just loaded the focus
        is nowhere: the first TAB goes to its first control): at once, enough to go round (the
        page's stops, one more to leave it for the browser's own bar, one to come back to its
        first), or one at a time until the focus is on the element named `until`. The page's
        controls and the stops the focus made (RECORD_FOCUS); None when the page's own refresh
        reloaded it under the keys: the focus went back to the top (as it does for a person),
        the caller starts again."""
        self.driver.get(self.page_url)
        page = self.driver.execute_script(RECORD_FOCUS)
        presses = len(page["controls"]) + page["boxes"] + 2
        for chunk in [presses] if until is None else [1] * presses:
            ActionChains(self.driver).send_keys(*[Keys.TAB] * chunk).perform()
            stops = self.driver.execute_script("return window.tandemFocusStops")
            if not stops or stops[-1]["name"] == until:
                break
        return stops and (page["controls"], stops)

    def tab_cycle(self):
        """The page's controls, and the stops of TAB once round the page: from the top until
        the focus comes back to the first (each stop's `unfocused` and `shown` known then)."""
        controls, stops = self.browser.wait(self.tab_through, "TAB round the page")
        names = [s["name"] for s in stops]
        self.assertIn(names[0], names[1:], f"TAB did not come back to the top: {names}")
        return controls, stops[:names.index(names[0], 1)]

    def tab_and_press(self, name, key):
        """TAB from the top of the page until the focus is on the element `name`, then `key`;
        False when the page's refresh took the focus back to the top first."""
        tabbed = self.tab_through(until=name)
        if not tabbed:
            return False
        names = [s["name"] for s in tabbed[1]]
        self.assertEqual(names[-1], name, f"TAB never reached {name}: {names}")
        ActionChains(self.driver).send_keys(key).perform()
        return True

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
            self.wait_for_the_page_to_show("a2", state)
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

    def test_on_a_phone_the_page_fits_and_the_wide_tables_scroll_in_boxes(self):
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
        self.log_in()
        self.assertIn("Backend app", self.tables())
        page = self.driver.execute_script(PHONE_LAYOUT)
        # The viewport meta: laid out at the phone's width, not at 980px zoomed out to fit.
        self.assertEqual((page["innerWidth"], page["scale"]), (PHONE["width"], 1))
        # The page itself never scrolls sideways...
        self.assertLessEqual(page["pageWidth"], page["innerWidth"] + 1)
        self.assertEqual(page["scrollX"], 0)
        # ...its wide tables (all of HAProxy's columns) scroll in boxes of their own.
        wide = {t["caption"]: t for t in page["tables"] if t["width"] > page["innerWidth"]}
        self.assertLessEqual({"Frontend web", "Backend app"}, set(wide))
        for caption, t in wide.items():
            with self.subTest(table=caption):
                box = t["box"]
                self.assertIsNotNone(box, "in no box that scrolls sideways")
                self.assertIn(box["overflowX"], ("auto", "scroll"))
                self.assertGreater(box["scrollWidth"], box["clientWidth"])
                self.assertLessEqual(box["right"], page["innerWidth"] + 1)
                self.assertGreater(box["moved"], 0, "the box did not scroll")
        self.assertGreaterEqual(min(page["fontSizes"]), 10, "text too small to read")

    def test_the_keyboard_reaches_every_control_and_shows_the_focus(self):
        self.log_in()
        controls, cycle = self.tab_cycle()
        self.assertEqual([c for c in controls if c["tabIndex"] < 0], [], "left out of TAB")
        names = [s["name"] for s in cycle]
        # Every control, in the order the page reads (and the boxes that scroll, in between).
        self.assertEqual([n for n in names if not n.startswith("box ")],
                         [c["name"] for c in controls])
        self.assertIn("a2 drain", names)
        for stop in cycle:
            self.assertNotEqual(stop["focused"], stop["unfocused"],
                                f"{stop['name']}: no focus ring")
            # Scrolled into view (the admin column is far right of a window's width).
            self.assertTrue(stop["shown"], f"{stop['name']}: out of the window with the focus")

    def test_the_keyboard_alone_changes_a_state(self):
        self.log_in()
        self.browser.wait(lambda: self.row("Backend app", "a2")["class"] == "UP", "a2 UP")
        for action, key in (("drain", "ENTER"), ("maint", "SPACE"), ("ready", "ENTER")):
            state = STATES[action]
            self.browser.wait(lambda: self.tab_and_press(f"a2 {action}", getattr(Keys, key)),
                              f"TAB to a2's {action}, then {key}")
            self.browser.wait(lambda: self.socket_state("a2") == state, f"a2 {state}")
            self.wait_for_the_page_to_show("a2", state)
            self.assertEqual(self.row("Backend app", "a1")["class"], "UP")  # only a2 changed


if __name__ == "__main__":
    unittest.main(verbosity=2)
