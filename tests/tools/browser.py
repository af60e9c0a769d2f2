"""A real browser for Tandem's integration tests: Debian's headless Chromium driven by Selenium
through chromedriver (packages chromium, chromium-driver, python3-selenium).

The browser runs on a profile and a $HOME of its own in the test's folder, and is always quit,
even when the test failed; the processes chromedriver started that outlive the quit are killed
by PID."""
import importlib.util
import json
import os
import signal
import sys
import time

if importlib.util.find_spec("selenium") is None:
    # python3-selenium installs into the system interpreter's dist-packages; an interpreter of
    # its own (pyenv, a venv) running the tests does not look there. Last, so it shadows nothing.
    sys.path.append("/usr/lib/python3/dist-packages")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _start_time(pid):
    """The start time of a process (from /proc), None when it is gone: with the PID it names
    one process, never a later one that got the same PID."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _descendants(pid):
    """(pid, start time) of every process below pid, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append((c, _start_time(c)))
            todo.append(c)
    return out


class Chromium:
    """Headless Chromium; `driver` is its Selenium WebDriver. Network responses are recorded
    (Chrome's performance log), so a test can see the status of a request a page made that the
    page itself may not read (a cross-origin fetch)."""

    def __init__(self, tmpdir, timeout=10.0):
        profile = os.path.join(tmpdir, "chromium-profile")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        # Chromium writes crash report settings and dconf files under $HOME whatever the
        # profile: a home of its own keeps them in the test's folder too.
        home = os.path.join(tmpdir, "chromium-home")
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   XDG_CACHE_HOME=os.path.join(home, ".cache"))
        self.service = Service(CHROMEDRIVER, log_path=os.path.join(tmpdir, "chromedriver.log"),
                               env=env)
        self.driver = webdriver.Chrome(service=self.service, options=options)
        self.driver.set_page_load_timeout(timeout)
        self.driver.set_script_timeout(timeout)

    def quit(self):
        process = self.service.process
        leftovers = _descendants(process.pid) if process else []
        try:
            self.driver.quit()  # closes the browser, then stops chromedriver
        except WebDriverException:
            pass
        if process and process.poll() is None:
            process.kill()
            process.wait(10)
        for pid, started in leftovers:
            if started is not None and _start_time(pid) == started:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def navigation_status(self):
        """The HTTP status of the document shown now (0 if it came from no HTTP response)."""
        return self.driver.execute_script(
            "return performance.getEntriesByType('navigation')[0].responseStatus")

    def responses(self):
        """(method, url, status) of each network response since the last call, from the
        DevTools events Chrome logged; a request's method comes from its requestWillBeSent."""
        methods, out = {}, []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message["method"] == "Network.requestWillBeSent":
                methods[params["requestId"]] = params["request"]["method"]
            elif message["method"] == "Network.responseReceived":
                r = params["response"]
                out.append((methods.get(params["requestId"], "?"), r["url"], r["status"]))
        return out

    def wait(self, predicate, what, timeout=10.0):
        """Polls predicate() until it is true; a page that is being replaced (a refresh, a form
        post) makes it raise, and it is asked again."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = predicate()
                if last:
                    return last
            except WebDriverException as e:
                last = e
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what} (last: {last!r}); the page is at "
                             f"{self.driver.current_url}")
