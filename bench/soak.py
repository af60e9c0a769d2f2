#!/usr/bin/env python3
"""`make soak`: one node (`tandem run`) under mixed traffic for a while, with a reload every
10 s and a proxy-worker kill every 60 s (both configurable), on 127.0.0.1 only.

Traffic, each from its own client thread: keep-alive requests, a new connection per request,
HTTPS, websocket echoes, 256 KiB uploads checked by sha256, and 404/503 answers passed through;
one backend's health check flaps DOWN/UP every 15 s. A request fails when its answer is not
the expected one; failures inside a kill window (from the kill until the restarted worker
serves again, plus 1 s) are counted apart — the supervisor holds the sockets, but a request in
flight on the killed worker is lost, as with any proxy.

Reported (stdout and --out, markdown): requests and failures per client, failures outside the
kill windows (target 0), RSS and open fds of the supervisor and of the current worker sampled
every 10 s with their slope (target flat), zombies among the node's processes (target 0).
Exit status 1 when a failure happened outside the kill windows or a zombie was seen."""
import argparse
import base64
import hashlib
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "tools"))
from harness import Backend, Node, free_port, get, make_cert  # noqa


class Clients:
    def __init__(self, args, ports, cafile):
        self.args = args
        self.ports = ports
        self.cafile = cafile
        self.deadline = time.monotonic() + args.seconds
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok = {}
        self.failed = []  # (monotonic time, client, error)
        self.threads = []
        for name in ("keepalive", "fresh", "tls", "websocket", "upload", "errors"):
            t = threading.Thread(target=self.loop, args=(name,), daemon=True)
            self.threads.append(t)

    def start(self):
        for t in self.threads:
            t.start()

    def running(self):
        return not self.stop.is_set() and time.monotonic() < self.deadline

    def record(self, name, error=None):
        with self.lock:
            if error is None:
                self.ok[name] = self.ok.get(name, 0) + 1
            else:
                self.failed.append((time.monotonic(), name, error))

    def loop(self, name):
        conn = None
        count = 0
        while self.running() and count < self.args.max_requests:
            count += 1
            try:
                conn = getattr(self, name)(conn)
                self.record(name)
            except Exception as e:  # noqa: BLE001 - every failure counts
                if conn is not None:
                    conn.close()
                conn = None
                self.record(name, repr(e)[:200])
            time.sleep(0.005)
        if conn is not None:
            conn.close()

    def _get(self, conn, path, want, reused_ok=True):
        for attempt in (0, 1):
            reused = conn is not None
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.ports["http"], timeout=10)
            try:
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # RFC 9112 §9.3.1: a kept-alive connection closed before the answer is retried
                # once, as browsers and HTTP libraries do.
                conn.close()
                conn = None
                if not (reused and reused_ok and attempt == 0):
                    raise
        if r.status != want:
            raise RuntimeError(f"{path}: status {r.status}")
        if r.getheader("connection", "").lower() == "close":
            conn.close()
            conn = None
        return conn, body

    def keepalive(self, conn):
        conn, _ = self._get(conn, "/", 200)
        return conn

    def fresh(self, conn):
        status, _, _, _ = get(self.ports["http"], "/", timeout=10)  # Connection: close
        if status != 200:
            raise RuntimeError(f"fresh: status {status}")
        return None

    def tls(self, conn):
        ctx = ssl.create_default_context(cafile=self.cafile)
        ctx.check_hostname = False  # the certificate names soak.test; the address is loopback
        c = http.client.HTTPSConnection("127.0.0.1", self.ports["https"], timeout=10,
                                        context=ctx)
        c.request("GET", "/")
        r = c.getresponse()
        r.read()
        c.close()
        if r.status != 200:
            raise RuntimeError(f"tls: status {r.status}")
        return None

    def websocket(self, conn):
        with socket.create_connection(("127.0.0.1", self.ports["http"]), timeout=10) as s:
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall(f"GET /ws HTTP/1.1\r\nHost: soak\r\nConnection: Upgrade\r\nUpgrade: "
                      f"websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
                      f"\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                d = s.recv(4096)
                if not d:
                    raise RuntimeError("websocket: closed during the handshake")
                head += d
            if not head.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(f"websocket: {head[:40]!r}")
            rest = head.split(b"\r\n\r\n", 1)[1]
            for _ in range(5):
                msg = os.urandom(100)
                mask = os.urandom(4)
                s.sendall(b"\x82" + bytes([0x80 | len(msg)]) + mask +
                          bytes(c ^ mask[i % 4] for i, c in enumerate(msg)))
                want = 2 + len(msg)
                while len(rest) < want:
                    d = s.recv(4096)
                    if not d:
                        raise RuntimeError("websocket: closed before the echo")
                    rest += d
                if rest[2:want] != msg:
                    raise RuntimeError("websocket: echo differs")
                rest = rest[want:]
            s.sendall(b"\x88\x80" + os.urandom(4))  # close
        return None

    def upload(self, conn):
        body = os.urandom(256 * 1024)
        c = http.client.HTTPConnection("127.0.0.1", self.ports["http"], timeout=20)
        c.request("POST", "/upload", body=body)
        r = c.getresponse()
        data = r.read()
        c.close()
        if r.status != 200 or hashlib.sha256(body).hexdigest().encode() not in data:
            raise RuntimeError(f"upload: status {r.status}")
        return None

    def errors(self, conn):
        conn, _ = self._get(conn, "/status/404", 404)
        conn, _ = self._get(conn, "/status/503", 503)
        return conn


def proc_stats(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        return rss, len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration):
        return None, None


def zombies(root_pid):
    """Zombie processes among root_pid's descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append((int(entry), fields[0]))
        except (OSError, IndexError):
            continue
    found, todo = [], [root_pid]
    while todo:
        for pid, state in children.get(todo.pop(), []):
            if state == "Z":
                found.append(pid)
            todo.append(pid)
    return found


def slope_per_minute(samples):
    """Least-squares slope of (t seconds, value) pairs, per minute; None with < 3 points."""
    pts = [(t, v) for t, v in samples if v is not None]
    if len(pts) < 3:
        return None
    n = len(pts)
    mt = sum(t for t, _ in pts) / n
    mv = sum(v for _, v in pts) / n
    den = sum((t - mt) ** 2 for t, _ in pts)
    return 60 * sum((t - mt) * (v - mv) for t, v in pts) / den if den else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--reload-every", type=float, default=10)
    ap.add_argument("--kill-every", type=float, default=60)
    ap.add_argument("--sample-every", type=float, default=10)
    ap.add_argument("--max-requests", type=int, default=1_000_000, help="per client thread")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="tandem-soak-")
    cleanups = [lambda: shutil.rmtree(tmp, True)]
    try:
        health = {n: os.path.join(tmp, f"{n}.health") for n in ("s1", "s2")}
        backends = []
        for n in ("s1", "s2"):
            with open(health[n], "w") as f:
                f.write("ok")
            b = Backend(n, tmp, health_file=health[n])
            cleanups.append(b.stop)
            backends.append(b)
        pem, crt = make_cert(tmp, "soak", "soak.test", ["soak.test"])
        ports = {"http": free_port(), "https": free_port()}
        servers = "\n".join(f'      - {{ name: {b.name}, address: "{b.address}" }}'
                            for b in backends)
        cfg = f"""
global: {{ threads: 2, hard_stop_after: 5s, log: {{ target: stderr, level: warn }} }}
supervisor:
  control_socket: {tmp}/node.sock
  probe: {{ interval: 200ms, timeout: 500ms }}
defaults:
  timeout: {{ connect: 1s, client: 10s, server: 10s, keep_alive: 5s, tunnel: 10s }}
frontends:
  web:
    bind:
      - "127.0.0.1:{ports['http']}"
      - {{ address: "127.0.0.1:{ports['https']}", crt: {pem} }}
    default_backend: app
backends:
  app:
    check: {{ type: http, uri: /health, inter: 200ms, fall: 2, rise: 2 }}
    servers:
{servers}
"""
        node = Node(cfg, tmp, name="node")
        cleanups.append(node.stop)
        clients = Clients(args, ports, crt)
        started = time.monotonic()
        clients.start()
        samples = {"supervisor rss": [], "supervisor fds": [], "worker rss": [],
                   "worker fds": []}
        kill_windows = []
        zombie_seen = set()
        reloads = reload_failures = kills = 0
        next_reload = started + args.reload_every
        next_kill = started + args.kill_every
        next_sample = started
        next_flap = started + 15
        flapped_down = False
        while time.monotonic() < clients.deadline:
            now = time.monotonic()
            if now >= next_sample:
                t = now - started
                rss, fds = proc_stats(node.pid)
                samples["supervisor rss"].append((t, rss))
                samples["supervisor fds"].append((t, fds))
                try:
                    wpid = node.child_pid("proxy")
                except Exception:  # noqa: BLE001 - restarting
                    wpid = None
                rss, fds = proc_stats(wpid) if wpid else (None, None)
                samples["worker rss"].append((t, rss))
                samples["worker fds"].append((t, fds))
                zombie_seen.update(zombies(node.pid))
                next_sample += args.sample_every
            if now >= next_flap:
                flapped_down = not flapped_down
                with open(health["s2"], "w") as f:
                    f.write("status:503" if flapped_down else "ok")
                next_flap += 15
            if now >= next_reload:
                code, reply = node.reload()
                reloads += 1
                if code != 0 or not reply.get("ok"):
                    reload_failures += 1
                next_reload += args.reload_every
            if now >= next_kill:
                try:
                    pid = node.child_pid("proxy")
                    t0 = time.monotonic()
                    os.kill(pid, signal.SIGKILL)
                    kills += 1
                    node.wait(lambda s, pid=pid: s["proxy"]["ready"] and any(
                        c["name"] == "proxy" and c.get("pid") not in (None, pid)
                        for c in s["children"]), "the restarted worker", timeout=30)
                    kill_windows.append((t0, time.monotonic() + 1.0))
                except Exception as e:  # noqa: BLE001
                    print(f"kill failed: {e}", file=sys.stderr)
                next_kill += args.kill_every
            time.sleep(0.05)
        clients.stop.set()
        for t in clients.threads:
            t.join(30)
        elapsed = time.monotonic() - started
        zombie_seen.update(zombies(node.pid))

        in_kill = [f for f in clients.failed if any(a <= f[0] <= b for a, b in kill_windows)]
        outside = [f for f in clients.failed if f not in in_kill]
        lines = [f"# Soak: {elapsed:.0f} s, reload every {args.reload_every:.0f} s "
                 f"({reloads} reloads, {reload_failures} failed), worker kill every "
                 f"{args.kill_every:.0f} s ({kills} kills)", "",
                 "| client | ok | failed outside kill windows | failed inside |",
                 "|---|---|---|---|"]
        for name in ("keepalive", "fresh", "tls", "websocket", "upload", "errors"):
            lines.append(f"| {name} | {clients.ok.get(name, 0)} | "
                         f"{sum(1 for f in outside if f[1] == name)} | "
                         f"{sum(1 for f in in_kill if f[1] == name)} |")
        lines += ["", "| sampled every %.0f s | first | last | slope per minute |" %
                  args.sample_every, "|---|---|---|---|"]
        for key, pts in samples.items():
            vals = [v for _, v in pts if v is not None]
            # The first sample is the warm-up (buffers, pools); the slope is over the rest.
            s = slope_per_minute(pts[1:])
            unit = " KiB" if "rss" in key else ""
            lines.append(f"| {key} | {vals[0] if vals else '-'}{unit} | "
                         f"{vals[-1] if vals else '-'}{unit} | "
                         f"{'-' if s is None else f'{s:+.1f}{unit}'} |")
        lines += ["", f"zombies among the node's processes: {len(zombie_seen)}",
                  f"failures outside the kill windows: {len(outside)} (target 0)"]
        for f in outside[:20]:
            lines.append(f"- {f[0] - started:.1f} s {f[1]}: {f[2]}")
        report = "\n".join(lines) + "\n"
        print(report)
        if args.out:
            with open(args.out, "w") as f:
                f.write(report)
        return 1 if outside or zombie_seen or reload_failures else 0
    finally:
        for c in reversed(cleanups):
            try:
                c()
            except Exception:  # noqa: BLE001 - cleanup goes on
                pass


if __name__ == "__main__":
    sys.exit(main())
