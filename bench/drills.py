#!/usr/bin/env python3
"""Failover drills side by side (`make bench`, `make bench-drills`): the Tandem lab pair and a
keepalived + HAProxy pair built the same way (same namespaces layout, same demo backends, same
VRRPv3 at 100 ms adverts, priorities 150/100), each drilled by the same `tandem drill` code.

The keepalived + HAProxy pair is the classic setup: HAProxy in master-worker mode, keepalived
tracking it with a 1 s `kill -0` script (weight 0: FAULT when it fails), each restarted 100 ms
after it dies (what systemd's Restart= would do). Reload is `kill -USR2` to the HAProxy master.

Every process is stopped by PID and every namespace removed at the end, also on failure."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "tools"))
from netns import Lab  # noqa

SCENARIOS = ["kill-proxy", "kill-agent", "kill-node", "link-down", "reload", "preempt"]
VIP = "198.18.0.100"

NODE_SH = r"""#!/bin/sh
# One keepalived + HAProxy node of the bench pair, started the way Debian's units do it:
# haproxy.service has Restart=always (restarted 100 ms after it dies), keepalived.service has
# no Restart= (a killed keepalived stays dead).   start | stop | serving | pids KIND | reload
D={dir}; NS={ns}; N={node}
alive() {{ [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }}
case "$1" in
start)
  if ! alive $D/$N-haproxy-loop.pid; then
    rm -f $D/$N-haproxy.pid
    setsid ip netns exec $NS sh -c "echo \$\$ > $D/$N-haproxy-loop.pid; while :; do haproxy -W -db -f $D/$N-haproxy.cfg -p $D/$N-haproxy.pid; [ -e $D/$N-norestart ] && break; sleep 0.1; done" >>$D/$N-haproxy.log 2>&1 </dev/null &
  fi
  if ! alive $D/$N-ka.pid; then
    rm -f $D/$N-ka.pid $D/$N-ka-vrrp.pid
    setsid ip netns exec $NS keepalived -n -l -D -P -f $D/$N-keepalived.conf -p $D/$N-ka.pid -r $D/$N-ka-vrrp.pid >>$D/$N-keepalived.log 2>&1 </dev/null &
  fi
  for i in $(seq 50); do alive $D/$N-haproxy.pid && alive $D/$N-ka.pid && exit 0; sleep 0.1; done
  exit 1 ;;
stop)
  # keepalived leaves first (priority 0), then HAProxy stops (the restart loop first).
  alive $D/$N-haproxy-loop.pid && kill $(cat $D/$N-haproxy-loop.pid)
  alive $D/$N-ka.pid && kill $(cat $D/$N-ka.pid)
  for i in $(seq 50); do alive $D/$N-ka.pid || break; sleep 0.1; done
  alive $D/$N-haproxy.pid && kill -USR1 $(cat $D/$N-haproxy.pid)
  for i in $(seq 50); do alive $D/$N-haproxy.pid || exit 0; sleep 0.1; done
  exit 0 ;;
serving)
  alive $D/$N-haproxy.pid && alive $D/$N-ka.pid || exit 1
  ip netns exec $NS curl -s -m 1 -o /dev/null http://127.0.0.1/ ;;
pids)
  if [ "$2" = node ]; then set -- x ka haproxy haproxy-loop
  elif [ "$2" = proxy ]; then set -- x haproxy
  else set -- x ka; fi
  shift
  for f in "$@"; do alive $D/$N-$f.pid || continue; p=$(cat $D/$N-$f.pid); echo $p; pgrep -P $p; done ;;
reload)
  kill -USR2 $(cat $D/$N-haproxy.pid) ;;
esac
"""

HAPROXY_CFG = """global
  maxconn 4000
defaults
  mode http
  timeout connect 1s
  timeout client 10s
  timeout server 10s
frontend www
  bind *:80
  default_backend pool
backend pool
  balance roundrobin
  option httpchk GET /health
  default-server inter 500ms fall 2 rise 2
  server b1 198.18.0.21:80 check
  server b2 198.18.0.22:80 check
  server b3 198.18.0.23:80 check
"""

KEEPALIVED_CFG = """global_defs {{
  vrrp_version 3
  script_user root
  enable_script_security
  vrrp_garp_master_delay 1
  vrrp_garp_master_repeat 3
}}
vrrp_script chk_haproxy {{
  script "/bin/sh -c 'kill -0 $(cat {dir}/{node}-haproxy.pid)'"
  interval 1
  weight 0
}}
vrrp_instance VI_1 {{
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority {prio}
  advert_int 0.1
  virtual_ipaddress {{
    {vip}/24 dev eth0
  }}
  track_script {{
    chk_haproxy
  }}
}}
"""


def sh(*args, check=True, timeout=120):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stdout}{r.stderr}")
    return r


class KeepalivedPair:
    def __init__(self, tandem, tmp):
        self.tmp = tmp
        self.lab = Lab()
        self.backend_pids = []
        self.scripts = []
        self.starts = []
        try:
            self.build(tandem, tmp)
        except BaseException:
            self.close()
            raise

    def build(self, tandem, tmp):
        hosts = {"n1": "198.18.0.11", "n2": "198.18.0.12", "b1": "198.18.0.21",
                 "b2": "198.18.0.22", "b3": "198.18.0.23", "cl": "198.18.0.50"}
        for name, addr in hosts.items():
            self.lab.add_host(name, addr)
        for b in ("b1", "b2", "b3"):
            p = subprocess.Popen(["ip", "netns", "exec", self.lab.ns(b), tandem, "lab", "serve",
                                  "--name", b, "--port", "80"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
            self.backend_pids.append(p)
        nodes = []
        for node, prio in (("n1", 150), ("n2", 100)):
            with open(f"{tmp}/{node}-haproxy.cfg", "w") as f:
                f.write(HAPROXY_CFG)
            with open(f"{tmp}/{node}-keepalived.conf", "w") as f:
                f.write(KEEPALIVED_CFG.format(dir=tmp, node=node, prio=prio, vip=VIP))
            script = f"{tmp}/{node}.sh"
            with open(script, "w") as f:
                f.write(NODE_SH.format(dir=tmp, ns=self.lab.ns(node), node=node))
            nodes.append({"name": node, "netns": self.lab.ns(node), "address": hosts[node],
                          "priority": prio, "serving": f"sh {script} serving",
                          "proxy_pids": f"sh {script} pids proxy",
                          "agent_pids": f"sh {script} pids agent",
                          "node_pids": f"sh {script} pids node", "start": f"sh {script} start",
                          "stop": f"sh {script} stop", "reload": f"sh {script} reload"})
        self.pair_file = f"{tmp}/pair.json"
        with open(self.pair_file, "w") as f:
            json.dump({"name": "keepalived+haproxy", "client_netns": self.lab.ns("cl"),
                       "vip": VIP, "prefix": 24, "port": 80, "advert_ms": 100,
                       "nodes": nodes}, f, indent=2)
        self.scripts = [n["stop"] for n in nodes]
        self.starts = [n["start"] for n in nodes]
        self.repair()

    def repair(self):
        """Back to a clean steady state after a drill (keepalived may be dead, a VIP left)."""
        for stop in self.scripts:
            sh("/bin/sh", "-c", stop, check=False)
        for node in ("n1", "n2"):
            sh("ip", "-n", self.lab.ns(node), "addr", "del", f"{VIP}/24", "dev", "eth0",
               check=False)
        for start in self.starts:
            sh("/bin/sh", "-c", start)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (self.lab.has_address("n1", VIP) and
                                                   not self.lab.has_address("n2", VIP)):
            time.sleep(0.1)

    def no_restart(self, on):
        for node in ("n1", "n2"):
            flag = f"{self.tmp}/{node}-norestart"
            if on:
                open(flag, "w").close()
            elif os.path.exists(flag):
                os.remove(flag)

    def close(self):
        for stop in self.scripts:
            sh("/bin/sh", "-c", stop, check=False)
        for p in self.backend_pids:
            p.terminate()
            p.wait(5)
        # Whatever is left in the pair's namespaces was started here.
        for ns in self.lab.hosts.values():
            for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), 9)
                except OSError:
                    pass
        self.lab.close()


def drill(tandem, scenario, where):
    r = sh(tandem, "drill", scenario, "--json", "--return-timeout", "8000", *where, check=False,
           timeout=300)
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError:
        return {"pass": False, "error": r.stderr.strip() or r.stdout.strip()}


def fmt_ms(v):
    return "-" if v is None else f"{v:.0f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tandem", default=os.path.join(HERE, "..", "build", "tandem"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("DRILL_ROUNDS", "3")))
    a = ap.parse_args()
    tandem = os.path.abspath(a.tandem)
    name = f"b{os.getpid() % 100000}"
    tmp = tempfile.mkdtemp(prefix="tandem-drills-")
    pair = None
    results = {}
    try:
        sh(tandem, "lab", "up", "--name", name)
        pair = KeepalivedPair(tandem, tmp)
        runs = []
        for scenario in a.scenarios.split(","):
            runs.append((scenario, scenario, False))
            if scenario == "kill-proxy":
                # As measured in the field: HAProxy not restarted, keepalived's script notices.
                runs.append(("kill-proxy, HAProxy not restarted", scenario, True))
        tandem_runs = {}
        for rnd in range(a.rounds):
            for label, scenario, no_restart in runs:
                # Alternate: keepalived+HAProxy, then Tandem, on the same machine, same run.
                pair.no_restart(no_restart)
                k = drill(tandem, scenario, ["--pair", pair.pair_file])
                pair.no_restart(False)
                pair.repair()
                if scenario not in tandem_runs or len(tandem_runs[scenario]) <= rnd:
                    tandem_runs.setdefault(scenario, []).append(
                        drill(tandem, scenario, ["--lab", name]))
                t = tandem_runs[scenario][rnd]
                results.setdefault(label, []).append((k, t))
                print(f"round {rnd + 1} {label}: keepalived+haproxy moved "
                      f"{fmt_ms(k.get('vip_moved_ms'))} ms failed {k.get('requests_failed')}/"
                      f"{k.get('requests_total')} both {fmt_ms(k.get('both_held_ms'))} ms | "
                      f"tandem moved {fmt_ms(t.get('vip_moved_ms'))} ms failed "
                      f"{t.get('requests_failed')}/{t.get('requests_total')} both "
                      f"{fmt_ms(t.get('both_held_ms'))} ms", file=sys.stderr)
    finally:
        if pair:
            pair.close()
        if os.environ.get("DRILLS_KEEP_TMP"):
            print(f"kept {tmp}", file=sys.stderr)
            tmp = None
        sh(tandem, "lab", "down", "--name", name, check=False)
        if tmp:
            shutil.rmtree(tmp, True)

    def median(values):
        values = sorted(v for v in values if v is not None)
        return values[len(values) // 2] if values else None

    def summary(runs, key):
        return median([r.get(key) for r in runs])

    def failed(runs):
        return "+".join(str(r.get("requests_failed")) for r in runs)

    def returned(runs):
        return f"{sum(1 for r in runs if r.get('returned_to_initial_state'))}/{len(runs)}"

    lines = [f"Medians of {a.rounds} alternating rounds (K+H = keepalived + HAProxy).", "",
             "| drill | VIP answers from the other node (ms) K+H / Tandem | ratio "
             "| failed requests per round K+H / Tandem | both held the VIP (ms) K+H / Tandem "
             "| back to initial state K+H / Tandem |",
             "|---|---|---|---|---|---|"]
    for label, pairs in results.items():
        ks, ts = [p[0] for p in pairs], [p[1] for p in pairs]
        km, tm = summary(ks, "vip_moved_ms"), summary(ts, "vip_moved_ms")
        ratio = f"{tm / km:.2f}" if km and tm else "-"
        lines.append(
            f"| {label} | {fmt_ms(km)} / {fmt_ms(tm)} | {ratio} | {failed(ks)} / {failed(ts)} "
            f"| {fmt_ms(summary(ks, 'both_held_ms'))} / {fmt_ms(summary(ts, 'both_held_ms'))} "
            f"| {returned(ks)} / {returned(ts)} |")
    table = "\n".join(lines)
    print(table)
    if a.out:
        with open(a.out, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
