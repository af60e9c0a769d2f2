"""A small lab of network namespaces: a switch (bridge) and hosts attached to it by veth pairs,
each host's interface named eth0. Addresses come from 198.18.0.0/15 only. Everything is created
with unique names and removed in close(), also when a test fails (use it as a context manager
or register close() as a cleanup)."""
import os
import subprocess
import time


def sh(*args, check=True, capture=True, timeout=30):
    r = subprocess.run(list(args), capture_output=capture, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


class Lab:
    def __init__(self, tag=None):
        self.tag = tag or f"{os.getpid() % 100000}{int(time.time() * 1000) % 1000}"
        self.switch = f"tdsw{self.tag}"
        self.hosts = {}
        self.procs = []
        sh("ip", "netns", "add", self.switch)
        sh("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.switch, "link", "set", "br0", "up")

    def add_host(self, name, address, prefix=24):
        ns = f"td{name}{self.tag}"
        outer = f"v{name}{self.tag}"[:15]
        sh("ip", "netns", "add", ns)
        self.hosts[name] = ns
        sh("ip", "link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", outer, "netns", self.switch)
        sh("ip", "-n", self.switch, "link", "set", outer, "master", "br0")
        sh("ip", "-n", self.switch, "link", "set", outer, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "addr", "add", f"{address}/{prefix}", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        return ns

    def ns(self, name):
        return self.hosts[name]

    def run(self, name, *args, check=True):
        return sh("ip", "netns", "exec", self.hosts[name], *args, check=check)

    def addresses(self, name, dev="eth0"):
        r = sh("ip", "-n", self.hosts[name], "-4", "-o", "addr", "show", "dev", dev)
        return [line.split()[3] for line in r.stdout.splitlines()]

    def has_address(self, name, ip):
        return any(a.split("/")[0] == ip for a in self.addresses(name))

    def mac(self, name, dev="eth0"):
        r = sh("ip", "-n", self.hosts[name], "-o", "link", "show", "dev", dev)
        return r.stdout.split("link/ether")[1].split()[0]

    def link(self, name, up):
        outer = f"v{name}{self.tag}"[:15]
        sh("ip", "-n", self.switch, "link", "set", outer, "up" if up else "down")

    def close(self):
        for p in self.procs:
            p.stop()
        for ns in list(self.hosts.values()) + [self.switch]:
            sh("ip", "netns", "del", ns, check=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
