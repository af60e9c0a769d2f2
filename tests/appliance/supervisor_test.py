#!/usr/bin/env python3
"""`tandem run`, the supervisor, against real backends on loopback: restart with a doubling
delay, server states kept across a crash and a reload, reloads under load with no failed
request (one of them with an invalid file), old workers stopped after their grace period, the
control socket (`tandem status`, `tandem reload`), and systemd's notify protocol through a fake
NOTIFY_SOCKET."""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import (TANDEM, Backend, Node, admin_command, free_port, get, make_cert,  # noqa
                     wait_port)


def config(port, backends, sock, extra="", grace="3s", weights=None, log="info", global_extra=""):
    weights = weights or {}
    servers = "\n".join(
        f'      - {{ name: {b.name}, address: "{b.address}", weight: {weights.get(b.name, 1)} }}'
        for b in backends)
    return f"""
global: {{ threads: 2, hard_stop_after: {grace}, log: {{ target: stderr, level: {log} }}{global_extra} }}
supervisor:
  control_socket: {sock}
  probe: {{ interval: 100ms, timeout: 200ms }}
  restart_delay: {{ initial: 100ms, max: 2s }}
defaults:
  timeout: {{ keep_alive: 5s }}
frontends:
  web:
    bind: "127.0.0.1:{port}"
    default_backend: app
backends:
  app:
    check: {{ type: http, uri: /health, inter: 100ms, fall: 2, rise: 2 }}
    servers:
{servers}
{extra}
"""


class Load:
    """A bounded client load: keep-alive clients and connection-per-request clients. A request
    fails when it gets no complete 200 response. Like every browser and HTTP library, a client
    retries once on a kept-alive connection the server closed before answering (RFC 9112 9.3.1);
    such retries are counted separately."""

    def __init__(self, port, keepalive=3, fresh=2, max_seconds=60, max_requests=200000):
        self.port = port
        self.ok = 0
        self.failed = []
        self.retried = 0
        self.served_by = {}
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.deadline = time.monotonic() + max_seconds
        self.max_requests = max_requests
        self.threads = [threading.Thread(target=self.keepalive_client, daemon=True)
                        for _ in range(keepalive)]
        self.threads += [threading.Thread(target=self.fresh_client, daemon=True)
                         for _ in range(fresh)]
        for t in self.threads:
            t.start()

    def running(self):
        return (not self.stop_flag.is_set() and time.monotonic() < self.deadline
                and self.ok + len(self.failed) < self.max_requests)

    def record(self, body, error=None):
        with self.lock:
            if error is None:
                self.ok += 1
                name = body.split()[0].decode() if body else "?"
                self.served_by[name] = self.served_by.get(name, 0) + 1
            else:
                self.failed.append(error)

    def keepalive_client(self):
        conn = None
        while self.running():
            for attempt in (0, 1):
                reused = conn is not None
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                    conn.request("GET", "/")
                    r = conn.getresponse()
                    body = r.read()
                    if r.status != 200:
                        raise RuntimeError(f"status {r.status}")
                    if r.getheader("connection", "").lower() == "close":
                        conn.close()
                        conn = None
                    self.record(body)
                    break
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                    if conn:
                        conn.close()
                    conn = None
                    if reused and attempt == 0:
                        with self.lock:
                            self.retried += 1
                        continue
                    self.record(None, repr(e))
                    break
                except Exception as e:  # noqa: BLE001 - every failure counts
                    if conn:
                        conn.close()
                    conn = None
                    self.record(None, repr(e))
                    break
            time.sleep(0.002)

    def fresh_client(self):
        while self.running():
            try:
                status, _, body, _ = get(self.port, "/", timeout=5)
                self.record(body, None if status == 200 else f"status {status}")
            except Exception as e:  # noqa: BLE001
                self.record(None, repr(e))
            time.sleep(0.002)

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(15)


class SupervisorTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tandem-sup-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.health = {}
        self.backends = []
        for n in ("s1", "s2", "s3"):
            self.health[n] = os.path.join(self.tmp, f"{n}.health")
            b = Backend(n, self.tmp, health_file=self.health[n])
            self.addCleanup(b.stop)
            self.backends.append(b)
        self.port = free_port()
        self.sock = os.path.join(self.tmp, "node.sock")

    def start(self, **kw):
        env = kw.pop("env", None)
        wait_ready = kw.pop("wait_ready", True)
        node = Node(config(self.port, self.backends, self.sock, **kw), self.tmp, env=env,
                    wait_ready=wait_ready)
        self.addCleanup(node.stop)
        return node

    def set_health(self, name, ok):
        with open(self.health[name], "w") as f:
            f.write("ok" if ok else "status:503")

    def wait_down(self, node, server):
        node.wait(lambda s: any(x["name"] == server and x["state"] == "DOWN"
                                for x in s["backends"][0]["servers"]), f"{server} DOWN")

    def test_status_reports_children_backends_and_generation(self):
        node = self.start()
        self.set_health("s3", False)
        self.wait_down(node, "s3")
        s = node.status()
        self.assertEqual(s["generation"], 1)
        self.assertEqual(s["state"], "running")
        proxy = [c for c in s["children"] if c["name"] == "proxy"][0]
        self.assertEqual(proxy["state"], "running")
        self.assertEqual(proxy["restarts"], 0)
        self.assertTrue(s["proxy"]["live"])
        self.assertEqual(s["proxy"]["probe"], f"127.0.0.1:{self.port}")
        be = s["backends"][0]
        self.assertEqual((be["name"], be["up"], be["down"]), ("app", 2, 1))
        text = node.ctl("status").stdout
        self.assertIn("proxy: serving", text)
        self.assertRegex(text, r"app\s+2 up, 1 down: s3\(DOWN\)")
        self.assertEqual(os.stat(self.sock).st_mode & 0o777, 0o660)

    def test_status_lists_the_last_changes_with_their_reasons(self):
        node = self.start()
        self.set_health("s3", False)
        self.wait_down(node, "s3")
        pid = node.child_pid("proxy")
        os.kill(pid, signal.SIGKILL)
        node.wait(lambda s: any(t["what"] == "proxy worker" for t in s.get("transitions", [])),
                  "the worker's exit in the history")
        changes = node.status()["transitions"]
        down = [t for t in changes if t["what"] == "server app/s3" and t["to"] == "DOWN"]
        self.assertTrue(down, changes)
        self.assertIn("503", down[0]["reason"])
        self.assertRegex(down[0]["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        died = [t for t in changes if t["what"] == "proxy worker"][0]
        self.assertIn("signal", died["reason"])
        self.assertLessEqual(down[0]["unix_ms"], died["unix_ms"], "oldest first")
        text = node.ctl("status").stdout
        self.assertIn("last changes (UTC):", text)
        self.assertRegex(text, r"server app/s3: .* -> DOWN, .*503")

    def test_crashed_proxy_restarts_with_doubling_delay_and_keeps_server_states(self):
        self.set_health("s3", False)
        node = self.start()
        self.wait_down(node, "s3")
        delays = []
        for i in range(3):
            pid = node.child_pid("proxy")
            os.kill(pid, signal.SIGKILL)
            node.wait(lambda s, pid=pid: any(c["name"] == "proxy" and c.get("pid") not in (None, pid)
                                             and c["restarts"] == i + 1 for c in s["children"]),
                      "the proxy worker to be restarted")
            node.wait(lambda s: s["proxy"]["ready"], "the restarted worker to serve")
            # The restarted worker starts with s3 DOWN: not one request reaches it.
            for _ in range(30):
                status, _, body, _ = get(self.port, "/")
                self.assertEqual(status, 200)
                self.assertNotEqual(body.split()[0], b"s3")
        delays = re.findall(r"restarting the proxy worker in (\d+)ms", node.output())
        self.assertEqual(delays, ["100", "200", "400"])
        proxy = [c for c in node.status()["children"] if c["name"] == "proxy"][0]
        self.assertEqual((proxy["recent_crashes"], proxy["crash_loop"]), (3, False))
        self.assertRegex(node.output(), r"proxy worker \(generation 1\) killed by signal 9")
        self.assertIn("s3 is DOWN (was UP), reason: state carried over", node.output())

    def test_crash_loop_is_reported_and_the_back_off_stays_short(self):
        # restart_delay.max is 2 s here: the proxy worker's back-off still stops at 1 s (the
        # supervisor holds its sockets, clients queue), and 5 crashes within a minute are a
        # crash loop in the log and in status, while the supervisor keeps restarting it.
        node = self.start()
        for i in range(6):
            pid = node.child_pid("proxy")
            os.kill(pid, signal.SIGKILL)
            node.wait(lambda s, pid=pid: any(c["name"] == "proxy" and c.get("pid") not in (None, pid)
                                             for c in s["children"]),
                      "the proxy worker to be restarted", timeout=20)
        delays = re.findall(r"restarting the proxy worker in (\S+)", node.output())
        self.assertEqual(delays, ["100ms", "200ms", "400ms", "800ms", "1s", "1s"])
        self.assertRegex(node.output(), r"CRASH LOOP: the proxy worker crashed 5 times in the "
                                        r"last 1m")
        proxy = [c for c in node.status()["children"] if c["name"] == "proxy"][0]
        self.assertEqual((proxy["recent_crashes"], proxy["crash_loop"]), (6, True))
        self.assertIn("CRASH LOOP (6 crashes in the last minute)", node.ctl("status").stdout)
        node.wait(lambda s: s["proxy"]["ready"], "the restarted worker to serve")
        self.assertEqual(get(self.port, "/")[0], 200)

    def test_restarted_worker_runs_the_validated_configuration_not_the_edited_file(self):
        node = self.start()
        valid_edit = config(self.port, self.backends, self.sock).replace(
            "    default_backend: app",
            "    http_request:\n      - return: { status: 200, string: \"edited\" }")
        for edit in ("frontends: [ this is not valid", valid_edit):
            node.write_config(edit)
            pid = node.child_pid("proxy")
            restarts = [c for c in node.status()["children"] if c["name"] == "proxy"][0]["restarts"]
            os.kill(pid, signal.SIGKILL)
            node.wait(lambda s, pid=pid: any(c["name"] == "proxy" and c.get("pid") not in (None, pid)
                                             and c["restarts"] == restarts + 1
                                             for c in s["children"]),
                      "the proxy worker to be restarted")
            node.wait(lambda s: s["proxy"]["ready"], "the restarted worker to serve")
            # Generation 1 as validated at start: the backends answer, not the edit.
            status, _, body, _ = get(self.port, "/")
            self.assertEqual(status, 200)
            self.assertIn(body.split()[0], (b"s1", b"s2", b"s3"))
            self.assertEqual(node.status()["generation"], 1)
        self.assertNotIn("this is not valid", node.output())
        # A reload is what applies the edit.
        code, reply = node.reload()
        self.assertEqual((code, reply.get("ok")), (0, True), reply)
        status, _, body, _ = get(self.port, "/")
        self.assertEqual((status, body), (200, b"edited"))
        # ... and a worker restarted after it runs generation 2 even once the file is broken.
        node.write_config("frontends: [ this is not valid")
        pid = node.child_pid("proxy")
        os.kill(pid, signal.SIGKILL)
        node.wait(lambda s, pid=pid: any(c["name"] == "proxy" and c.get("pid") not in (None, pid)
                                         for c in s["children"]), "the proxy worker to be restarted")
        node.wait(lambda s: s["proxy"]["ready"], "the restarted worker to serve")
        self.assertEqual(get(self.port, "/")[2], b"edited")

    def ids(self, pid):
        """(uid, gid, supplementary groups) of a process, from /proc."""
        with open(f"/proc/{pid}/status") as f:
            st = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        return (int(st["Uid"].split()[0]), int(st["Gid"].split()[0]),
                st.get("Groups", "").split())

    def test_proxy_worker_gives_up_root_for_global_user_and_group(self):
        import grp
        import pwd
        nobody = pwd.getpwnam("nobody")
        group = grp.getgrgid(nobody.pw_gid).gr_name
        admin_path = os.path.join(self.tmp, "admin.sock")
        node = self.start(global_extra=f", user: nobody, group: {group}, "
                                       f"admin_socket: {{ path: {admin_path} }}")
        for generation in (1, 2):
            pid = node.child_pid("proxy")
            uid, gid, groups = self.ids(pid)
            self.assertEqual((uid, gid, groups), (nobody.pw_uid, nobody.pw_gid,
                                                  [str(nobody.pw_gid)]))
            self.assertEqual(self.ids(node.pid)[0], 0)  # the supervisor keeps root
            self.assertEqual(get(self.port, "/")[0], 200)
            self.assertIn(f"running as uid {nobody.pw_uid} gid {nobody.pw_gid}", node.output())
            if generation == 1:
                code, reply = node.reload()  # a new worker: started by root, drops again
                self.assertEqual((code, reply.get("ok")), (0, True), reply)
        # A crashed unprivileged worker is restarted the same way.
        os.kill(node.child_pid("proxy"), signal.SIGKILL)
        node.wait(lambda s: s["proxy"]["ready"] and any(
            c["name"] == "proxy" and c["restarts"] == 1 and c["state"] == "running"
            for c in s["children"]), "the restarted worker to serve")
        self.assertEqual(self.ids(node.child_pid("proxy"))[0], nobody.pw_uid)
        # The unprivileged worker cannot remove its admin socket file from root's directory as
        # it leaves: the supervisor does, once every worker has ended.
        self.assertTrue(os.path.exists(admin_path))
        node.stop()
        self.assertEqual(node.proc.returncode, 0, node.output())
        self.assertFalse(os.path.exists(admin_path), "admin socket file left behind")

    def test_proxy_started_as_its_global_user_runs(self):
        # A service manager may start the worker unprivileged already: nothing to give up then.
        import grp
        import pwd
        nobody = pwd.getpwnam("nobody")
        group = grp.getgrgid(nobody.pw_gid).gr_name
        shared = tempfile.mkdtemp(prefix="tandem-asuser-")
        self.addCleanup(shutil.rmtree, shared, True)
        os.chmod(shared, 0o755)
        path = os.path.join(shared, "p.yaml")
        port = free_port()
        with open(path, "w") as f:
            f.write(f"global: {{ user: nobody, group: {group} }}\nfrontends:\n  f:\n"
                    f"    bind: \"127.0.0.1:{port}\"\n    default_backend: b\nbackends:\n"
                    f"  b: {{ servers: [ {{ name: s1, address: \"{self.backends[0].address}\" }} ] }}\n")
        os.chmod(path, 0o644)
        proc = subprocess.Popen(["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                                 "--clear-groups", TANDEM, "proxy", "-c", path],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            wait_port(port, proc=proc)
            self.assertEqual(get(port, "/")[0], 200)
            self.assertEqual(self.ids(proc.pid)[0], nobody.pw_uid)
        finally:
            proc.terminate()
            proc.wait(10)

    def test_unknown_global_user_stops_the_worker_with_the_reason(self):
        node = self.start(global_extra=", user: tandem-no-such-user", wait_ready=False)
        node.wait_output("global.user: no user 'tandem-no-such-user'")

    def test_new_worker_dying_before_ready_fails_the_reload_and_keeps_the_old(self):
        node = self.start()
        old_pid = node.child_pid("proxy")
        # Valid for `tandem check` (a user missing here may exist on the target node), fatal to
        # the new worker before it serves.
        node.write_config(config(self.port, self.backends, self.sock,
                                 global_extra=", user: tandem-no-such-user"))
        code, reply = node.reload()
        self.assertEqual(reply.get("ok"), False, reply)
        self.assertNotEqual(code, 0)
        self.assertIn("before it was ready", reply.get("error", ""))
        s = node.status()
        self.assertEqual((s["generation"], node.child_pid("proxy")), (1, old_pid))
        self.assertEqual(get(self.port, "/")[0], 200)  # the running generation serves on
        self.assertEqual([c["restarts"] for c in s["children"] if c["name"] == "proxy"], [0])

    def children_of(self, pid):
        out = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                            out.append(int(entry))
                except (OSError, ValueError, IndexError):
                    pass
        return out

    def test_reload_timeout_rolls_back_the_new_sockets(self):
        # A new worker that never becomes ready (stopped here the moment it appears): after
        # supervisor.reload_timeout the reload fails, the worker is killed, the listening socket
        # that only the new configuration had is closed again, the old generation serves on.
        base = config(self.port, self.backends, self.sock).replace(
            "  restart_delay:", "  reload_timeout: 1s\n  restart_delay:")
        node = self.start()
        node.write_config(base)
        self.assertEqual(node.reload()[1].get("ok"), True)
        node.wait(lambda s: not s["draining_workers"], "the old worker to finish")
        extra_port = free_port()
        added = base.replace("backends:\n", f"  extra: {{ bind: \"127.0.0.1:{extra_port}\", "
                                            f"default_backend: app }}\nbackends:\n", 1)
        for attempt in range(10):
            generation = node.status()["generation"]
            known = set(self.children_of(node.pid))
            node.write_config(added)
            result = {}
            t = threading.Thread(target=lambda: result.update(r=node.reload()))
            t.start()
            stopped = None
            deadline = time.monotonic() + 2
            while stopped is None and time.monotonic() < deadline and t.is_alive():
                for pid in set(self.children_of(node.pid)) - known:
                    os.kill(pid, signal.SIGSTOP)
                    stopped = pid
                    break
            t.join(30)
            code, reply = result["r"]
            if stopped is not None and not reply.get("ok"):
                break
            # Missed the window (the worker was ready first): put the file back and try again.
            if stopped is not None:
                os.kill(stopped, signal.SIGCONT)
            node.write_config(base)
            node.reload()
            node.wait(lambda s: not s["draining_workers"], "the old worker to finish")
        self.assertIsNotNone(stopped, "never caught a new worker before it was ready")
        self.assertEqual(reply.get("ok"), False, reply)
        self.assertIn("not ready in time", reply.get("error", ""))
        self.assertEqual(node.status()["generation"], generation)
        self.assertEqual(get(self.port, "/")[0], 200)
        # The killed worker held a copy of the new socket until it was gone.
        node.wait(lambda s: not s["draining_workers"], "the stopped worker to be killed")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", extra_port), timeout=2).close()

    def test_worker_chroots_and_dies_with_its_supervisor(self):
        import pwd
        if os.environ.get("TANDEM_SANITIZER_RUN"):
            self.skipTest("a chrooted worker cannot reach the sanitizer's report folder or /proc")
        jail = os.path.join(self.tmp, "jail")
        os.mkdir(jail)
        node = self.start(global_extra=f", user: nobody, chroot: {jail}")
        pid = node.child_pid("proxy")
        self.assertEqual(os.readlink(f"/proc/{pid}/root"), jail)
        self.assertEqual(self.ids(pid)[0], pwd.getpwnam("nobody").pw_uid)
        self.assertEqual(get(self.port, "/")[0], 200)
        # Changing credentials clears the parent-death signal; the worker sets it again, so a
        # supervisor killed outright does not leave an orphan worker serving.
        os.kill(node.pid, signal.SIGKILL)
        node.proc.wait(5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.02)
        alive = os.path.exists(f"/proc/{pid}")
        if alive:
            with open(f"/proc/{pid}/stat") as f:
                alive = f.read().rsplit(")", 1)[1].split()[0] != "Z"
        self.assertFalse(alive, "the worker outlived its supervisor")

    def test_admin_socket_survives_a_reload(self):
        path = os.path.join(self.tmp, "admin.sock")
        node = self.start(global_extra=f", admin_socket: {{ path: {path} }}")
        self.assertIn("s1", admin_command(path, "show servers state"))
        code, reply = node.reload()
        self.assertEqual((code, reply.get("ok")), (0, True), reply)
        node.wait(lambda s: not s["draining_workers"], "the old worker to finish")
        # The old worker, leaving, must not remove the new worker's socket file.
        self.assertTrue(os.path.exists(path))
        self.assertIn("s1", admin_command(path, "show servers state"))

    def test_status_shows_what_the_admin_socket_set_on_unchecked_servers(self):
        # An unchecked server put in MAINT answers 503 and the admin socket says MAINT:
        # `tandem status` must say the same (it said UP), and so must the next worker.
        path = os.path.join(self.tmp, "admin.sock")
        plain = f'''
  plain:
    servers:
      - {{ name: p1, address: "{self.backends[0].address}" }}
'''
        node = self.start(global_extra=f", admin_socket: {{ path: {path} }}", extra=plain)
        plain_state = lambda s: [x["state"] for b in s["backends"] if b["name"] == "plain"
                                 for x in b["servers"]]
        self.assertEqual(plain_state(node.status()), ["UP"])
        self.assertEqual(admin_command(path, "set server plain/p1 state maint"), "\n")
        s = node.wait(lambda s: plain_state(s) == ["MAINT"], "plain/p1 MAINT in status")
        be = [b for b in s["backends"] if b["name"] == "plain"][0]
        self.assertEqual((be["up"], be["maint_or_drain"]), (0, 1))
        self.assertRegex(node.ctl("status").stdout, r"plain\s+0 up.*p1\(MAINT\)")
        code, reply = node.reload()
        self.assertEqual((code, reply.get("ok")), (0, True), reply)
        node.wait(lambda s: not s["draining_workers"], "the old worker to finish")
        self.assertEqual(plain_state(node.status()), ["MAINT"])
        self.assertRegex(admin_command(path, "show servers state"), r"plain\s+p1\s.*MAINT")
        admin_command(path, "set server plain/p1 state ready")
        node.wait(lambda s: plain_state(s) == ["UP"], "plain/p1 back UP in status")

    def test_disabled_and_drain_edited_in_the_file_take_effect_on_reload(self):
        # The state carried from the previous worker keeps what was set at run time, but not
        # against the file: a server newly `disabled` (or `drain`) in the file is MAINT (DRAIN)
        # after the reload, and back UP once the line is gone (HAProxy keeps the configuration's
        # maint apart from a forced one). Unchecked (plain/p1) and checked (app/s1) alike.
        path = os.path.join(self.tmp, "admin.sock")
        plain = lambda opts: f'''
  plain:
    servers:
      - {{ name: p1, address: "{self.backends[0].address}"{opts} }}
'''
        global_extra = f", admin_socket: {{ path: {path} }}"
        node = self.start(global_extra=global_extra, extra=plain(""))
        state = lambda s, be, srv: [x["state"] for b in s["backends"] if b["name"] == be
                                    for x in b["servers"] if x["name"] == srv][0]
        node.wait(lambda s: state(s, "app", "s1") == "UP", "app/s1 UP")

        def reload_with(text):
            node.write_config(text)
            code, reply = node.reload()
            self.assertEqual((code, reply.get("ok")), (0, True), reply)
            node.wait(lambda s: not s["draining_workers"], "the old worker to finish")
            return node.status()

        base = config(self.port, self.backends, self.sock, global_extra=global_extra,
                      extra=plain(", disabled: true"))
        drained = base.replace(f'name: s1, address: "{self.backends[0].address}", weight: 1',
                               f'name: s1, address: "{self.backends[0].address}", weight: 1, '
                               'drain: true')
        self.assertNotEqual(drained, base)
        s = reload_with(drained)
        self.assertEqual((state(s, "plain", "p1"), state(s, "app", "s1")), ("MAINT", "DRAIN"))
        # Set ready at run time, then a reload of the same file: the run-time state stays.
        admin_command(path, "set server plain/p1 state ready")
        node.wait(lambda s: state(s, "plain", "p1") == "UP", "plain/p1 ready")
        s = reload_with(drained)
        self.assertEqual(state(s, "plain", "p1"), "UP")
        # The lines removed from the file: back in rotation.
        s = reload_with(config(self.port, self.backends, self.sock, global_extra=global_extra,
                               extra=plain("")))
        node.wait(lambda s: state(s, "app", "s1") == "UP", "app/s1 UP after drain removed")
        self.assertEqual(state(node.status(), "plain", "p1"), "UP")

    def test_reload_moves_the_control_socket_and_applies_the_log_settings(self):
        # A reload that changes supervisor.control_socket and global.log takes effect for the
        # supervisor itself (it said "reloaded" and kept both as they were).
        node = self.start()
        moved = os.path.join(self.tmp, "moved.sock")
        node.write_config(config(self.port, self.backends, moved, log="warning"))
        code, reply = node.reload()  # asked, and answered, on the old socket
        self.assertEqual((code, reply.get("ok")), (0, True), reply)
        old = node.socket
        node.socket = moved
        self.assertEqual(node.status()["generation"], 2)
        deadline = time.monotonic() + 10
        while os.path.exists(old) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertFalse(os.path.exists(old), "the old control socket outlived the move")
        # Level warning now: another reload logs no "reloading" info line.
        before = node.output().count("reloading ")
        code, reply = node.reload()
        self.assertEqual((code, reply.get("ok")), (0, True), reply)
        self.assertEqual(node.output().count("reloading "), before)

    def test_reload_asked_during_a_reload_reads_the_file_again(self):
        node = self.start()
        base = config(self.port, self.backends, self.sock)

        def returning(text):
            return base.replace("    default_backend: app",
                                f"    http_request:\n      - return: {{ status: 200, string: {text} }}")
        for attempt in range(10):
            node.write_config(returning(f"first{attempt}"))
            known = set(self.children_of(node.pid))
            os.kill(node.pid, signal.SIGHUP)  # reload 1 reads "first" and starts a worker
            # Held stopped until the second reload has queued behind it (else they might not
            # meet at all); a worker caught too late just makes this attempt a plain one.
            stopped = self.catch_new_worker(node, known)
            node.write_config(returning(f"second{attempt}"))
            queued = node.output().count("reload requested while generation")
            result = {}
            t = threading.Thread(target=lambda: result.update(r=node.reload()))
            t.start()
            deadline = time.monotonic() + 5
            while (stopped and time.monotonic() < deadline and
                   node.output().count("reload requested while generation") == queued):
                time.sleep(0.01)
            if stopped:
                os.kill(stopped, signal.SIGCONT)
            t.join(30)
            code, reply = result["r"]
            self.assertEqual((code, reply.get("ok")), (0, True), reply)
            # Whichever way the two met, the reply and the node reflect the file as it was
            # when the caller asked: the second edit.
            self.assertEqual(get(self.port, "/")[2], f"second{attempt}".encode())
            self.assertEqual(reply["generation"], node.status()["generation"])
            if node.output().count("reload requested while generation") > queued:
                break
        self.assertIn("reload requested while generation", node.output(),
                      "no reload ever overlapped another in 10 tries")

    def catch_new_worker(self, node, known, timeout=2.0):
        """SIGSTOPs the first child of the supervisor that is not in `known` (a reload's new
        worker, before it is ready); its pid, or None when none appeared in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid in set(self.children_of(node.pid)) - known:
                os.kill(pid, signal.SIGSTOP)
                return pid
        return None

    def test_queued_reload_of_an_unchanged_file_swaps_nothing(self):
        # A reload asked while another starts re-reads the file; when it is what the starting
        # generation already runs, it answers "unchanged" instead of a second worker swap. The
        # first reload's worker is held stopped so that the second surely queues behind it.
        node = self.start()
        for attempt in range(10):
            before = node.status()["generation"]
            known = set(self.children_of(node.pid))
            os.kill(node.pid, signal.SIGHUP)  # reload 1 starts a worker on the same file
            stopped = self.catch_new_worker(node, known)
            if stopped is None:
                node.wait(lambda s: not s["draining_workers"], "the reload to finish")
                continue
            if node.status()["generation"] != before:  # it was ready before it was stopped
                os.kill(stopped, signal.SIGCONT)
                node.wait(lambda s: not s["draining_workers"], "the reload to finish")
                continue
            queued = node.output().count("reload requested while generation")
            result = {}
            t = threading.Thread(target=lambda: result.update(r=node.reload()))
            t.start()
            deadline = time.monotonic() + 10
            while (time.monotonic() < deadline and
                   node.output().count("reload requested while generation") == queued):
                time.sleep(0.01)
            os.kill(stopped, signal.SIGCONT)
            t.join(30)
            code, reply = result["r"]
            break
        self.assertEqual((code, reply.get("ok")), (0, True), reply)
        self.assertTrue(reply.get("unchanged"), reply)
        self.assertEqual(reply["generation"], before + 1)  # only the SIGHUP's generation
        node.wait(lambda s: not s["draining_workers"], "the old worker to finish")
        self.assertEqual(node.status()["generation"], before + 1)
        self.assertIn("nothing to change", node.output())

    def test_tls_binds_are_held_by_the_supervisor_and_survive_reloads(self):
        pem, crt = make_cert(self.tmp, "t", "t.test", ["t.test"])
        tls_port = free_port()
        extra = (f"listens:\n  secure:\n    bind: [ {{ address: \"127.0.0.1:{tls_port}\", "
                 f"crt: {pem} }} ]\n    servers: [ {{ name: s1, address: \"{self.backends[0].address}\" }} ]\n")
        node = self.start(extra=extra)
        # 2 threads x (the plain bind + the TLS bind): the TLS sockets are the supervisor's too,
        # so a reload hands them over instead of closing them under queued clients.
        self.assertIn("(generation 1, 4 listening socket(s)", node.output())

        def fetch():
            return subprocess.run(["curl", "-sS", "--max-time", "5", "--cacert", crt, "--resolve",
                                   f"t.test:{tls_port}:127.0.0.1", f"https://t.test:{tls_port}/"],
                                  capture_output=True, timeout=10)
        self.assertEqual(fetch().stdout.split()[0], b"s1")
        code, reply = node.reload()
        self.assertEqual((code, reply.get("ok")), (0, True), reply)
        self.assertIn("(generation 2, 4 listening socket(s)", node.output())
        self.assertEqual(fetch().stdout.split()[0], b"s1")

    def test_reloads_under_load_fail_no_request(self):
        node = self.start()
        sup_children_before = len(node.processes())
        load = Load(self.port)
        self.addCleanup(load.stop)
        results = []
        try:
            time.sleep(0.5)
            for i in range(6):
                if i == 3:
                    # An invalid file: refused, the running configuration stays.
                    node.write_config(config(self.port, self.backends, self.sock) + "\nbogus: [\n")
                else:
                    node.write_config(config(self.port, self.backends, self.sock,
                                             weights={"s1": 1 + i}))
                results.append(node.reload())
                time.sleep(0.4)
        finally:
            load.stop()
        codes = [r[0] for r in results]
        self.assertEqual(codes, [0, 0, 0, 1, 0, 0], results)
        self.assertIn("YAML syntax error", " ".join(results[3][1]["errors"]))
        self.assertEqual(results[-1][1]["generation"], 6)
        self.assertEqual(load.failed, [], f"{len(load.failed)} of {load.ok} requests failed")
        # Not even a close raced by a request: an old worker answers on a kept-alive connection
        # with Connection: close instead of closing it under the client.
        self.assertEqual(load.retried, 0)
        self.assertGreater(load.ok, 200)
        print(f"\nreloads under load: {load.ok} requests, 0 failed, "
              f"{load.retried} keep-alive retries, served by {load.served_by}", file=sys.stderr)
        # Old workers are gone once their in-flight requests finished: nothing piles up.
        node.wait(lambda s: not s["draining_workers"], "old workers to finish")
        self.assertEqual(len(node.processes()), sup_children_before)

    def test_server_known_down_gets_no_traffic_after_reload(self):
        self.set_health("s2", False)
        node = self.start()
        self.wait_down(node, "s2")
        load = Load(self.port, keepalive=2, fresh=2)
        self.addCleanup(load.stop)
        time.sleep(0.3)
        code, reply = node.reload()
        self.assertEqual(code, 0, reply)
        time.sleep(1.0)
        load.stop()
        self.assertEqual(load.failed, [])
        self.assertNotIn("s2", load.served_by)
        self.assertEqual(node.status()["backends"][0]["down"], 1)

    def test_old_worker_outliving_grace_period_is_stopped(self):
        node = self.start(grace="1s")
        # The old worker's own grace timer ends a request that outlives it (hard-stop-after)...
        result = {}

        def slow():
            try:
                result["r"] = get(self.port, "/slow?ms=6000", timeout=10)
            except Exception as e:  # noqa: BLE001
                result["e"] = e

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        old = node.child_pid("proxy")
        self.assertEqual(node.reload()[0], 0)
        self.assertIn(old, node.status()["draining_workers"])
        node.wait(lambda s: not s["draining_workers"], "the old worker to finish", timeout=5)
        t.join(15)
        self.assertIn("e", result, "the slow request outlived the grace period")
        # ...and an old worker that hangs is killed by the supervisor after grace + 1 s.
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        old = node.child_pid("proxy")
        os.kill(old, signal.SIGSTOP)
        self.assertEqual(node.reload()[0], 0)
        started = time.monotonic()
        node.wait(lambda s: not s["draining_workers"], "the hung worker to be killed", timeout=10)
        self.assertLess(time.monotonic() - started, 4.0)
        self.assertIn(f"old proxy worker {old} outlived its grace period: killing it",
                      node.output())

    def test_unknown_control_request_and_missing_socket(self):
        node = self.start()
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.sock)
            s.sendall(b"bogus\n")
            reply = s.recv(4096).decode()
        self.assertIn("unknown request", reply)
        with socket.socket(socket.AF_UNIX) as s:  # not UTF-8: answered, never a crash
            s.connect(self.sock)
            s.sendall(b"\xff\xfe status\n")
            self.assertIn(b"unknown request", s.recv(4096))
        self.assertIsNone(node.proc.poll())
        r = node.ctl("status")
        self.assertEqual(r.returncode, 0)
        r = subprocess.run([TANDEM, "status", "-s", os.path.join(self.tmp, "nope.sock")],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot connect", r.stderr)

    def test_systemd_notify_protocol(self):
        notify_path = os.path.join(self.tmp, "notify.sock")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(notify_path)
        self.addCleanup(ns.close)
        ns.settimeout(10)
        env = dict(os.environ, NOTIFY_SOCKET=notify_path, WATCHDOG_USEC="400000")
        node = self.start(env=env)
        seen = []

        def expect(key):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                msg = ns.recv(4096).decode()
                seen.append(msg)
                if key in msg.split("\n"):
                    return msg
            self.fail(f"no {key}; got {seen}")

        expect("READY=1")
        expect("WATCHDOG=1")
        expect("WATCHDOG=1")
        os.kill(node.pid, signal.SIGHUP)
        msg = expect("RELOADING=1")
        self.assertRegex(msg, r"MONOTONIC_USEC=\d+")
        expect("READY=1")
        node.proc.send_signal(signal.SIGTERM)
        expect("STOPPING=1")
        self.assertEqual(node.proc.wait(15), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
