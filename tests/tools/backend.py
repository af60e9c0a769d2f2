#!/usr/bin/env python3
"""A real HTTP/1.1 backend for Tandem's integration tests (and a TCP echo server).

Routes (GET unless noted):
  /                      200, body "<name>\n"
  /echo                  200, JSON of the request (method, path, headers, server name)
  /status/<N>            status N, body "<name> <N>\n"
  /chunked?n=K           chunked response of K chunks
  /slow?ms=M             answers after M ms
  /close                 200 with "Connection: close"
  /download?bytes=N&seed=S   N deterministic pseudo-random bytes (Content-Length)
  POST /upload           reads the body (Content-Length or chunked), answers its sha256 and size
  /ws                    WebSocket echo (RFC 6455, text and binary frames)
  /health                200 "ok" (or what the file given by --health-file holds)
Options: --port, --name, --tcp-echo (a plain TCP echo server with half-close support).
"""
import argparse
import base64
import hashlib
import json
import random
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def pseudo_random(n, seed):
    rnd = random.Random(seed)
    return rnd.randbytes(n)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tandem-test-backend"

    def log_message(self, *args):
        pass

    def send_body(self, status, body, ctype="text/plain", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        h = hashlib.sha256()
        size = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline().strip()
                n = int(line.split(b";")[0], 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = n
                while left:
                    chunk = self.rfile.read(min(left, 65536))
                    h.update(chunk)
                    size += len(chunk)
                    left -= len(chunk)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    break
                h.update(chunk)
                size += len(chunk)
                left -= len(chunk)
        return h.hexdigest(), size

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        name = self.server.name
        if u.path == "/":
            return self.send_body(200, (name + "\n").encode())
        if u.path == "/health":
            body = b"ok"
            if self.server.health_file:
                try:
                    body = open(self.server.health_file, "rb").read()
                except OSError:
                    pass
            status = 200
            if body.startswith(b"status:"):
                status = int(body[7:10])
            return self.send_body(status, body)
        if u.path == "/echo":
            info = {"server": name, "method": self.command, "path": self.path,
                    "peer_port": self.client_address[1],
                    "version": self.request_version,
                    "headers": [[k, v] for k, v in self.headers.items()]}
            return self.send_body(200, json.dumps(info).encode(), "application/json")
        if u.path.startswith("/status/"):
            code = int(u.path.split("/")[2])
            if code in (204, 304):
                self.send_response(code)
                self.end_headers()
                return
            return self.send_body(code, f"{name} {code}\n".encode())
        if u.path == "/chunked":
            n = int(q.get("n", ["3"])[0])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(n):
                data = f"chunk-{i}\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.write(b"0\r\n\r\n")
            return
        if u.path == "/slow":
            time.sleep(int(q.get("ms", ["100"])[0]) / 1000)
            return self.send_body(200, (name + " slow\n").encode())
        if u.path == "/close":
            self.close_connection = True
            return self.send_body(200, (name + " close\n").encode(), extra={"Connection": "close"})
        if u.path == "/download":
            n = int(q.get("bytes", ["1024"])[0])
            seed = int(q.get("seed", ["1"])[0])
            return self.send_body(200, pseudo_random(n, seed), "application/octet-stream")
        if u.path == "/ws":
            return self.websocket()
        return self.send_body(404, f"{self.server.name} not found\n".encode())

    def do_POST(self):
        u = urlparse(self.path)
        digest, size = self.read_body()
        if u.path == "/upload":
            return self.send_body(200, json.dumps({"sha256": digest, "size": size,
                                                   "server": self.server.name}).encode(),
                                  "application/json")
        return self.send_body(200, f"{self.server.name} {size}\n".encode())

    do_PUT = do_POST

    def websocket(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        rf = self.rfile
        while True:
            hdr = rf.read(2)
            if len(hdr) < 2:
                return
            opcode = hdr[0] & 0x0F
            length = hdr[1] & 0x7F
            if length == 126:
                length = int.from_bytes(rf.read(2), "big")
            elif length == 127:
                length = int.from_bytes(rf.read(8), "big")
            mask = rf.read(4) if hdr[1] & 0x80 else b"\0\0\0\0"
            data = bytearray(rf.read(length))
            for i in range(len(data)):
                data[i] ^= mask[i % 4]
            if opcode == 8:  # close
                self.wfile.write(b"\x88\x00")
                self.close_connection = True
                return
            out = bytes([0x80 | opcode])
            if len(data) < 126:
                out += bytes([len(data)])
            elif len(data) < 65536:
                out += bytes([126]) + len(data).to_bytes(2, "big")
            else:
                out += bytes([127]) + len(data).to_bytes(8, "big")
            self.wfile.write(out + bytes(data))
            self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


class TcpEcho(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        # Echo until the client half-closes, then send a trailer and close our side.
        total = 0
        while True:
            data = self.request.recv(65536)
            if not data:
                break
            total += len(data)
            self.request.sendall(data)
        self.request.sendall(f"\nEOF after {total} bytes\n".encode())
        self.request.shutdown(socket.SHUT_WR)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", default="backend")
    ap.add_argument("--tcp-echo", action="store_true")
    ap.add_argument("--health-file")
    a = ap.parse_args()
    if a.tcp_echo:
        srv = TcpEcho(("127.0.0.1", a.port), EchoHandler)
    else:
        srv = Server(("127.0.0.1", a.port), Handler)
        srv.name = a.name
        srv.health_file = a.health_file
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
