#!/usr/bin/env python3
"""A registry that names untrusted places (tests only).

Speaks just enough of the registry API for `kiln digest` and a push, and answers with whatever
the test tells it to name:
  --challenge VALUE         /v2/ without Authorization answers 401 with this WWW-Authenticate
                            (default: Basic realm="hostile"); with Authorization it answers 200
  --upload-location VALUE   POST .../blobs/uploads/ answers 202 with this Location
  --ping-status N           /v2/ always answers N (e.g. 503, so kiln retries and prints notes)
  --log FILE                append "METHOD PATH auth|none" for every request
Every other path, a token realm pointed here included, answers 200 with a JSON token, so a test
can also use one instance as the other origin that records what reached it. Plain HTTP on
127.0.0.1 only; prints its port on stdout once it listens.
"""
import argparse
import http.server
import json
import signal
import threading

# A parent may start us with SIGTERM blocked (threads of the Swift test runner block signals).
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])

parser = argparse.ArgumentParser()
parser.add_argument("--challenge", default='Basic realm="hostile"')
parser.add_argument("--upload-location", default="")
parser.add_argument("--ping-status", type=int, default=0)
parser.add_argument("--log", default="")
args = parser.parse_args()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def answer(self, status, headers=None, body=b""):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        authorized = bool(self.headers.get("Authorization"))
        if args.log:
            with lock, open(args.log, "a") as log:
                log.write(f"{self.command} {self.path} {'auth' if authorized else 'none'}\n")
        path = self.path.split("?")[0]
        if path == "/v2/" and args.ping_status:
            return self.answer(args.ping_status)
        if path == "/v2/":
            if authorized:
                return self.answer(200)
            return self.answer(401, {"WWW-Authenticate": args.challenge})
        if path.startswith("/v2/") and "/blobs/uploads/" in path and self.command == "POST" and args.upload_location:
            return self.answer(202, {"Location": args.upload_location})
        if path.startswith("/v2/"):
            return self.answer(404, {"Content-Type": "application/json"},
                               b'{"errors":[{"code":"BLOB_UNKNOWN","message":"unknown"}]}')
        self.answer(200, {"Content-Type": "application/json"}, json.dumps({"token": "hostile"}).encode())

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


# A listen backlog of 5 (the default) drops parallel connects, which then wait a second for
# the SYN to be resent: kiln connects 8 at a time.
http.server.ThreadingHTTPServer.request_queue_size = 128
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
