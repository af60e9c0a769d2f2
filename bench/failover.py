#!/usr/bin/env python3
"""VRRP failover, Tandem next to keepalived in the same namespace topology (`make bench`).

Two nodes (A priority 150, B priority 100) and a client on one bridge, 198.18.0.0/15 only.
Each node runs a tiny TCP responder that answers with its name; the client asks the VIP every
10 ms without waiting for earlier probes (each has 200 ms to answer). For each pair (Tandem+Tandem, keepalived+keepalived), VRRP version
(v2 at 1 s, v3 at 100 ms) and event (master stopped gracefully, master's agent SIGKILLed) we
report the time from the event to the first answer from B, and the probes that failed.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tools"))
from harness import Process  # noqa
from netns import Lab  # noqa

VIP = "198.18.0.100"
PORT = 7000
RESPONDER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", %d)); s.listen(128)
name = sys.argv[1].encode()
while True:
    c, _ = s.accept()
    try: c.sendall(name)
    finally: c.close()
""" % PORT


def tandem_cfg(tmp, node, prio, version):
    timing = ("      version: 3\n      advert_int: 100ms\n" if version == 3 else
              "      version: 2\n      advert_int: 1s\n")
    return f"""global: {{ log: {{ target: stderr, level: info }} }}
vrrp:
  control_socket: {tmp}/ctl-{node}.sock
  state_dir: {tmp}/state-{node}
  instances:
    VI_1:
      interface: eth0
      virtual_router_id: 51
      priority: {prio}
{timing}      virtual_ipaddress: [{VIP}/24]
"""


def keepalived_cfg(prio, version):
    return f"""global_defs {{
  vrrp_version {version}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {prio}
    advert_int {"0.1" if version == 3 else "1"}
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"""


class Prober(threading.Thread):
    """Asks the VIP every 10 ms from the client namespace without waiting for earlier probes
    (each has 200 ms to answer), so a probe stuck on the old master does not delay the next."""

    def __init__(self, lab):
        super().__init__(daemon=True)
        self.lab = lab
        self.samples = []  # (sent, answered or None, answer or None)
        self.stopped = False

    def run(self):
        code = r"""
import selectors, socket, sys, time
sel = selectors.DefaultSelector()
end = time.monotonic() + float(sys.argv[1])
next_probe = time.monotonic()
pending = {}
def finish(s, answer):
    sent = pending.pop(s)
    sel.unregister(s)
    s.close()
    print(f"{sent[0]:.4f} {time.time():.4f} {answer}" if answer else f"{sent[0]:.4f} - -", flush=True)
while time.monotonic() < end:
    now = time.monotonic()
    if now >= next_probe:
        next_probe += 0.01
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("%s", %d))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            print(f"{time.time():.4f} - -", flush=True)
            continue
        pending[s] = (time.time(), now)
        sel.register(s, selectors.EVENT_READ)
    for key, _ in sel.select(timeout=max(0, next_probe - time.monotonic())):
        s = key.fileobj
        try:
            data = s.recv(16)
        except OSError:
            data = b""
        finish(s, data.decode() if data else None)
    for s, (sent, t0) in list(pending.items()):
        if time.monotonic() - t0 > 0.2:
            finish(s, None)
""" % (VIP, PORT)
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.lab.ns("C"), sys.executable, "-c",
                                      code, "30"], stdout=subprocess.PIPE, text=True)
        for line in self.proc.stdout:
            sent, answered, name = line.split()
            self.samples.append((float(sent), None if answered == "-" else float(answered),
                                 None if name == "-" else name))
            if self.stopped:
                break

    def stop(self):
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait()


def run_case(impl, version, event, tmp):
    lab = Lab()
    try:
        for n, ip in (("A", "198.18.0.1"), ("B", "198.18.0.2"), ("C", "198.18.0.10")):
            lab.add_host(n, ip)
        agents = {}
        for node, prio in (("A", 150), ("B", 100)):
            lab.procs.append(Process(["ip", "netns", "exec", lab.ns(node), sys.executable, "-c",
                                      RESPONDER, node], os.path.join(tmp, f"resp-{node}.log")))
            if impl == "tandem":
                path = os.path.join(tmp, f"{node}.yaml")
                with open(path, "w") as f:
                    f.write(tandem_cfg(tmp, node, prio, version))
                args = [os.environ.get("TANDEM_BINARY", "build/tandem"), "vrrp", "-c", path]
            else:
                path = os.path.join(tmp, f"{node}.conf")
                with open(path, "w") as f:
                    f.write(keepalived_cfg(prio, version))
                args = ["keepalived", "-n", "-l", "-P", "-G", "-f", path,
                        "-p", os.path.join(tmp, f"{node}.pid"), "-r", os.path.join(tmp, f"{node}-vrrp.pid")]
            p = Process(["ip", "netns", "exec", lab.ns(node), *args], os.path.join(tmp, f"{impl}-{node}.log"))
            lab.procs.append(p)
            agents[node] = p
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not lab.has_address("A", VIP):
            time.sleep(0.02)
        time.sleep(1.5 if version == 3 else 4)  # settled: A master, B backup
        prober = Prober(lab)
        prober.start()
        time.sleep(1.0)
        t_event = time.time()
        if event == "graceful":
            agents["A"].proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(agents["A"].pid, signal.SIGKILL)  # the agent and all its children
        time.sleep(6 if version == 2 else 2)
        prober.stop()
        answered_b = [ans for sent, ans, name in prober.samples if name == "B" and ans >= t_event]
        first_b = min(answered_b) if answered_b else None
        failed = sum(1 for sent, ans, name in prober.samples
                     if name is None and sent >= t_event and (first_b is None or sent <= first_b))
        total = len(prober.samples)
        return {"takeover_ms": (first_b - t_event) * 1000 if first_b else None,
                "failed": failed, "probes": total}
    finally:
        lab.close()


def bound_ms(version, event, prio=100):
    adv = 100 if version == 3 else 1000
    skew = (256 - prio) * adv / 256 if version == 3 else (256 - prio) * 1000 / 256
    return skew if event == "graceful" else 3 * adv + skew


def median_run(runs):
    times = sorted(r["takeover_ms"] for r in runs if r["takeover_ms"] is not None)
    return {"takeover_ms": times[len(times) // 2] if times else None,
            "failed": sorted(r["failed"] for r in runs)[len(runs) // 2],
            "all": [round(r["takeover_ms"]) if r["takeover_ms"] else None for r in runs]}


def main():
    rounds = int(os.environ.get("FAILOVER_ROUNDS", "3"))
    tmp = tempfile.mkdtemp(prefix="tandem-failover-")
    rows = []
    try:
        for version in (2, 3):
            for event in ("graceful", "sigkill"):
                runs = {"keepalived": [], "tandem": []}
                for _ in range(rounds):  # alternating, so drift hits both alike
                    for impl in ("keepalived", "tandem"):
                        runs[impl].append(run_case(impl, version, event, tmp))
                        print(f"done: {impl} v{version} {event}: {runs[impl][-1]}", file=sys.stderr)
                rows.append((version, event, {k: median_run(v) for k, v in runs.items()}))
    finally:
        shutil.rmtree(tmp, True)
    lines = [f"Medians of {rounds} alternating runs per case (all runs in brackets).", "",
             "| VRRP | event | RFC bound | keepalived | Tandem | ratio | failed probes K / T |",
             "|---|---|---|---|---|---|---|"]
    for version, event, res in rows:
        k, t = res["keepalived"], res["tandem"]
        fmt = lambda r: (f"{r['takeover_ms']:.0f} ms {r['all']}" if r["takeover_ms"] is not None
                         else "never")
        ratio = (f"**{t['takeover_ms'] / k['takeover_ms']:.2f}**"
                 if t["takeover_ms"] and k["takeover_ms"] else "-")
        lines.append(f"| v{version} {'1 s' if version == 2 else '100 ms'} | "
                     f"{'master stopped' if event == 'graceful' else 'master agent SIGKILLed'} | "
                     f"{bound_ms(version, event):.0f} ms | {fmt(k)} | {fmt(t)} | {ratio} | "
                     f"{k['failed']} / {t['failed']} |")
    table = "\n".join(lines)
    print(table)
    out = os.environ.get("FAILOVER_OUT")
    if out:
        with open(out, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
