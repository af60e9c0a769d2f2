#!/usr/bin/env python3
"""TLS to servers (`ssl: true` on a server: re-encryption), against in-process Python TLS
servers that answer every request with what they saw of its connection (SNI, ALPN, TLS
version, session resumption, client certificate, PROXY line), and certificates made by the
openssl CLI (a CA signing the server's, another CA, a client CA signing Tandem's client
certificate, a self-signed one):

  - requests reach an HTTPS server verified against `ca_file`; the same server without
    `ssl: true` (plain HTTP to a TLS port) or with another CA in `ca_file` gets 502;
  - a certificate the system's CAs do not trust gets 502 and a `TLS to the server failed:
    certificate verify failed` line in the proxy's log; `verify: none` lets it through;
  - `sni` sends a fixed name, or the request's Host (port stripped), or the client's own SNI
    (`ssl_fc_sni`, in http and tcp mode); a pooled connection opened for one name never
    carries a request for another;
  - `verifyhost` (or else the SNI) is the name the certificate must carry;
  - `crt` presents a client certificate to a server that requires one;
  - `alpn` is offered to the server;
  - sessions are resumed on new connections (TLS 1.3 and TLS 1.2), keep-alive connections to
    the server are reused;
  - `send_proxy` sends the PROXY line in the clear before the ClientHello;
  - a tcp-mode frontend re-encrypts, and an HTTP/2 client reaches a TLS server."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import Tandem, curl, free_port, http, make_cert, recv_response  # noqa

CTEST_TIMEOUT = 120

SERVER_NAMES = ("app.test", "x.test", "y.test")  # the names the CA-signed server certificate has


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60, cwd=cwd)


def make_pki(d):
    """ca.crt signs server.crt (app.test, x.test, y.test); other-ca.crt signs nothing used;
    client-ca.crt signs client.crt (client.pem: certificate and key, Tandem's `crt`)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca", "client-ca"):
        openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "2",
                "-subj", f"/CN=Test {ca}", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=" + ",".join(f"DNS:{n}" for n in SERVER_NAMES) + "\n")
    for name, ca, subject, ext in (("server", "ca", "/CN=app.test", ["-extfile", "server.ext"]),
                                   ("client", "client-ca", "/O=Example/CN=tandem-client", [])):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
                cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", *ext, cwd=d)
    with open(os.path.join(d, "client.pem"), "w") as out:
        for part in ("client.crt", "client.key"):
            with open(os.path.join(d, part)) as f:
                out.write(f.read())


class TlsServer:
    """An HTTP/1.1 server over TLS on a thread of this process. Every response is JSON: the
    request (path, headers) and its connection (`conn`, a number per accepted connection;
    sni, alpn, version, resumed, client certificate subject, the PROXY line read in the clear
    before the handshake). `/close` answers with Connection: close and closes. `failed` counts
    handshakes that failed."""

    def __init__(self, cert, key, client_ca=None, alpn=None, max_version=None,
                 proxy_header=False):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        if client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(client_ca)
        if alpn:
            ctx.set_alpn_protocols(alpn)
        if max_version:
            ctx.maximum_version = max_version
        ctx.sni_callback = self._sni
        self.ctx = ctx
        self.proxy_header = proxy_header
        self.lock = threading.Lock()
        self.names = {}  # id(ssl socket) -> SNI received
        self.connections = 0
        self.failed = 0
        self.open = set()
        self.stopping = False
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.listener.close()
        with self.lock:
            for s in list(self.open):  # wakes the connection's thread up (SSLSocket.shutdown
                try:                   # would drop its TLS state under it)
                    socket.socket.shutdown(s, socket.SHUT_RDWR)
                except OSError:
                    pass

    def _sni(self, sslsock, name, ctx):
        with self.lock:
            self.names[id(sslsock)] = name

    def _accept(self):
        while not self.stopping:
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        sock.settimeout(10)
        conn = sock
        with self.lock:
            self.open.add(conn)
        try:
            proxy_line = None
            if self.proxy_header:  # byte by byte: nothing of the ClientHello is taken
                line = b""
                while not line.endswith(b"\r\n") and len(line) < 108:
                    c = sock.recv(1)
                    if not c:
                        return
                    line += c
                proxy_line = line.decode("latin-1").rstrip("\r\n")
            # Takes sock's descriptor.
            tls = self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            try:
                tls.do_handshake()
            except (ssl.SSLError, OSError):
                with self.lock:
                    self.failed += 1
                    self.open.discard(sock)
                # The alert is out. Read what the client sent meanwhile (a TLS 1.3 client may
                # already have written its request) before closing: closing over unread bytes
                # resets the connection, and the reset can reach the client before it reads
                # the alert.
                try:
                    socket.socket.shutdown(tls, socket.SHUT_WR)
                    tls.settimeout(1)
                    while socket.socket.recv(tls, 65536):
                        pass
                except OSError:
                    pass
                conn = tls
                return
            with self.lock:
                self.open.discard(sock)
                self.open.add(tls)
                conn = tls
                self.connections += 1
                info = {"conn": self.connections, "sni": self.names.pop(id(tls), None),
                        "alpn": tls.selected_alpn_protocol(), "version": tls.version(),
                        "resumed": tls.session_reused, "proxy": proxy_line}
            peer = tls.getpeercert()
            if peer:
                info["client"] = dict(x[0] for x in peer["subject"])
            self._requests(tls, info)
        except OSError:
            pass
        finally:
            with self.lock:
                self.open.discard(conn)
            conn.close()

    def _requests(self, tls, info):
        buf = b""
        while not self.stopping:
            while b"\r\n\r\n" not in buf:
                d = tls.recv(65536)
                if not d or len(buf) > 65536:
                    return
                buf += d
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            headers = [[k.strip(), v.strip()] for k, v in (l.split(":", 1) for l in lines[1:])]
            length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
            while len(buf) < length:
                d = tls.recv(65536)
                if not d:
                    return
                buf += d
            buf = buf[length:]
            path = lines[0].split()[1]
            close = path == "/close" or any(k.lower() == "connection" and v.lower() == "close"
                                            for k, v in headers)
            body = json.dumps(dict(info, path=path, headers=headers)).encode()
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n%s\r\n%s"
                        % (len(body), b"Connection: close\r\n" if close else b"", body))
            if close:
                tls.shutdown(socket.SHUT_RDWR)
                return


class ServerTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-server-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        make_pki(cls.tmp)
        f = lambda name: os.path.join(cls.tmp, name)  # noqa: E731
        cls.ca, cls.other_ca, cls.client_pem = f("ca.crt"), f("other-ca.crt"), f("client.pem")
        self_pem, _ = make_cert(cls.tmp, "self", "app.test", ["app.test"])
        front_pem, cls.front_crt = make_cert(cls.tmp, "front", "localhost",
                                             ["localhost", *SERVER_NAMES])

        def server(*args, **kwargs):
            s = TlsServer(*args, **kwargs)
            cls.addClassCleanup(s.stop)
            return s

        signed = (f("server.crt"), f("server.key"))
        cls.app = server(*signed, alpn=["http/1.1"])  # TLS 1.3, keep-alive
        cls.app12 = server(*signed, max_version=ssl.TLSVersion.TLSv1_2)
        cls.selfsigned = server(self_pem, self_pem)
        cls.mtls = server(*signed, client_ca=f("client-ca.crt"))
        cls.proxied = server(*signed, proxy_header=True)

        app, ca = cls.app.address, cls.ca
        # One frontend (port) per backend; each backend has one server, named after it.
        backends = {
            "ok": f"ssl: true, ca_file: {ca}, sni: app.test",
            "plain": "",
            "wrong_ca": f"ssl: true, ca_file: {cls.other_ca}, sni: app.test",
            "untrusted": "ssl: true",
            "no_verify": "ssl: true, verify: none",
            "sni_fixed": f"ssl: true, ca_file: {ca}, sni: app.test",
            "sni_host": f"ssl: true, ca_file: {ca}, sni: req.hdr(host)",
            "vh_other": f"ssl: true, ca_file: {ca}, verifyhost: other.test",
            "vh_app": f"ssl: true, ca_file: {ca}, verifyhost: app.test",
            "sni_other": f"ssl: true, ca_file: {ca}, sni: other.test",
            "with_crt": f"ssl: true, ca_file: {ca}, sni: app.test, crt: {cls.client_pem}",
            "without_crt": f"ssl: true, ca_file: {ca}, sni: app.test",
            "alpn": f"ssl: true, ca_file: {ca}, sni: app.test, alpn: [ http/1.1 ]",
            "no_alpn": f"ssl: true, ca_file: {ca}, sni: app.test",
            "resume13": f"ssl: true, ca_file: {ca}, sni: app.test",
            "resume12": f"ssl: true, ca_file: {ca}, sni: app.test",
            "keepalive": f"ssl: true, ca_file: {ca}, sni: app.test",
            "proxied": "ssl: true, verify: none, send_proxy: v1",
            "h2": f"ssl: true, ca_file: {ca}, sni: app.test",
            "client_sni": f"ssl: true, ca_file: {ca}, sni: ssl_fc_sni",
        }
        tls_binds = {"h2": ", alpn: [ h2, http/1.1 ]", "client_sni": ""}  # name: bind options
        address = {"untrusted": cls.selfsigned.address, "no_verify": cls.selfsigned.address,
                   "with_crt": cls.mtls.address, "without_crt": cls.mtls.address,
                   "resume12": cls.app12.address, "proxied": cls.proxied.address}
        cls.p = {name: free_port() for name in list(backends) + ["tcp", "client_sni_tcp"]}
        fronts, backs = [], []
        for name, settings in backends.items():
            bind = f'"127.0.0.1:{cls.p[name]}"'
            if name in tls_binds:
                bind = (f'{{ address: "127.0.0.1:{cls.p[name]}", crt: "{front_pem}"'
                        f'{tls_binds[name]} }}')
            fronts.append(f"  {name}:\n    bind: [ {bind} ]\n    default_backend: {name}\n")
            settings = ", " + settings if settings else ""
            backs.append(f"  {name}:\n    servers: [ {{ name: {name}, address: "
                         f'"{address.get(name, app)}"{settings} }} ]\n')
        cfg = f"""
global: {{ threads: 1, log: {{ target: stderr, level: info }} }}
defaults:
  mode: http
  timeout: {{ connect: 2s, client: 10s, server: 10s }}
frontends:
{"".join(fronts)}listens:
  tcp:
    mode: tcp
    bind: [ "127.0.0.1:{cls.p['tcp']}" ]
    servers: [ {{ name: tcp, address: "{app}", ssl: true, verify: none }} ]
  client_sni_tcp:
    mode: tcp
    bind: [ {{ address: "127.0.0.1:{cls.p['client_sni_tcp']}", crt: "{front_pem}" }} ]
    servers: [ {{ name: client_sni_tcp, address: "{app}", ssl: true, ca_file: {ca},
                  sni: ssl_fc_sni }} ]
backends:
{"".join(backs)}"""
        cls.tandem = Tandem(cfg, cls.tmp, list(cls.p.values()))
        cls.addClassCleanup(cls.tandem.stop)

    def request(self, name, path="/", host="test"):
        """(status, the TLS server's JSON answer or the body) of a GET to frontend `name`."""
        status, _, body, _ = http(self.p[name], f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
                                  "Connection: close\r\n\r\n".encode(), timeout=10)
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def assert_log(self, backend, *texts):
        """The proxy's log has a line about `backend` (and its server of the same name) with
        every one of `texts` (waits a little: the line may follow the 502)."""
        prefix = f"backend {backend} server {backend}: TLS to the server failed: "
        lines = []
        for _ in range(50):
            lines = [l for l in self.tandem.output().splitlines() if prefix in l]
            if any(all(t in l for t in texts) for l in lines):
                return
            time.sleep(0.05)
        about = [l for l in self.tandem.output().splitlines() if backend in l]
        self.fail(f"no log line with {prefix!r} and {texts}; those about it: {lines}; "
                  f"every line naming {backend}: {about}")

    def test_requests_reach_an_https_server(self):
        status, seen = self.request("ok", "/echo?q=1")
        self.assertEqual(status, 200, seen)
        self.assertEqual((seen["path"], seen["sni"]), ("/echo?q=1", "app.test"))
        self.assertEqual(seen["version"], "TLSv1.3")  # what the server saw came over TLS
        # Without ssl: true the request goes out in plain HTTP, which a TLS server refuses.
        self.assertEqual(self.request("plain")[0], 502)
        # ca_file is what the certificate is verified against: another CA does not sign it.
        self.assertEqual(self.request("wrong_ca")[0], 502)
        self.assert_log("wrong_ca", "certificate verify failed")

    def test_an_untrusted_certificate_gets_502_and_a_log_line(self):
        failed = self.selfsigned.failed
        self.assertEqual(self.request("untrusted")[0], 502)
        self.assert_log("untrusted", "certificate verify failed", "self-signed certificate")
        self.assertGreater(self.selfsigned.failed, failed)  # the handshake was refused
        status, seen = self.request("no_verify")
        self.assertEqual(status, 200, seen)
        self.assertEqual(seen["version"], "TLSv1.3")

    def test_sni_fixed_and_from_the_request(self):
        status, seen = self.request("sni_fixed", host="elsewhere.test")
        self.assertEqual((status, seen["sni"]), (200, "app.test"))
        # The Host of each request, without its port; keep-alive connections to the server
        # are reused for the same name only.
        answers = []
        for host in ("x.test:8080", "y.test", "x.test", "y.test:443"):
            status, seen = self.request("sni_host", host=host)
            self.assertEqual(status, 200, seen)
            self.assertEqual(seen["sni"], host.split(":")[0], host)
            answers.append(seen["conn"])
        self.assertNotEqual(answers[0], answers[1])  # a new connection (handshake) for y.test
        self.assertEqual((answers[2], answers[3]), (answers[0], answers[1]))  # pooled, by name

    def test_verifyhost_refuses_a_certificate_for_another_name(self):
        self.assertEqual(self.request("vh_other")[0], 502)
        self.assert_log("vh_other", "certificate verify failed", "hostname mismatch")
        status, seen = self.request("vh_app")
        self.assertEqual(status, 200, seen)
        self.assertIsNone(seen["sni"])  # verifyhost is checked, not sent
        # Without verifyhost, the SNI is the name checked.
        self.assertEqual(self.request("sni_other")[0], 502)
        self.assert_log("sni_other", "certificate verify failed", "hostname mismatch")

    def test_client_certificate_is_presented(self):
        status, seen = self.request("with_crt")
        self.assertEqual(status, 200, seen)
        self.assertEqual(seen["client"], {"organizationName": "Example",
                                          "commonName": "tandem-client"})
        self.assertEqual(self.request("without_crt")[0], 502)
        # TLS 1.3 servers refuse a missing certificate after the handshake: still a log line
        # with the server's reason.
        self.assert_log("without_crt", "certificate required")

    def test_alpn_is_offered_to_the_server(self):
        status, seen = self.request("alpn")
        self.assertEqual((status, seen["alpn"]), (200, "http/1.1"))
        status, seen = self.request("no_alpn")
        self.assertEqual((status, seen["alpn"]), (200, None))

    def test_sessions_are_resumed_on_new_connections(self):
        for name, version in (("resume13", "TLSv1.3"), ("resume12", "TLSv1.2")):
            with self.subTest(version):
                seen = []
                for _ in range(4):  # /close: the server closes, the next request connects again
                    status, s = self.request(name, "/close")
                    self.assertEqual(status, 200, s)
                    seen.append(s)
                self.assertEqual(len({s["conn"] for s in seen}), 4)
                self.assertEqual({s["version"] for s in seen}, {version})
                self.assertEqual([s["resumed"] for s in seen], [False, True, True, True])

    def test_keep_alive_connections_to_the_server_are_reused(self):
        conns = []
        for _ in range(5):  # a new client connection each time
            status, seen = self.request("keepalive")
            self.assertEqual(status, 200, seen)
            conns.append(seen["conn"])
        self.assertEqual(len(set(conns)), 1, conns)
        # And several requests on one client connection.
        with socket.create_connection(("127.0.0.1", self.p["keepalive"]), timeout=10) as c:
            for _ in range(3):
                c.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
                status, _, body, _ = recv_response(c, 10)
                self.assertEqual(status, 200)
                conns.append(json.loads(body)["conn"])
        self.assertEqual(len(set(conns)), 1, conns)

    def test_send_proxy_goes_before_the_tls_handshake(self):
        with socket.create_connection(("127.0.0.1", self.p["proxied"]), timeout=10) as c:
            client_port = c.getsockname()[1]
            c.sendall(b"GET /echo HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            status, _, body, _ = recv_response(c, 10)
        self.assertEqual(status, 200, body)
        seen = json.loads(body)
        self.assertEqual(seen["proxy"],
                         f"PROXY TCP4 127.0.0.1 127.0.0.1 {client_port} {self.p['proxied']}")
        self.assertEqual(seen["version"], "TLSv1.3")

    def test_tcp_mode_reencrypts(self):
        with socket.create_connection(("127.0.0.1", self.p["tcp"]), timeout=10) as c:
            c.sendall(b"GET /tcp HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            status, _, body, _ = recv_response(c, 10)
        self.assertEqual(status, 200, body)
        seen = json.loads(body)
        self.assertEqual((seen["path"], seen["version"]), ("/tcp", "TLSv1.3"))

    def test_h2_client_to_tls_server(self):
        r = curl("--http2", "-k", "-w", "\n%{http_version} %{http_code}",
                 f"https://localhost:{self.p['h2']}/h2", timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        body, _, tail = r.stdout.decode().rpartition("\n")
        self.assertEqual(tail, "2 200", body)
        seen = json.loads(body)
        self.assertEqual((seen["path"], seen["sni"], seen["version"]),
                         ("/h2", "app.test", "TLSv1.3"))

    def test_sni_from_the_client_tls_connection(self):
        # `sni: ssl_fc_sni`: the name the client sent in its own ClientHello, not the Host.
        ctx = ssl.create_default_context(cafile=self.front_crt)
        for name in ("client_sni", "client_sni_tcp"):
            with self.subTest(name), \
                    socket.create_connection(("127.0.0.1", self.p[name]), timeout=10) as s, \
                    ctx.wrap_socket(s, server_hostname="x.test") as c:
                c.sendall(b"GET / HTTP/1.1\r\nHost: y.test\r\nConnection: close\r\n\r\n")
                status, _, body, _ = recv_response(c, 10)
                self.assertEqual(status, 200, body)
                self.assertEqual(json.loads(body)["sni"], "x.test")


    def test_health_checks_speak_tls(self):
        """HTTP checks of TLS servers go over TLS with the server's settings: the trusted
        server stays UP, a self-signed one goes DOWN at layer 6 with the verdict, and
        `check: { ssl: false }` checks in the clear (a TLS port then fails)."""
        port = free_port()
        ca = self.ca
        cfg = f"""
global: {{ threads: 1, log: {{ target: stderr, level: info }} }}
defaults:
  mode: http
frontends:
  fe:
    bind: [ "127.0.0.1:{port}" ]
    default_backend: be
backends:
  be:
    check: {{ type: http, uri: /, inter: 200ms, fall: 1, rise: 1 }}
    servers:
      - {{ name: trusted, address: "{self.app.address}", ssl: true, ca_file: {ca}, sni: app.test }}
      - {{ name: selfsigned, address: "{self.selfsigned.address}", ssl: true }}
      - {{ name: cleartext, address: "{self.app.address}", ssl: true, ca_file: {ca},
          sni: app.test, check: {{ ssl: false }} }}
"""
        t = Tandem(cfg, self.tmp, [port], name="checks")
        self.addCleanup(t.stop)
        down = {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(down) < 2:
            for line in t.output().splitlines():
                for name in ("trusted", "selfsigned", "cleartext"):
                    if f"Server be/{name} is DOWN" in line:
                        down[name] = line
            time.sleep(0.1)
        self.assertIn("selfsigned", down)
        self.assertIn("Layer6 invalid response: SSL certificate verify failed: self-signed "
                      "certificate", down["selfsigned"])
        self.assertIn("cleartext", down)
        self.assertNotIn("SSL", down["cleartext"])  # cleartext to a TLS port: reset or garbage
        time.sleep(0.5)  # several more check rounds: the trusted server is never marked DOWN
        self.assertNotIn("Server be/trusted is DOWN", t.output())
        status, _, body, _ = http(port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                                  timeout=10)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["sni"], "app.test")  # only the trusted one serves


if __name__ == "__main__":
    unittest.main()
