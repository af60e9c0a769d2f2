"""Process and network helpers for Tandem's integration tests.

Every process is started by a test and stopped by PID in cleanup (never by name); every port is
on 127.0.0.1 and picked free by the kernel.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TANDEM = os.environ.get("TANDEM_BINARY", os.path.join(HERE, "..", "..", "build", "tandem"))
BACKEND = os.path.join(HERE, "backend.py")


_given_ports = set()


def free_port():
    """A port nothing listens on now. The kernel may hand the same free port out again once
    the probing socket is closed, so one process never gets the same port twice (a config
    with two binds on one port would not start)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port
    raise RuntimeError("no fresh free port in 100 tries")


def wait_port(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def make_cert(tmpdir, name="cert", cn="localhost", sans=None):
    """A self-signed P-256 certificate and its key in one PEM (HAProxy's and Tandem's `crt`
    format), made with the openssl CLI; returns (pem, certificate-only file for clients)."""
    pem = os.path.join(tmpdir, f"{name}.pem")
    crt = os.path.join(tmpdir, f"{name}.crt")
    if os.path.exists(pem):
        return pem, crt
    key = os.path.join(tmpdir, f"{name}.key")
    args = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", f"/CN={cn}",
            "-keyout", key, "-out", crt]
    if sans:
        args[-4:-4] = ["-addext", "subjectAltName=" + ",".join(f"DNS:{s}" for s in sans)]
    subprocess.run(args, check=True, capture_output=True, timeout=60)
    with open(pem, "w") as out:
        for part in (crt, key):
            with open(part) as f:
                out.write(f.read())
    return pem, crt


class Process:
    """A child process stopped by PID on cleanup, even when the test failed."""

    def __init__(self, args, log_path=None, env=None):
        self.log_path = log_path
        self.log = open(log_path, "wb") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log is not subprocess.DEVNULL:
            self.log.close()
        return self.proc.returncode

    def output(self):
        if not self.log_path:
            return ""
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class Backend(Process):
    def __init__(self, name, tmpdir, tcp_echo=False, health_file=None):
        self.port = free_port()
        self.name = name
        args = [sys.executable, BACKEND, "--port", str(self.port), "--name", name]
        if tcp_echo:
            args.append("--tcp-echo")
        if health_file:
            args += ["--health-file", health_file]
        super().__init__(args, os.path.join(tmpdir, f"backend-{name}.log"))
        wait_port(self.port, proc=self.proc)

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"


class Tandem(Process):
    """`tandem proxy` on a YAML config written to the test's folder."""

    def __init__(self, yaml_text, tmpdir, ports, name="tandem"):
        self.config = os.path.join(tmpdir, f"{name}.yaml")
        with open(self.config, "w") as f:
            f.write(yaml_text)
        super().__init__([TANDEM, "proxy", "-c", self.config], os.path.join(tmpdir, f"{name}.log"))
        try:
            for p in ports:
                wait_port(p, proc=self.proc)
        except RuntimeError as e:
            raise RuntimeError(f"{e}:\n{self.output()[-3000:]}") from None

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


_leftover = {}  # bytes read past one response, by socket id (pipelined responses)


def _recv_more(sock):
    """More bytes of a message that is not complete yet: a close here is an error (a loop on
    recv() returning b"" would spin until the whole test file times out)."""
    d = sock.recv(65536)
    if not d:
        raise ConnectionError("closed in the middle of a chunked body")
    return d


def recv_response(sock, timeout=5.0):
    """Reads one HTTP/1 response (Content-Length, chunked or until close).
    Returns (status, headers dict lower-cased, body bytes, raw head)."""
    sock.settimeout(timeout)
    buf = _leftover.pop(id(sock), b"")
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            raise ConnectionError(f"closed before a complete head: {buf!r}")
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, v = l.split(":", 1)
        headers.setdefault(k.strip().lower(), v.strip())
    if 100 <= status < 200:
        _leftover[id(sock)] = rest
        return status, headers, b"", head + b"\r\n\r\n"
    body = rest
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(body) < n:
            d = sock.recv(65536)
            if not d:
                break
            body += d
        _leftover[id(sock)] = body[n:]
        body = body[:n]
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        out = b""
        while True:
            while b"\r\n" not in body:
                body += _recv_more(sock)
            line, body = body.split(b"\r\n", 1)
            n = int(line.split(b";")[0], 16)
            if n == 0:
                while not body.startswith(b"\r\n") and b"\r\n\r\n" not in body:
                    body += _recv_more(sock)
                end = 2 if body.startswith(b"\r\n") else body.index(b"\r\n\r\n") + 4
                _leftover[id(sock)] = body[end:]
                break
            while len(body) < n + 2:
                body += _recv_more(sock)
            out += body[:n]
            body = body[n + 2:]
        body = out
    elif status in (204, 304):
        _leftover[id(sock)] = body
        body = b""
    else:
        while True:
            d = sock.recv(65536)
            if not d:
                break
            body += d
    return status, headers, body, head


def http(port, raw, timeout=5.0):
    """Sends raw request bytes on a new connection and reads one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        return recv_response(s, timeout)


def get(port, path="/", headers=None, timeout=5.0):
    h = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return http(port, f"GET {path} HTTP/1.1\r\nHost: test\r\n{h}Connection: close\r\n\r\n".encode(),
                timeout)


def recv_until_close(sock):
    """Everything the peer sends until it closes the connection."""
    out = b""
    while True:
        d = sock.recv(65536)
        if not d:
            return out
        out += d


def closed_by_peer(sock, timeout=3.0):
    """True when the peer closes the connection (EOF or reset) within timeout."""
    sock.settimeout(timeout)
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def admin_command(path, command, timeout=5.0):
    """One command on a runtime API (admin) socket, as `socat stdio unix-connect:PATH` sends
    it; returns the whole answer (the worker closes the connection after it)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(command.encode() + b"\n")
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                return out.decode()
            out += d


def scrape(port):
    """The Prometheus exporter's page at /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def metric(text, name, **labels):
    """The sample `name{labels}` of a Prometheus text page (labels in any order, all of them
    given), or None."""
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if got == labels:
            return float(m.group(3))
    return None


def curl(*args, timeout=60):
    r = subprocess.run(["curl", "-sS", "--max-time", str(timeout), *args], capture_output=True,
                       timeout=timeout + 5)
    return r


class Nginx(Process):
    """Debian's nginx as a fast real backend: answers every request with a fixed 200."""

    def __init__(self, tmpdir, name="nginx", body="hello from nginx", tls_pem=None):
        """With `tls_pem` (certificate and key in one PEM) it answers HTTPS on `tls_port` too."""
        self.port = free_port()
        self.tls_port = free_port() if tls_pem else None
        tls = (f"""
  server {{
    listen 127.0.0.1:{self.tls_port} ssl backlog=4096;
    ssl_certificate {tls_pem};
    ssl_certificate_key {tls_pem};
    location / {{ return 200 "{body}\\n"; }}
  }}""" if tls_pem else "")
        conf = os.path.join(tmpdir, f"{name}.conf")
        with open(conf, "w") as f:
            f.write(f"""
worker_processes 1;
daemon off;
master_process off;
pid {tmpdir}/{name}.pid;
error_log stderr warn;
events {{ worker_connections 16384; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path {tmpdir}/{name}-body;
  proxy_temp_path {tmpdir}/{name}-proxy;
  fastcgi_temp_path {tmpdir}/{name}-fcgi;
  uwsgi_temp_path {tmpdir}/{name}-uwsgi;
  scgi_temp_path {tmpdir}/{name}-scgi;
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    location / {{ return 200 "{body}\\n"; }}
  }}{tls}
}}
""")
        super().__init__(["nginx", "-e", "stderr", "-c", conf], os.path.join(tmpdir, f"{name}.log"))
        wait_port(self.port, proc=self.proc)
        if self.tls_port:
            wait_port(self.tls_port, proc=self.proc)

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"


class Node(Process):
    """`tandem run` (the supervisor) on a YAML config; `status()` and `reload()` use its control
    socket through the real `tandem status` / `tandem reload` commands."""

    def __init__(self, yaml_text, tmpdir, name="node", env=None, wait_ready=True, netns=None,
                 extra_args=()):
        self.tmpdir = tmpdir
        self.config = os.path.join(tmpdir, f"{name}.yaml")
        self.socket = os.path.join(tmpdir, f"{name}.sock")
        self.write_config(yaml_text)
        args = [TANDEM, "run", "-c", self.config, *extra_args]
        if netns:
            args = ["ip", "netns", "exec", netns] + args
        super().__init__(args, os.path.join(tmpdir, f"{name}.log"), env=env)
        if wait_ready:
            self.wait(lambda s: s["proxy"]["ready"], "the proxy worker to be ready")

    def write_config(self, yaml_text):
        # Atomically, as careful tools do: a reload racing the write reads old or new, never
        # a truncated file.
        tmp = self.config + ".tmp"
        with open(tmp, "w") as f:
            f.write(yaml_text)
        os.replace(tmp, self.config)

    def ctl(self, *args, timeout=30):
        return subprocess.run([TANDEM, *args, "-s", self.socket], capture_output=True, text=True,
                              timeout=timeout)

    def status(self):
        r = self.ctl("status", "--json")
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return json.loads(r.stdout)

    def reload(self):
        r = self.ctl("reload", "--json", timeout=120)
        return r.returncode, json.loads(r.stdout) if r.stdout.strip() else {}

    def child_pid(self, name):
        for c in self.status()["children"]:
            if c["name"] == name and c["state"] == "running":
                return c["pid"]
        return None

    def wait(self, predicate, what, timeout=15.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tandem run exited ({self.proc.returncode}):\n{self.output()}")
            try:
                last = self.status()
                if predicate(last):
                    return last
            except (RuntimeError, json.JSONDecodeError, KeyError, IndexError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; last status: {last}\n{self.output()}")

    def wait_output(self, text, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {text!r} in the log:\n{self.output()}")

    def processes(self):
        """PIDs of this supervisor's children (proxy workers old and new, agent)."""
        out = []
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            with open(f"/proc/{self.pid}/task/{tid}/children") as f:
                out += [int(p) for p in f.read().split()]
        return out


# Metric families only `tandem run` exports (the supervisor's and the VRRP agent's): a proxy
# started alone has none of them.
NODE_METRICS = ("keepalived_", "tandem_vrrp_", "tandem_child_", "tandem_config_",
                "tandem_last_reload", "tandem_proxy_live", "tandem_proxy_probe")


def dashboard_queries(node):
    """The Grafana dashboard's queries (examples/grafana): those on the node's families when
    `node`, the proxy's otherwise."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                        "grafana", "tandem-dashboard.json")
    with open(path) as f:
        dashboard = json.load(f)
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    return [e for e in exprs if any(m in e for m in NODE_METRICS) == node]


class PrometheusServer(Process):
    """A real Prometheus scraping `target` (host:port) every second, in `netns` when given
    (queried there with curl, since its port is in that namespace)."""

    def __init__(self, tmpdir, target, netns=None):
        self.netns = netns
        self.web = 9090 if netns else free_port()
        cfg = os.path.join(tmpdir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(f"""global: {{ scrape_interval: 1s }}
scrape_configs:
  - job_name: tandem
    static_configs: [ {{ targets: [ "{target}" ] }} ]
""")
        args = ["prometheus", f"--config.file={cfg}",
                f"--storage.tsdb.path={os.path.join(tmpdir, 'tsdb')}",
                f"--web.listen-address=127.0.0.1:{self.web}"]
        if netns:
            args = ["ip", "netns", "exec", netns] + args
        super().__init__(args, os.path.join(tmpdir, "prometheus.log"))

    def query(self, expr):
        """(status, result) of an instant query; status None while Prometheus starts."""
        url = f"http://127.0.0.1:{self.web}/api/v1/query?query={urllib.parse.quote(expr)}"
        if self.netns:
            r = subprocess.run(["ip", "netns", "exec", self.netns, "curl", "-s", "--max-time",
                                "5", url], capture_output=True, text=True, timeout=10)
            try:
                body = json.loads(r.stdout)
            except json.JSONDecodeError:
                return None, []
            if body.get("status") == "error":
                return "error", body.get("error")
            return body.get("status"), body.get("data", {}).get("result", [])
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            if e.code == 400:  # a bad expression: the answer says why
                return "error", json.load(e).get("error")
            return None, []  # 503 while its storage starts
        except (urllib.error.URLError, ConnectionError):
            return None, []
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

    def check_dashboard(self, test, node):
        """Every dashboard query of the node's (or the proxy's) families answers with series."""
        exprs = dashboard_queries(node)
        test.assertTrue(exprs)
        for expr in exprs:
            e = expr.replace("$instance", ".*").replace("$__rate_interval", "1m")
            status, result = self.wait_for(e, lambda r: bool(r), timeout=15)
            test.assertEqual(status, "success", f"{expr}: {result}")
            test.assertTrue(result, f"no series for {expr}")
