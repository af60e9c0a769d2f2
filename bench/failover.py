#!/usr/bin/env python3
"""VRRP failover, Tandem next to keepalived in the same namespace topology (`make bench`).

Two nodes (A priority 150, B priority 100) and a client on one bridge, 198.18.0.0/15 only.
Each node runs a tiny TCP responder that answers with its name; the client asks the VIP every
10 ms (50 ms timeout). For each pair (Tandem+Tandem, keepalived+keepalived), VRRP version
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
    def __init__(self, lab):
        super().__init__(daemon=True)
        self.lab = lab
        self.samples = []  # (time, answer or None)
        self.stopped = False

    def run(self):
        # The probing client runs inside the client namespace as a child process that prints
        # one line per probe; bounded by time.
        code = r"""
import socket, time, sys
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    t = time.monotonic()
    try:
        s = socket.create_connection(("%s", %d), timeout=0.05)
        s.settimeout(0.05)
        a = s.recv(16).decode() or "-"
        s.close()
    except OSError:
        a = "-"
    print(f"{time.time():.4f} {a}", flush=True)
    time.sleep(max(0, 0.01 - (time.monotonic() - t)))
""" % (VIP, PORT)
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.lab.ns("C"), sys.executable, "-c",
                                      code, "30"], stdout=subprocess.PIPE, text=True)
        for line in self.proc.stdout:
            t, a = line.split()
            self.samples.append((float(t), None if a == "-" else a))
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
        after = [(t, a) for t, a in prober.samples if t >= t_event]
        first_b = next((t for t, a in after if a == "B"), None)
        failed = sum(1 for t, a in after if a is None and (first_b is None or t <= first_b))
        total = len(prober.samples)
        return {"takeover_ms": (first_b - t_event) * 1000 if first_b else None,
                "failed": failed, "probes": total}
    finally:
        lab.close()


def bound_ms(version, event, prio=100):
    adv = 100 if version == 3 else 1000
    skew = (256 - prio) * adv / 256 if version == 3 else (256 - prio) * 1000 / 256
    return skew if event == "graceful" else 3 * adv + skew


def main():
    tmp = tempfile.mkdtemp(prefix="tandem-failover-")
    rows = []
    try:
        for version in (2, 3):
            for event in ("graceful", "sigkill"):
                res = {}
                for impl in ("keepalived", "tandem"):
                    res[impl] = run_case(impl, version, event, tmp)
                    print(f"done: {impl} v{version} {event}: {res[impl]}", file=sys.stderr)
                rows.append((version, event, res))
    finally:
        shutil.rmtree(tmp, True)
    lines = ["| VRRP | event | RFC bound | keepalived | Tandem | ratio | failed probes K / T |",
             "|---|---|---|---|---|---|---|"]
    for version, event, res in rows:
        k, t = res["keepalived"], res["tandem"]
        fmt = lambda r: f"{r['takeover_ms']:.0f} ms" if r["takeover_ms"] is not None else "never"
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
