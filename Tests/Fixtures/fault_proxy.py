#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of a real registry (tests only).

Forwards every request to the upstream registry unchanged, except for the faults it is told to
inject, each a given number of times:
  --drop-blob-get N     the first N blob GETs: send the headers and half the body, then cut the connection
  --blob-put-503 N      the first N blob upload PUTs answer 503
  --manifest-get-429 N  the first N manifest GETs answer 429 with Retry-After: 1
  --manifest-put-503 N  the first N manifest PUTs answer 503 (-1: every one)
  --drop-digest D       the first GET of blob D: half the body, then cut the connection
  --redirect-blobs URL  answer every blob GET with 307 to URL + the same path (another origin)
  --trickle-blob-get N  the first N blob GETs: send the headers, then one body byte per second
  --trickle-manifest-get N  the same for manifest GETs (-1: every one)
  --v2-status CODE      answer every GET /v2/ with this status (a registry failing its probe)
  --corrupt-blobs       every blob GET: the registry's answer with its last byte changed (a
                        hostile mirror serving other bytes under the digest)
  --record-header NAME  with --record-auth: append that header's value (or -) instead
  --record-auth FILE    append "auth" or "none" to FILE for each request, by whether it carried
                        an Authorization header; with --grant USER:PASS the request is then
                        forwarded with those credentials, as a CDN honours a signed URL
Listens on 127.0.0.1 only; prints its port on stdout once it listens.
"""
import argparse
import base64
import http.client
import http.server
import signal
import threading
import time

# A parent may start us with SIGTERM blocked (threads of the Swift test runner block signals).
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])

parser = argparse.ArgumentParser()
parser.add_argument("--upstream", required=True, help="HOST:PORT of the real registry")
for name in ("drop-blob-get", "blob-put-503", "manifest-get-429", "manifest-put-503", "trickle-blob-get", "trickle-manifest-get", "v2-status"):
    parser.add_argument("--" + name, type=int, default=0)
parser.add_argument("--drop-digest", default="")
parser.add_argument("--redirect-blobs", default="")
parser.add_argument("--record-auth", default="")
parser.add_argument("--corrupt-blobs", action="store_true")
parser.add_argument("--grant", default="")
parser.add_argument("--record-header", default="", help="with --record-auth: record this header's value (or -) instead")
args = parser.parse_args()

budget = {
    "drop-blob-get": args.drop_blob_get,
    "blob-put-503": args.blob_put_503,
    "manifest-get-429": args.manifest_get_429,
    "manifest-put-503": args.manifest_put_503,
    "drop-digest": 1 if args.drop_digest else 0,
    "trickle-blob-get": args.trickle_blob_get,
    "trickle-manifest-get": args.trickle_manifest_get,
}
lock = threading.Lock()


def take(fault):
    with lock:
        if budget[fault] == 0:
            return False
        if budget[fault] > 0:
            budget[fault] -= 1
        return True


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def fault_for(self):
        path = self.path.split("?")[0]
        if self.command == "GET" and "/blobs/sha256:" in path and take("drop-blob-get"):
            return "drop"
        if self.command == "GET" and args.drop_digest and path.endswith("/blobs/" + args.drop_digest) and take("drop-digest"):
            return "drop"
        if self.command == "PUT" and "/blobs/uploads/" in path and take("blob-put-503"):
            return 503
        if self.command == "GET" and "/manifests/" in path and take("manifest-get-429"):
            return 429
        if self.command == "PUT" and "/manifests/" in path and take("manifest-put-503"):
            return 503
        if self.command == "GET" and "/blobs/sha256:" in path and take("trickle-blob-get"):
            return "trickle"
        if self.command == "GET" and "/manifests/" in path and take("trickle-manifest-get"):
            return "trickle"
        if self.command == "GET" and path == "/v2/" and args.v2_status:
            return args.v2_status
        return None

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if args.record_auth:
            with lock, open(args.record_auth, "a") as record:
                if args.record_header:
                    record.write(self.headers.get(args.record_header, "-") + "\n")
                else:
                    record.write(("auth" if self.headers.get("Authorization") else "none") + "\n")
        if args.redirect_blobs and self.command == "GET" and "/blobs/sha256:" in self.path:
            self.send_response(307)
            self.send_header("Location", args.redirect_blobs + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        fault = self.fault_for()
        if isinstance(fault, int):
            self.send_response(fault)
            if fault == 429:
                self.send_header("Retry-After", "1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        upstream = http.client.HTTPConnection(args.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        if args.grant:
            headers["Authorization"] = "Basic " + base64.b64encode(args.grant.encode()).decode()
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        payload = response.read()
        if args.corrupt_blobs and self.command == "GET" and "/blobs/sha256:" in self.path and payload:
            payload = payload[:-1] + bytes([payload[-1] ^ 0xFF])
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if fault == "trickle":
            try:
                for index in range(len(payload)):
                    self.wfile.write(payload[index:index + 1])
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
            self.close_connection = True
            return
        if fault == "drop" and self.command != "HEAD":
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if self.command != "HEAD":
            self.wfile.write(payload)
        upstream.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = forward


# A listen backlog of 5 (the default) drops parallel connects, which then wait a second for
# the SYN to be resent: kiln connects 8 at a time.
http.server.ThreadingHTTPServer.request_queue_size = 128
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print(server.server_address[1], flush=True)
server.serve_forever()
