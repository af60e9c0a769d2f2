#!/usr/bin/env python3
"""`make image-drill`: two appliance VMs (the built image, qemu TCG) form a pair on a private
network, and the master VM is powered off while a client probes the VIP every 10 ms.

Topology, all inside network namespaces of this run (addresses from 198.18.0.0/15 only):
  tvm<tag>       a bridge with one tap device per VM (qemu runs here, -netdev tap)
  tvmc<tag>      the client 198.18.0.50, plugged into the bridge by a veth pair
  VM A, VM B     198.18.0.11 / .12 from their seed disks (TANDEMSEED: tandem.yaml, hostname,
                 network/10-pair.network), VRRPv3 every 100 ms, VIP 198.18.0.100, priorities
                 150 / 100; each answers GET / with its own name.
Reports the time from powering A off (SIGKILL of its qemu) to the first answer from B, and the
client requests that failed meanwhile. qemu processes are stopped by PID, namespaces removed."""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TAG = f"{os.getpid() % 100000}"
NS, CLIENT = f"tvm{TAG}", f"tvmc{TAG}"
VIP = "198.18.0.100"


def sh(*args, check=True, timeout=300):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stdout}{r.stderr}")
    return r


def seed(tmp, name, address, priority):
    img = os.path.join(tmp, f"seed-{name}.img")
    sh("mkfs.vfat", "-n", "TANDEMSEED", "-C", img, "8192")
    files = {
        "tandem.yaml": f"""frontends:
  www:
    bind: "*:80"
    http_request:
      - return: {{ status: 200, string: "node {name}\\n" }}
vrrp:
  instances:
    VI_1:
      interface: eth0
      virtual_router_id: 51
      version: 3
      priority: {priority}
      advert_int: 100ms
      virtual_ipaddress: [{VIP}/24]
      track_proxy: {{ weight: 0 }}
""",
        "hostname": f"tandem-{name}\n",
        "10-pair.network": f"[Match]\nName=eth0\n\n[Network]\nAddress={address}/24\n",
    }
    for fname, text in files.items():
        path = os.path.join(tmp, f"{name}-{fname}")
        with open(path, "w") as f:
            f.write(text)
    sh("mcopy", "-i", img, os.path.join(tmp, f"{name}-tandem.yaml"), "::/tandem.yaml")
    sh("mcopy", "-i", img, os.path.join(tmp, f"{name}-hostname"), "::/hostname")
    sh("mmd", "-i", img, "::/network")
    sh("mcopy", "-i", img, os.path.join(tmp, f"{name}-10-pair.network"),
       "::/network/10-pair.network")
    return img


class Prober(threading.Thread):
    """A new connection to the VIP every 10 ms from the client namespace (200 ms budget each),
    run through `ip netns exec` in a helper process so this script stays in its namespace."""

    CODE = r"""
import socket, sys, time, threading
vip, stop_after = sys.argv[1], float(sys.argv[2])
end = time.monotonic() + stop_after
lock = threading.Lock()
def say(line):
    with lock:  # one whole line per write: probes run in parallel threads
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
def one(t0):
    try:
        with socket.create_connection((vip, 80), timeout=0.2) as s:
            s.settimeout(0.2)
            s.sendall(b"GET / HTTP/1.1\r\nHost: vip\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                c = s.recv(4096)
                if not c: break
                data += c
        body = data.split(b"\r\n\r\n", 1)[1].decode().strip() if b"\r\n\r\n" in data else ""
        say(f"{t0:.6f} {time.monotonic():.6f} ok {'_'.join(body.split()) or '-'}")
    except OSError as e:
        say(f"{t0:.6f} {time.monotonic():.6f} fail {type(e).__name__}")
while time.monotonic() < end:
    threading.Thread(target=one, args=(time.monotonic(),), daemon=True).start()
    time.sleep(0.01)
time.sleep(0.3)
"""

    def __init__(self, seconds):
        super().__init__(daemon=True)
        self.samples = []
        self.proc = subprocess.Popen(["ip", "netns", "exec", CLIENT, sys.executable, "-c",
                                      self.CODE, VIP, str(seconds)], stdout=subprocess.PIPE,
                                     text=True)

    def run(self):
        for line in self.proc.stdout:
            parts = line.split()
            if len(parts) < 3:
                continue
            self.samples.append((float(parts[0]), float(parts[1]), parts[2],
                                 "_".join(parts[3:])))


def drill(image):
    """Returns (seconds until both served, ms until B answered after A's power-off or None,
    failed probes, probes)."""
    image = os.path.abspath(image)
    tmp = tempfile.mkdtemp(prefix="tandem-image-drill-", dir="/var/tmp")
    vms = {}
    try:
        sh("ip", "netns", "add", NS)
        sh("ip", "netns", "add", CLIENT)
        sh("ip", "-n", NS, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", NS, "link", "set", "br0", "up")
        for name in ("a", "b"):
            sh("ip", "-n", NS, "tuntap", "add", "dev", f"tap{name}", "mode", "tap")
            sh("ip", "-n", NS, "link", "set", f"tap{name}", "master", "br0")
            sh("ip", "-n", NS, "link", "set", f"tap{name}", "up")
        sh("ip", "link", "add", f"vc{TAG}", "type", "veth", "peer", "name", "eth0", "netns",
           CLIENT)
        sh("ip", "link", "set", f"vc{TAG}", "netns", NS)
        sh("ip", "-n", NS, "link", "set", f"vc{TAG}", "master", "br0")
        sh("ip", "-n", NS, "link", "set", f"vc{TAG}", "up")
        sh("ip", "-n", CLIENT, "addr", "add", "198.18.0.50/24", "dev", "eth0")
        sh("ip", "-n", CLIENT, "link", "set", "eth0", "up")
        sh("ip", "-n", CLIENT, "link", "set", "lo", "up")
        started = time.monotonic()
        for name, addr, prio, mac in (("a", "198.18.0.11", 150, "52:54:00:18:00:11"),
                                      ("b", "198.18.0.12", 100, "52:54:00:18:00:12")):
            s = seed(tmp, name, addr, prio)
            vms[name] = subprocess.Popen(
                ["ip", "netns", "exec", NS, "qemu-system-x86_64", "-accel", "tcg", "-m", "768",
                 "-display", "none", "-no-reboot",
                 "-drive", f"file={image},if=virtio,snapshot=on",
                 "-drive", f"file={s},if=virtio,format=raw,snapshot=on",
                 "-netdev", f"tap,id=n0,ifname=tap{name},script=no,downscript=no",
                 "-device", f"virtio-net-pci,netdev=n0,mac={mac}",
                 "-serial", f"file:{tmp}/serial-{name}.log"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        # Both serve and A holds the VIP.
        deadline = time.monotonic() + 400
        ok = False
        while time.monotonic() < deadline:
            r = sh("ip", "netns", "exec", CLIENT, "curl", "-s", "-m", "1", f"http://{VIP}/",
                   check=False)
            b = sh("ip", "netns", "exec", CLIENT, "curl", "-s", "-m", "1",
                   "http://198.18.0.12/", check=False)
            if r.stdout.strip() == "node a" and b.stdout.strip() == "node b":
                ok = True
                break
            time.sleep(1)
        if not ok:
            with open(f"{tmp}/serial-a.log", errors="replace") as f:
                print(f.read()[-3000:], file=sys.stderr)
            raise RuntimeError("the pair did not come up")
        boot = time.monotonic() - started
        prober = Prober(8)
        prober.start()
        time.sleep(2)
        t_off = time.monotonic()
        vms["a"].send_signal(signal.SIGKILL)  # power off
        prober.join(30)
        try:
            prober.proc.wait(10)
        except subprocess.TimeoutExpired:
            prober.proc.kill()
            prober.proc.wait()
        after = [s for s in prober.samples if s[0] >= t_off]
        first_b = min((s[1] for s in after if s[2] == "ok" and s[3] == "node_b"), default=None)
        failed = sum(1 for s in prober.samples if s[2] == "fail")
        moved = None if first_b is None else (first_b - t_off) * 1000
        return boot, moved, failed, len(prober.samples)
    finally:
        for p in vms.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        sh("ip", "netns", "del", CLIENT, check=False)
        sh("ip", "netns", "del", NS, check=False)
        shutil.rmtree(tmp, True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default="build/image/tandem.qcow2")
    a = ap.parse_args()
    boot, moved, failed, total = drill(a.image)
    print(f"two appliance VMs (qemu TCG), VRRPv3 100 ms: both up {boot:.0f} s after start; "
          f"master powered off -> VIP answered by B after "
          f"{'-' if moved is None else f'{moved:.0f}'} ms (Master_Down_Interval 361 ms); "
          f"{failed} of {total} probes failed (200 ms budget each)")
    return 0 if moved is not None and moved < 361 + 250 else 1


if __name__ == "__main__":
    sys.exit(main())
