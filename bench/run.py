#!/usr/bin/env python3
"""Tandem vs HAProxy, side by side in one run (`make bench`).

Both proxies run at once in front of the same nginx backend; each scenario alternates
A B A B ... over --rounds rounds and reports medians. On 2 shared cores requests/s is noisy, so
the headline is proxy CPU time per request: utime+stime of the proxy process (from /proc) over
requests served. The proxy is pinned to core 0, wrk and nginx to core 1 (2-thread scenarios let
everything use both cores). Everything runs on 127.0.0.1; every load is bounded in time.
"""
import argparse
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tools"))
from harness import Nginx, Process, free_port, make_cert, wait_port  # noqa

TICK = os.sysconf("SC_CLK_TCK")


def cpu_split(pid):
    """(user, system) CPU seconds of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def parse_latency(text):
    out = {}
    for pct, val, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        mult = {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
        out[pct] = float(val) * mult
    return out


def wrk(port, conns, seconds, cpus, close=False, scheme="http"):
    args = ["taskset", "-c", cpus, "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency",
            "--timeout", "5s"]
    if close:
        args += ["-H", "Connection: close"]
    args.append(f"{scheme}://127.0.0.1:{port}/")
    r = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 30)
    m = re.search(r"(\d+) requests in ([\d.]+)s", r.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    sock_err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                         r.stdout)
    lat = parse_latency(r.stdout)
    return {
        "requests": int(m.group(1)) if m else 0,
        "seconds": float(m.group(2)) if m else seconds,
        "p50": lat.get("50", 0.0), "p99": lat.get("99", 0.0),
        "errors": (int(errors.group(1)) if errors else 0) +
                  (sum(int(x) for x in sock_err.groups()) if sock_err else 0),
    }


def h2load(port, conns, streams, seconds, cpus, tls):
    """HTTP/2 load: `conns` connections with `streams` concurrent streams each (h2load from
    Debian's nghttp2-client), TLS with ALPN h2 or cleartext with prior knowledge."""
    scheme = "https" if tls else "http"
    args = ["taskset", "-c", cpus, "h2load", "-t1", f"-c{conns}", f"-m{streams}",
            f"-D{seconds}", "-T5", f"{scheme}://127.0.0.1:{port}/"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 30)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                     r"(\d+) errored, (\d+) timeout", r.stdout)
    took = re.search(r"finished in ([\d.]+)s", r.stdout)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", r.stdout)
    # h2load gives no percentiles: mean and max time per request stand in for p50 and p99.
    lat = re.search(r"time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)",
                    r.stdout)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "requests": int(done.group(2)) if done else 0,
        "seconds": float(took.group(1)) if took else seconds,
        "p50": float(lat.group(5)) * scale[lat.group(6)] if lat else 0.0,
        "p99": float(lat.group(3)) * scale[lat.group(4)] if lat else 0.0,
        "errors": (sum(int(done.group(i)) for i in (3, 4, 5)) if done else 1) +
                  (sum(int(codes.group(i)) for i in (3, 4)) if codes else 0),
    }


# The proxy in the first column: HAProxy, or with --baseline another Tandem build (an A/B of
# two commits in the same rounds).
FIRST = {"label": "HAProxy", "baseline": None, "older": False}

# --count: both proxies run under callgrind, and a scenario's figure is the instructions each
# executed per request (user space, its libraries included) and its read/write system calls per
# request. Unlike CPU time these repeat from run to run on a busy shared machine, so an A/B of
# two builds can resolve a few per cent.
COUNT = {"on": False, "dir": None}


def count_prefix(who):
    if not COUNT["on"]:
        return []
    # BENCH_CALLGRIND_OPTIONS: e.g. "--cache-sim=yes --branch-sim=yes" for simulated cache
    # misses and mispredicted branches in the kept dumps (--keep).
    return ["valgrind", "--tool=callgrind", "--dump-instr=no", "--compress-strings=no",
            *os.environ.get("BENCH_CALLGRIND_OPTIONS", "").split(),
            f"--callgrind-out-file={COUNT['dir']}/callgrind-{who}.%p"]


def callgrind(pid, command):
    """Zero (-z) or dump (-d) a callgrind-run process's counters; a dump returns the
    instructions since the last zero."""
    before = set(os.listdir(COUNT["dir"]))
    subprocess.run(["callgrind_control", command, str(pid)], capture_output=True, timeout=60,
                   check=True)
    if command != "-d":
        return 0
    for _ in range(100):
        new = [f for f in set(os.listdir(COUNT["dir"])) - before if f".{pid}." in f]
        if new:
            with open(os.path.join(COUNT["dir"], new[0])) as f:
                m = re.search(r"^summary: (\d+)", f.read(), re.M)
            if m:
                return int(m.group(1))
        time.sleep(0.1)
    raise RuntimeError(f"callgrind wrote no dump for {pid}")


def io_syscalls(pid):
    """read- and write-like system calls the process has made (/proc/PID/io)."""
    with open(f"/proc/{pid}/io") as f:
        fields = dict(line.split(": ") for line in f.read().splitlines())
    return int(fields["syscr"]) + int(fields["syscw"])


class Proxies:
    """HAProxy (or the baseline Tandem) and Tandem with equivalent configs, HTTP and TCP
    frontends."""

    def __init__(self, tmp, backend, threads, cpus, tandem, tls_backend):
        self.ports = {who: {"http": free_port(), "tcp": free_port(), "https": free_port(),
                            "http_log": free_port(), "h2": free_port(), "h2c": free_port(),
                            "to_tls": free_port()}
                      for who in ("haproxy", "tandem")}
        pem, _ = make_cert(tmp, "bench", "bench.test")
        hp, tp = self.ports["haproxy"], self.ports["tandem"]
        hcfg = os.path.join(tmp, f"haproxy-{threads}.cfg")
        with open(hcfg, "w") as f:
            f.write(f"""global
  nbthread {threads}
  maxconn 9500
defaults
  timeout connect 5s
  timeout client 50s
  timeout server 50s
frontend fh
  mode http
  bind 127.0.0.1:{hp['http']}
  bind 127.0.0.1:{hp['https']} ssl crt {pem} alpn http/1.1
  bind 127.0.0.1:{hp['h2']} ssl crt {pem} alpn h2,http/1.1
  bind 127.0.0.1:{hp['h2c']} proto h2
  default_backend bh
backend bh
  mode http
  server s1 {backend}
frontend fl
  mode http
  bind 127.0.0.1:{hp['http_log']}
  option httplog
  log stderr format raw local0
  default_backend bh
frontend fs
  mode http
  bind 127.0.0.1:{hp['to_tls']}
  default_backend bs
backend bs
  mode http
  server s1 {tls_backend} ssl verify none
frontend ft
  mode tcp
  bind 127.0.0.1:{hp['tcp']}
  default_backend bt
backend bt
  mode tcp
  server s1 {backend}
""")

        def tandem_config(path, tp, older=False):
            with open(path, "w") as f:
                if older:  # a build from before access logs, HTTP/2 and TLS to servers
                    f.write(f"""global: {{ threads: {threads}, maxconn: 9500 }}
defaults: {{ timeout: {{ connect: 5s, client: 50s, server: 50s }} }}
frontends:
  fh:
    bind: [ "127.0.0.1:{tp['http']}", {{ address: "127.0.0.1:{tp['https']}", crt: {pem} }} ]
    default_backend: bh
listens:
  lt:
    mode: tcp
    bind: "127.0.0.1:{tp['tcp']}"
    servers: [ {{ name: s1, address: "{backend}" }} ]
backends:
  bh: {{ servers: [ {{ name: s1, address: "{backend}" }} ] }}
""")
                    return
                f.write(f"""global: {{ threads: {threads}, maxconn: 9500, log: {{ target: stderr, level: warning }} }}
defaults: {{ timeout: {{ connect: 5s, client: 50s, server: 50s }} }}
frontends:
  fh:
    bind: [ "127.0.0.1:{tp['http']}", {{ address: "127.0.0.1:{tp['https']}", crt: {pem} }},
            {{ address: "127.0.0.1:{tp['h2']}", crt: {pem}, alpn: [ h2, http/1.1 ] }},
            {{ address: "127.0.0.1:{tp['h2c']}", proto: h2 }} ]
    default_backend: bh
  fs:
    bind: "127.0.0.1:{tp['to_tls']}"
    default_backend: bs
  fl:
    bind: "127.0.0.1:{tp['http_log']}"
    default_backend: bh
    log: {{ httplog: true }}
listens:
  lt:
    mode: tcp
    bind: "127.0.0.1:{tp['tcp']}"
    servers: [ {{ name: s1, address: "{backend}" }} ]
backends:
  bh: {{ servers: [ {{ name: s1, address: "{backend}" }} ] }}
  bs: {{ servers: [ {{ name: s1, address: "{tls_backend}", ssl: true, verify: none }} ] }}
""")
        tcfg = os.path.join(tmp, f"tandem-{threads}.yaml")
        tandem_config(tcfg, tp)
        first = count_prefix("haproxy") + ["haproxy", "-f", hcfg]
        if FIRST["baseline"]:
            bcfg = os.path.join(tmp, f"baseline-{threads}.yaml")
            tandem_config(bcfg, hp, FIRST["older"])
            if FIRST["older"]:
                self.ports["haproxy"] = {k: v for k, v in hp.items() if k in ("http", "https", "tcp")}
            first = count_prefix("baseline") + [FIRST["baseline"], "proxy", "-c", bcfg]
        self.procs = {
            "haproxy": Process(["taskset", "-c", cpus] + first,
                               os.path.join(tmp, f"haproxy-{threads}.log")),
            "tandem": Process(["taskset", "-c", cpus] + count_prefix("tandem") +
                              [tandem, "proxy", "-c", tcfg],
                              os.path.join(tmp, f"tandem-{threads}.log")),
        }
        for name, p in self.procs.items():
            for port in self.ports[name].values():
                wait_port(port, proc=p.proc, timeout=60 if COUNT["on"] else 10)

    def stop(self):
        for p in self.procs.values():
            p.stop()


def run_scenario(proxies, name, kind, conns, close, rounds, seconds, wrk_cpus):
    scheme = "https" if kind == "https" else "http"
    results = {"haproxy": [], "tandem": []}
    for r in range(rounds):
        # A B, then B A: whatever favours going first or second cancels out over the rounds.
        for who in (("haproxy", "tandem") if r % 2 == 0 else ("tandem", "haproxy")):
            pid = proxies.procs[who].pid
            if COUNT["on"]:
                callgrind(pid, "-z")
                io0 = io_syscalls(pid)
            u0, s0 = cpu_split(pid)
            if kind in ("h2", "h2c"):  # conns × close: connections × streams each
                w = h2load(proxies.ports[who][kind], conns, close, seconds, wrk_cpus, kind == "h2")
            else:
                w = wrk(proxies.ports[who][kind], conns, seconds, wrk_cpus, close, scheme)
            u1, s1 = cpu_split(pid)
            n = max(1, w["requests"])
            w["cpu_us_per_req"] = ((u1 - u0) + (s1 - s0)) * 1e6 / n
            if COUNT["on"]:
                w["instr_per_req"] = callgrind(pid, "-d") / n
                w["syscalls_per_req"] = (io_syscalls(pid) - io0) / n
            w["user_us_per_req"] = (u1 - u0) * 1e6 / n
            w["rps"] = w["requests"] / w["seconds"]
            w["rss_peak_kib"] = status_kib(pid, "VmHWM")
            results[who].append(w)
            time.sleep(0.5)
    row = {"scenario": name}
    if COUNT["on"]:
        for who in ("haproxy", "tandem"):
            rs = results[who]
            row[who] = {k: statistics.median(x[k] for x in rs)
                        for k in ("instr_per_req", "syscalls_per_req", "requests")}
            row[who]["runs"] = [round(x["instr_per_req"]) for x in rs]
            row[who]["errors"] = sum(x["errors"] for x in rs)
        return row
    for who in ("haproxy", "tandem"):
        rs = results[who]
        row[who] = {k: statistics.median(x[k] for x in rs)
                    for k in ("cpu_us_per_req", "user_us_per_req", "rps", "p50", "p99")}
        row[who]["rss_peak_kib"] = max(x["rss_peak_kib"] for x in rs)
        row[who]["errors"] = sum(x["errors"] for x in rs)
        row[who]["runs"] = [round(x["cpu_us_per_req"], 2) for x in rs]
    # Each round runs both back to back (which one first alternates), so the ratio within a
    # round is paired: slow drifts of the shared machine hit both sides of it alike.
    row["round_ratios"] = [t["cpu_us_per_req"] / h["cpu_us_per_req"]
                           for h, t in zip(results["haproxy"], results["tandem"])]
    return row


def idle_memory(proxies, count):
    """KiB of proxy RSS per idle client connection, with `count` connections held open, each
    after one request (a keep-alive connection waiting for its next request)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    out = {}
    for who in ("haproxy", "tandem"):
        pid = proxies.procs[who].pid
        before = status_kib(pid, "VmRSS")
        socks = []
        try:
            for _ in range(count):
                s = socket.socket()
                s.connect(("127.0.0.1", proxies.ports[who]["http"]))
                s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
                got = b""
                while not got.endswith(b"nginx\n"):
                    got += s.recv(4096)
                socks.append(s)
            time.sleep(1.0)
            after = status_kib(pid, "VmRSS")
        finally:
            for s in socks:
                s.close()
        out[who] = (after - before) / count
        time.sleep(1.0)
    return out


def health_overhead(tmp, backend, tandem, rounds, seconds, servers=1000):
    """Tandem serving keep-alive traffic, with and without `servers` extra servers checked every
    second (TCP checks against the same nginx), alternating; returns medians and ratios."""
    procs = {}
    ports = {}
    for name, extra in (("plain", 0), ("checks", servers)):
        ports[name] = free_port()
        lines = [f"global: {{ threads: 1, log: {{ target: stderr, level: warning }} }}",
                 "frontends:",
                 f"  f: {{ bind: \"127.0.0.1:{ports[name]}\", default_backend: b }}",
                 "backends:",
                 f"  b: {{ servers: [ {{ name: s1, address: \"{backend}\" }} ] }}"]
        if extra:
            lines.append("  checked:")
            lines.append("    check: { type: tcp, inter: 1s, fall: 3, rise: 2 }")
            lines.append("    servers:")
            for i in range(extra):
                lines.append(f"      - {{ name: c{i}, address: \"{backend}\" }}")
        cfg = os.path.join(tmp, f"tandem-health-{name}.yaml")
        with open(cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        procs[name] = Process(["taskset", "-c", "0", tandem, "proxy", "-c", cfg],
                              os.path.join(tmp, f"tandem-health-{name}.log"))
        wait_port(ports[name], proc=procs[name].proc)
    try:
        time.sleep(2)  # let the first round of checks spread out
        res = {"plain": [], "checks": []}
        for _ in range(rounds):
            for name in ("plain", "checks"):
                u0, s0 = cpu_split(procs[name].pid)
                w = wrk(ports[name], 50, seconds, "1")
                u1, s1 = cpu_split(procs[name].pid)
                res[name].append({"rps": w["requests"] / w["seconds"],
                                  "cpu": ((u1 - u0) + (s1 - s0)) * 1e6 / max(1, w["requests"])})
                time.sleep(0.5)
        out = {n: {k: statistics.median(x[k] for x in v) for k in ("rps", "cpu")}
               for n, v in res.items()}
        out["servers"] = servers
        return out
    finally:
        for p in procs.values():
            p.stop()


def fmt_count_table(rows, note):
    lines = [f"| scenario | instructions/req {FIRST['label']} | instructions/req Tandem | ratio "
             f"| runs T | read+write syscalls/req {FIRST['label']} / Tandem | requests H / T | errors H/T |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        h, t = r["haproxy"], r["tandem"]
        lines.append(
            f"| {r['scenario']} | {h['instr_per_req']:.0f} | {t['instr_per_req']:.0f} | "
            f"**{t['instr_per_req'] / h['instr_per_req']:.3f}** | {t['runs']} | "
            f"{h['syscalls_per_req']:.2f} / {t['syscalls_per_req']:.2f} | "
            f"{h['requests']:.0f} / {t['requests']:.0f} | {h['errors']}/{t['errors']} |")
    lines.append("")
    lines.append(note)
    return "\n".join(lines)


def fmt_table(rows, idle, threads_note):
    lines = [f"| scenario | CPU/req {FIRST['label']} | CPU/req Tandem | ratio | ratio per round (min–max) | user CPU/req H / T (ratio) "
             "| req/s H | req/s T | p50 H | p50 T | p99 H | p99 T | p99 ratio | peak RSS H | peak RSS T "
             "| errors H/T |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        h, t = r["haproxy"], r["tandem"]
        lines.append(
            f"| {r['scenario']} | {h['cpu_us_per_req']:.2f} µs | {t['cpu_us_per_req']:.2f} µs | "
            f"**{t['cpu_us_per_req'] / h['cpu_us_per_req']:.2f}** | "
            f"{min(r['round_ratios']):.2f}–{max(r['round_ratios']):.2f} | "
            f"{h['user_us_per_req']:.2f} / {t['user_us_per_req']:.2f} µs "
            f"({t['user_us_per_req'] / max(h['user_us_per_req'], 1e-9):.2f}) | "
            f"{h['rps']:.0f} | {t['rps']:.0f} | "
            f"{h['p50']:.2f} ms | {t['p50']:.2f} ms | {h['p99']:.2f} ms | {t['p99']:.2f} ms | "
            f"**{t['p99'] / h['p99'] if h['p99'] else 0:.2f}** | {h['rss_peak_kib'] / 1024:.1f} MiB | "
            f"{t['rss_peak_kib'] / 1024:.1f} MiB | {h['errors']}/{t['errors']} |")
    if idle:
        lines.append("")
        lines.append(f"Memory per idle client connection ({idle['count']} held open): {FIRST['label']} "
                     f"{idle['haproxy']:.2f} KiB, Tandem {idle['tandem']:.2f} KiB, ratio "
                     f"**{idle['tandem'] / idle['haproxy']:.2f}**")
    lines.append("")
    lines.append(threads_note)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tandem", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "..", "build", "tandem"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--idle", type=int, default=9000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--baseline", default=None,
                    help="another tandem binary in HAProxy's place: an A/B of two builds "
                         "(ratio = this build / the baseline)")
    ap.add_argument("--only", action="append", default=[],
                    help="run only the scenarios whose name contains this text (repeatable); "
                         "skips idle memory and health checks")
    ap.add_argument("--count", action="store_true",
                    help="run both proxies under callgrind and report instructions and read/write "
                         "system calls per request (repeatable figures for an A/B on a busy "
                         "machine); skips idle memory, 2-thread scenarios and health checks")
    ap.add_argument("--older-baseline", action="store_true",
                    help="the baseline predates access logs, HTTP/2 and TLS to servers: it gets "
                         "only the plain, TLS and TCP frontends (run with --only on those)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the scratch folder (logs, configs, callgrind dumps) and print its name")
    a = ap.parse_args()
    if a.baseline:
        FIRST.update(label="baseline", baseline=os.path.abspath(a.baseline),
                     older=a.older_baseline)
    wanted = lambda name: not a.only or any(o in name for o in a.only)  # noqa: E731
    if a.only or a.count:
        a.idle = 0
    tmp = tempfile.mkdtemp(prefix="tandem-bench-")
    if a.count:
        COUNT.update(on=True, dir=tmp)
    procs = []
    try:
        nginx_pem, _ = make_cert(tmp, "nginx", "backend.test")
        nginx = Nginx(tmp, tls_pem=nginx_pem)
        tls_backend = f"127.0.0.1:{nginx.tls_port}"
        procs.append(nginx)
        subprocess.run(["taskset", "-pc", "1", str(nginx.pid)], capture_output=True)
        rows = []
        # Idle memory first, on fresh processes, so neither proxy reuses memory its pools kept
        # from the load scenarios.
        fresh = Proxies(tmp, nginx.address, 1, "0", a.tandem, tls_backend)
        procs.append(fresh)
        idle = idle_memory(fresh, a.idle) if a.idle else None
        if idle:
            idle["count"] = a.idle
        fresh.stop()
        procs.remove(fresh)
        one = Proxies(tmp, nginx.address, 1, "0", a.tandem, tls_backend)
        procs.append(one)
        for name, kind, conns, close in (("keep-alive, 50 conns, 1 thread", "http", 50, False),
                                         ("keep-alive, 500 conns, 1 thread", "http", 500, False),
                                         ("close per request, 50 conns, 1 thread", "http", 50, True),
                                         ("TCP mode, 50 conns, 1 thread", "tcp", 50, False),
                                         ("keep-alive with access log, 50 conns, 1 thread",
                                          "http_log", 50, False),
                                         ("TLS keep-alive, 50 conns, 1 thread", "https", 50, False),
                                         ("TLS handshake per request, 50 conns, 1 thread", "https",
                                          50, True),
                                         ("TLS to the server, keep-alive, 50 conns, 1 thread",
                                          "to_tls", 50, False),
                                         # h2load: 10 connections × 10 streams each.
                                         ("h2 over TLS, 100 streams on 10 conns, 1 thread", "h2",
                                          10, 10),
                                         ("h2c prior knowledge, 100 streams on 10 conns, 1 thread",
                                          "h2c", 10, 10)):
            if not wanted(name) or kind not in one.ports["haproxy"]:
                continue
            rows.append(run_scenario(one, name, kind, conns, close, a.rounds, a.seconds, "1"))
            print(f"done: {name}: H {rows[-1]['haproxy']['runs']} T {rows[-1]['tandem']['runs']}", file=sys.stderr)
        one.stop()
        procs.remove(one)
        if a.count:
            note = (f"Instructions (callgrind) and read/write system calls (/proc/PID/io) per request, "
                    f"median of {a.rounds} rounds of {a.seconds} s, both proxies under valgrind; "
                    f"ratio = Tandem/{FIRST['label']} (lower is better).")
            table = fmt_count_table(rows, note)
            print(table)
            if a.out:
                with open(a.out, "w") as f:
                    f.write(table + "\n")
            return
        two = Proxies(tmp, nginx.address, 2, "0-1", a.tandem, tls_backend)
        procs.append(two)
        subprocess.run(["taskset", "-pc", "0-1", str(nginx.pid)], capture_output=True)
        for name, kind, conns, close in (("keep-alive, 50 conns, 2 threads", "http", 50, False),
                                         ("close per request, 50 conns, 2 threads", "http", 50, True)):
            if not wanted(name):
                continue
            rows.append(run_scenario(two, name, kind, conns, close, a.rounds, a.seconds, "0-1"))
            print(f"done: {name}: H {rows[-1]['haproxy']['runs']} T {rows[-1]['tandem']['runs']}", file=sys.stderr)
        two.stop()
        procs.remove(two)
        hc = health_overhead(tmp, nginx.address, a.tandem, a.rounds, a.seconds) if not a.only else None
        print("done: health-check overhead", file=sys.stderr)
        first = (f"the baseline {FIRST['baseline']}" if FIRST["baseline"] else
                 f"HAProxy {subprocess.run(['haproxy', '-v'], capture_output=True, text=True).stdout.split()[2]}")
        note = (f"Medians of {a.rounds} alternating rounds of {a.seconds} s; ratio = Tandem/{FIRST['label']} "
                f"(lower is better). First column: {first}, "
                f"nginx backend, wrk -t1 on 127.0.0.1. 1-thread scenarios: proxy on core 0, wrk+nginx on "
                f"core 1; 2-thread scenarios share both cores.")
        table = fmt_table(rows, idle, note)
        if hc:
            table += (f"\n\nHealth checks: Tandem with {hc['servers']} extra servers checked every second "
                  f"(TCP) vs without, keep-alive 50 conns, 1 thread: req/s {hc['checks']['rps']:.0f} vs "
                  f"{hc['plain']['rps']:.0f} (ratio **{hc['checks']['rps'] / hc['plain']['rps']:.3f}**), "
                  f"CPU/req {hc['checks']['cpu']:.2f} vs {hc['plain']['cpu']:.2f} µs "
                  f"(ratio **{hc['checks']['cpu'] / hc['plain']['cpu']:.3f}**)")
        print(table)
        if a.out:
            with open(a.out, "w") as f:
                f.write(table + "\n")
    finally:
        for p in reversed(procs):
            p.stop()
        if a.keep:
            print(f"kept: {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, True)


if __name__ == "__main__":
    main()
