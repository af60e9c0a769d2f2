#!/usr/bin/env python3
"""gRPC through Tandem: HTTP/2 on both hops (`proto: h2` on a server), with grpcio's own client
and server (Debian's python3-grpcio; raw-bytes methods, so no protoc), the server on a thread
pool of the test process, every address on 127.0.0.1:

  GrpcTest     a gRPC client on a prior-knowledge bind (h2c) reaches an h2c server (`proto: h2`
               without ssl): unary calls keep their bytes (empty to 1 MiB, beyond the
               flow-control windows of both hops, both ways); a server stream of 200 messages
               arrives whole and in order; a client stream of 200 messages arrives whole (count
               and hash); a bidirectional stream carries one message each way at a time for 50
               rounds (neither direction waits for the other to end); grpc-status, grpc-message
               and trailing metadata (text and -bin) cross both hops in a Trailers-Only
               response, after the messages of a stream and after a successful call (with its
               initial metadata); the call's metadata reaches the server, and the call is in the
               access log with its gRPC path and in the frontend's and server's counters; a call
               past its deadline gets DEADLINE_EXCEEDED, its handler ends, and the next call
               goes on the same client connection; 200 calls from 20 threads on one channel all
               succeed on fewer server connections than calls at once (multiplexed); a server
               that is down gets UNAVAILABLE within the call's timeout, not a hang.
  GrpcTlsTest  TLS on both hops: a gRPC client over TLS (ALPN h2 on the bind) reaches a gRPC
               server that speaks TLS only (`proto: h2`, `ssl: true`, its certificate verified
               with `ca_file`): unary and bidirectional calls work and the server saw them come
               over TLS.
"""
import hashlib
import importlib.util
import json
import os
import queue
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

CTEST_TIMEOUT = 120

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from harness import Tandem, free_port, make_cert, metric, scrape  # noqa: E402

if importlib.util.find_spec("grpc") is None:
    # python3-grpcio installs into the system interpreter's dist-packages, which an interpreter
    # of its own (pyenv, a venv) does not look in. Last, so it shadows nothing.
    sys.path.append("/usr/lib/python3/dist-packages")
import grpc  # noqa: E402

SERVICE = "tandem.Echo"
MAX_MESSAGE = 8 * 1024 * 1024  # above grpc's 4 MiB default, on both ends
MESSAGE_OPTIONS = [("grpc.max_send_message_length", MAX_MESSAGE),
                   ("grpc.max_receive_message_length", MAX_MESSAGE)]
# No HTTP proxy from the environment, no transparent retries (they would hide a refused
# stream), a fresh connection per channel (no sharing between the tests' channels).
CHANNEL_OPTIONS = MESSAGE_OPTIONS + [("grpc.enable_http_proxy", 0), ("grpc.enable_retries", 0),
                                     ("grpc.use_local_subchannel_pool", 1)]


def path(method):
    return f"/{SERVICE}/{method}"


def stream_message(i):
    """Message i of a stream: its number, then 0-4 KiB of bytes that depend on it (so frames of
    many sizes, and messages that straddle DATA frames)."""
    return b"%06d:" % i + (hashlib.sha256(b"%d" % i).digest() * 128)[:(i * 997) % 4096]


def digest(messages):
    """A hash of a sequence of messages that their boundaries change too."""
    h = hashlib.sha256()
    for m in messages:
        h.update(len(m).to_bytes(4, "big") + m)
    return h.hexdigest()


def fingerprint(data):
    return len(data), hashlib.sha256(data).hexdigest()


# ---- the gRPC server ------------------------------------------------------------------------

class EchoServer:
    """The service tandem.Echo on grpc.server in this process, on 127.0.0.1 and a port the
    kernel picks, in the clear (h2c) or with TLS (`tls`: (certificate, key) PEM bytes). Bytes in,
    bytes out. Besides the answers it keeps how many Concurrent calls ran at once at most and the
    connections (peers) they came on, and whether Sleep handlers ended."""

    def __init__(self, tls=None, workers=40):
        self.lock = threading.Lock()
        self.inflight = 0
        self.most_inflight = 0
        self.peers = set()
        self.sleeps_ended = 0
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.server = grpc.server(self.pool, options=MESSAGE_OPTIONS + [("grpc.so_reuseport", 0)])
        handlers = {
            "Unary": grpc.unary_unary_rpc_method_handler(lambda req, ctx: req),
            "Metadata": grpc.unary_unary_rpc_method_handler(self.metadata),
            "ServerStream": grpc.unary_stream_rpc_method_handler(self.server_stream),
            "ClientStream": grpc.stream_unary_rpc_method_handler(self.client_stream),
            "Bidi": grpc.stream_stream_rpc_method_handler(self.bidi),
            "Fail": grpc.unary_unary_rpc_method_handler(self.fail),
            "StreamThenFail": grpc.unary_stream_rpc_method_handler(self.stream_then_fail),
            "Trailers": grpc.unary_unary_rpc_method_handler(self.trailers),
            "Sleep": grpc.unary_unary_rpc_method_handler(self.sleep),
            "Concurrent": grpc.unary_unary_rpc_method_handler(self.concurrent),
        }
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, handlers),))
        if tls:
            cert, key = tls
            creds = grpc.ssl_server_credentials([(key, cert)])
            self.port = self.server.add_secure_port("127.0.0.1:0", creds)
        else:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
        if not self.port:
            raise RuntimeError("the gRPC server could not bind 127.0.0.1")
        self.server.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.server.stop(grace=0).wait(5)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def reset_concurrency(self):
        with self.lock:
            self.most_inflight = 0
            self.peers = set()

    # ---- handlers -----------------------------------------------------------------------------

    @staticmethod
    def metadata(request, context):
        """What the server saw of the call: its metadata (-bin values in hex), the transport."""
        seen = {}
        for k, v in context.invocation_metadata():
            seen[k] = v.hex() if isinstance(v, bytes) else v
        security = context.auth_context().get("transport_security_type", [b""])
        return json.dumps({"metadata": seen, "security": security[0].decode(),
                           "peer": context.peer()}).encode()

    @staticmethod
    def server_stream(request, context):
        for i in range(json.loads(request)["n"]):
            yield stream_message(i)

    @staticmethod
    def client_stream(request_iterator, context):
        messages = list(request_iterator)
        return json.dumps({"count": len(messages), "sha256": digest(messages)}).encode()

    @staticmethod
    def bidi(request_iterator, context):
        for m in request_iterator:
            yield b"re:" + m

    @staticmethod
    def fail(request, context):
        context.set_trailing_metadata((("x-trail", "v1"), ("x-trail-bin", b"\x00\xff\r\n")))
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")

    @staticmethod
    def stream_then_fail(request, context):
        for i in range(3):
            yield b"part-%d" % i
        context.set_trailing_metadata((("x-trail", "after-3"),))
        context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "stopped after 3: 100% ünïcode")

    @staticmethod
    def trailers(request, context):
        context.send_initial_metadata((("x-head", "h1"),))
        context.set_trailing_metadata((("x-trail", "v2"), ("x-count", "3")))
        return b"ok:" + request

    def sleep(self, request, context):
        """Sleeps the seconds the request says, or until the call ends (deadline, cancel)."""
        end = time.monotonic() + float(request)
        while context.is_active() and time.monotonic() < end:
            time.sleep(0.02)
        with self.lock:
            self.sleeps_ended += 1
        return b"woke"

    def concurrent(self, request, context):
        with self.lock:
            self.inflight += 1
            self.most_inflight = max(self.most_inflight, self.inflight)
            self.peers.add(context.peer())
        try:
            time.sleep(0.05)  # long enough for the other threads' calls to overlap this one
            return request
        finally:
            with self.lock:
                self.inflight -= 1


# ---- checks both classes make ---------------------------------------------------------------

def assert_echoes(test, channel, sizes):
    echo = channel.unary_unary(path("Unary"))
    rnd = random.Random(7)
    for size in sizes:
        with test.subTest(size=size):
            data = rnd.randbytes(size)
            test.assertEqual(fingerprint(echo(data, timeout=30)), fingerprint(data))


def assert_interleaved_bidi(test, channel, rounds):
    """One message out, its answer back before the next goes out, `rounds` times: a hop that
    held either direction until the other ended would leave the call waiting for its
    deadline."""
    requests = queue.Queue()

    def feed():
        while True:
            try:
                m = requests.get(timeout=30)
            except queue.Empty:
                return
            if m is None:
                return
            yield m

    responses = channel.stream_stream(path("Bidi"))(feed(), timeout=20)
    test.addCleanup(responses.cancel)
    test.addCleanup(requests.put, None)  # runs first: the feeding thread ends
    for i in range(rounds):
        m = b"round-%d " % i + stream_message(i)
        requests.put(m)
        answer, problem = None, None
        try:
            answer = next(responses)
        except grpc.RpcError as e:
            problem = f"no answer ({e.code()}: {e.details()})"
        except StopIteration:
            problem = f"the stream ended ({responses.code()}: {responses.details()})"
        if problem:
            test.fail(f"round {i}: {problem}")
        test.assertEqual(answer, b"re:" + m, f"round {i}")
    requests.put(None)
    test.assertEqual(list(responses), [])
    test.assertEqual(responses.code(), grpc.StatusCode.OK, responses.details())


# ---- h2c on both hops -----------------------------------------------------------------------

class GrpcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-grpc-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.server = EchoServer()
        cls.addClassCleanup(cls.server.stop)
        cls.p = {n: free_port() for n in ("grpc", "down", "prom")}
        cls.closed = free_port()  # nothing listens here: the server that is down
        cls.log = os.path.join(cls.tmp, "access.log")
        p = cls.p
        cfg = f"""
global: {{ log: {{ target: stderr, level: info }} }}
defaults:
  timeout: {{ connect: 1s, client: 30s, server: 30s }}
  log: {{ httplog: true, target: "{cls.log}" }}
frontends:
  grpc:
    bind: [ {{ address: "127.0.0.1:{p['grpc']}", proto: h2 }} ]
    default_backend: echo
  down:
    bind: [ {{ address: "127.0.0.1:{p['down']}", proto: h2 }} ]
    default_backend: down
backends:
  echo:
    servers: [ {{ name: s1, address: "{cls.server.address}", proto: h2 }} ]
  down:
    servers: [ {{ name: gone, address: "127.0.0.1:{cls.closed}", proto: h2 }} ]
prometheus:
  bind: "127.0.0.1:{p['prom']}"
"""
        cls.proxy = Tandem(cfg, cls.tmp, list(p.values()))
        cls.addClassCleanup(cls.proxy.stop)
        cls.target = f"127.0.0.1:{p['grpc']}"
        cls.down_target = f"127.0.0.1:{p['down']}"

    def tearDown(self):
        self.assertIsNone(self.proxy.proc.poll(), self.proxy.output()[-3000:])

    def channel(self, target=None):
        ch = grpc.insecure_channel(target or self.target, options=CHANNEL_OPTIONS)
        self.addCleanup(ch.close)
        return ch

    # ---- what Tandem counted ------------------------------------------------------------------

    def client_connections(self):
        """HTTP/2 client connections the frontend accepted so far."""
        return metric(scrape(self.p["prom"]), "tandem_frontend_h2_connections_total",
                      proxy="grpc") or 0

    def counters(self):
        t = scrape(self.p["prom"])
        return (metric(t, "haproxy_frontend_http_requests_total", proxy="grpc") or 0,
                metric(t, "haproxy_server_http_responses_total", proxy="echo", server="s1",
                       code="2xx") or 0)

    def log_lines(self, method):
        try:
            with open(self.log) as f:
                return [ln.rstrip("\n") for ln in f if f'"POST {path(method)} ' in ln]
        except FileNotFoundError:
            return []

    def assert_counted(self, method, lines_before, counters_before):
        """One more access log line for the call (gRPC path, 200 from the server), and the
        frontend's requests and the server's 2xx responses went up."""
        deadline = time.monotonic() + 10
        while len(self.log_lines(method)) <= lines_before and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = self.log_lines(method)
        self.assertEqual(len(lines), lines_before + 1, lines)
        self.assertRegex(lines[-1], rf' grpc echo/s1 .* 200 .*"POST {re.escape(path(method))} '
                                    r'HTTP/2\.0"$')
        while time.monotonic() < deadline:
            counters = self.counters()
            if all(now > before for now, before in zip(counters, counters_before)):
                break
            time.sleep(0.05)
        self.assertTrue(all(now > before for now, before in zip(counters, counters_before)),
                        f"requests and 2xx responses before {counters_before}, now {counters}")

    # ---- the tests ------------------------------------------------------------------------------

    def test_unary_calls_keep_their_bytes(self):
        # 1 MiB is 16 times the 64 KiB initial windows: the body moves, both ways, only as
        # each receiver hands window back.
        assert_echoes(self, self.channel(), (0, 1, 1000, 70_000, 1024 * 1024))

    def test_server_stream_arrives_whole_and_in_order(self):
        stream = self.channel().unary_stream(path("ServerStream"))
        got = list(stream(json.dumps({"n": 200}).encode(), timeout=30))
        self.assertEqual(len(got), 200)
        wrong = [i for i, m in enumerate(got) if m != stream_message(i)]
        self.assertEqual(wrong, [], f"first out of place: {got[wrong[0]][:20] if wrong else ''}")

    def test_client_stream_arrives_whole(self):
        messages = [stream_message(i) for i in range(200)]
        answer = self.channel().stream_unary(path("ClientStream"))(iter(messages), timeout=30)
        self.assertEqual(json.loads(answer), {"count": 200, "sha256": digest(messages)})

    def test_bidi_stream_interleaves(self):
        assert_interleaved_bidi(self, self.channel(), 50)

    def test_status_and_trailers_cross_both_hops(self):
        ch = self.channel()
        with self.subTest("Trailers-Only: status and trailing metadata without messages"):
            with self.assertRaises(grpc.RpcError) as caught:
                ch.unary_unary(path("Fail"))(b"x", timeout=10)
            e = caught.exception
            self.assertEqual((e.code(), e.details()), (grpc.StatusCode.NOT_FOUND, "no such thing"))
            trailers = dict(e.trailing_metadata())
            self.assertEqual(trailers.get("x-trail"), "v1", trailers)
            self.assertEqual(trailers.get("x-trail-bin"), b"\x00\xff\r\n", trailers)
        with self.subTest("an error status after a stream's messages"):
            stream = ch.unary_stream(path("StreamThenFail"))(b"", timeout=10)
            got = []
            with self.assertRaises(grpc.RpcError) as caught:
                for m in stream:
                    got.append(m)
            e = caught.exception
            self.assertEqual(got, [b"part-0", b"part-1", b"part-2"])
            self.assertEqual((e.code(), e.details()),
                             (grpc.StatusCode.RESOURCE_EXHAUSTED, "stopped after 3: 100% ünïcode"))
            self.assertEqual(dict(e.trailing_metadata()).get("x-trail"), "after-3",
                             e.trailing_metadata())
        with self.subTest("a successful call's initial and trailing metadata"):
            answer, call = ch.unary_unary(path("Trailers")).with_call(b"hi", timeout=10)
            self.assertEqual(answer, b"ok:hi")
            self.assertEqual(call.code(), grpc.StatusCode.OK)
            self.assertEqual(dict(call.initial_metadata()).get("x-head"), "h1",
                             call.initial_metadata())
            trailers = dict(call.trailing_metadata())
            self.assertEqual((trailers.get("x-trail"), trailers.get("x-count")), ("v2", "3"),
                             trailers)

    def test_metadata_reaches_the_server_and_the_call_is_logged(self):
        lines, counters = len(self.log_lines("Metadata")), self.counters()
        answer, call = self.channel().unary_unary(path("Metadata")).with_call(
            b"", metadata=(("x-tenant", "blue"), ("x-blob-bin", b"\x00\x01\xfe")), timeout=10)
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        seen = json.loads(answer)
        self.assertEqual(seen["metadata"].get("x-tenant"), "blue", seen)
        self.assertEqual(seen["metadata"].get("x-blob-bin"), "0001fe", seen)
        self.assertTrue(seen["metadata"].get("user-agent", "").startswith("grpc-python"), seen)
        self.assertEqual(seen["security"], "insecure", seen)  # h2c to the server
        self.assert_counted("Metadata", lines, counters)

    def test_deadline_exceeded_keeps_the_connection(self):
        ch = self.channel()
        echo = ch.unary_unary(path("Unary"))
        self.assertEqual(echo(b"warm-up", timeout=10), b"warm-up")  # connected
        connections = self.client_connections()
        ended = self.server.sleeps_ended
        start = time.monotonic()
        with self.assertRaises(grpc.RpcError) as caught:
            ch.unary_unary(path("Sleep"))(b"20", timeout=1)
        elapsed = time.monotonic() - start
        self.assertEqual(caught.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED,
                         caught.exception.details())
        self.assertLess(elapsed, 5)
        # The handler learnt that its call is over (it would otherwise sleep 20 s).
        deadline = time.monotonic() + 5
        while self.server.sleeps_ended == ended and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertGreater(self.server.sleeps_ended, ended, "the handler still runs")
        # The next calls go on the same channel, and on the same connection to Tandem: the
        # cancelled stream ended that stream only.
        for i in range(3):
            self.assertEqual(echo(b"after-%d" % i, timeout=10), b"after-%d" % i)
        self.assertEqual(self.client_connections(), connections)

    def test_many_concurrent_calls_on_one_channel(self):
        ch = self.channel()
        call = ch.unary_unary(path("Concurrent"))
        self.assertEqual(call(b"warm-up", timeout=10), b"warm-up")
        self.server.reset_concurrency()
        answers, errors = {}, []

        def worker(w):
            for k in range(10):
                m = b"w%02d-%02d" % (w, k)
                try:
                    answers[m] = call(m, timeout=30)
                except grpc.RpcError as e:
                    errors.append((m, e.code(), e.details()))

        threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(20)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self.assertFalse([t for t in threads if t.is_alive()], "calls still waiting after 60 s")
        self.assertEqual(errors, [])
        self.assertEqual(len(answers), 200)
        self.assertEqual([m for m, a in answers.items() if a != m], [])
        with self.server.lock:
            most, peers = self.server.most_inflight, set(self.server.peers)
        # Calls overlapped at the server, and fewer connections than that carried them: at
        # least one connection had several streams open at once.
        self.assertGreater(most, 1)
        self.assertLess(len(peers), most, f"{len(peers)} server connections: {sorted(peers)}")

    def test_a_server_that_is_down_gets_unavailable(self):
        ch = self.channel(self.down_target)
        for i in range(2):  # and again on the same connection
            start = time.monotonic()
            with self.assertRaises(grpc.RpcError) as caught:
                ch.unary_unary(path("Unary"))(b"x", timeout=10)
            elapsed = time.monotonic() - start
            self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAVAILABLE,
                             caught.exception.details())
            self.assertLess(elapsed, 8, f"call {i}")


# ---- TLS on both hops -----------------------------------------------------------------------

class GrpcTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tandem-grpc-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.pem, cls.crt = make_cert(cls.tmp, "grpc", "localhost", ["localhost"])
        with open(cls.crt, "rb") as f:
            cls.root = f.read()
        with open(os.path.join(cls.tmp, "grpc.key"), "rb") as f:
            key = f.read()
        cls.server = EchoServer(tls=(cls.root, key))  # TLS only: h2c or HTTP/1.1 fail there
        cls.addClassCleanup(cls.server.stop)
        cls.port = free_port()
        cfg = f"""
global: {{ log: {{ target: stderr, level: info }} }}
defaults:
  timeout: {{ connect: 1s, client: 30s, server: 30s }}
frontends:
  grpcs:
    bind: [ {{ address: "127.0.0.1:{cls.port}", crt: "{cls.pem}", alpn: [ h2, http/1.1 ] }} ]
    default_backend: echo
backends:
  echo:
    servers: [ {{ name: s1, address: "{cls.server.address}", proto: h2, ssl: true,
                  ca_file: "{cls.crt}", sni: localhost }} ]
"""
        cls.proxy = Tandem(cfg, cls.tmp, [cls.port])
        cls.addClassCleanup(cls.proxy.stop)
        cls.target = f"127.0.0.1:{cls.port}"

    def tearDown(self):
        self.assertIsNone(self.proxy.proc.poll(), self.proxy.output()[-3000:])

    def channel(self):
        creds = grpc.ssl_channel_credentials(root_certificates=self.root)
        ch = grpc.secure_channel(self.target, creds, options=CHANNEL_OPTIONS + [
            ("grpc.ssl_target_name_override", "localhost")])
        self.addCleanup(ch.close)
        return ch

    def assert_server_saw_tls(self, ch):
        seen = json.loads(ch.unary_unary(path("Metadata"))(
            b"", metadata=(("x-tenant", "green"),), timeout=10))
        self.assertEqual((seen["security"], seen["metadata"].get("x-tenant")), ("ssl", "green"),
                         seen)

    def test_unary_over_tls_both_hops(self):
        ch = self.channel()
        assert_echoes(self, ch, (0, 1000, 1024 * 1024))
        self.assert_server_saw_tls(ch)

    def test_bidi_over_tls_both_hops(self):
        ch = self.channel()
        assert_interleaved_bidi(self, ch, 50)
        self.assert_server_saw_tls(ch)


if __name__ == "__main__":
    unittest.main()
