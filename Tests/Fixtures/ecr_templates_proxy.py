#!/usr/bin/env python3
"""moto plus the ECR call moto does not have (tests only).

Forwards every ECR API request to moto unchanged, except DescribeRepositoryCreationTemplates,
which moto 5 does not implement: that one is answered from PAGES, a JSON file holding a list of
answer documents as ECR documents them (the first request gets the first page, a request with
`nextToken` N gets page N), and each such request (its X-Amz-Target, whether it was signed, and
its body) is appended as one JSON line to LOG.
  --upstream HOST:PORT  moto
  --pages FILE          the answers
  --log FILE            the requests received
Listens on 127.0.0.1 only; prints its port on stdout once it listens.
"""
import argparse
import http.client
import http.server
import json
import signal
import threading

signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])

parser = argparse.ArgumentParser()
parser.add_argument("--upstream", required=True)
parser.add_argument("--pages", required=True)
parser.add_argument("--log", required=True)
args = parser.parse_args()
lock = threading.Lock()
TARGET = "AmazonEC2ContainerRegistry_V20150921.DescribeRepositoryCreationTemplates"


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def answer(self, status, body, content_type="application/x-amz-json-1.1"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("X-Amz-Target") == TARGET:
            request = json.loads(body or b"{}")
            with lock, open(args.log, "a") as log:
                log.write(json.dumps({"target": self.headers.get("X-Amz-Target"),
                                      "signed": self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "),
                                      "contentType": self.headers.get("Content-Type"), "body": request}) + "\n")
            with open(args.pages) as f:
                pages = json.load(f)
            if isinstance(pages, dict):  # an error answer: {"status": 400, "error": {...}}
                self.answer(pages["status"], json.dumps(pages["error"]).encode())
                return
            index = int(request.get("nextToken", "0"))
            self.answer(200, json.dumps(pages[index]).encode())
            return
        self.forward(body)

    def do_GET(self):
        self.forward(b"")

    def forward(self, body):
        connection = http.client.HTTPConnection(args.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
        connection.request(self.command, self.path, body=body if self.command != "GET" else None, headers=headers)
        response = connection.getresponse()
        data = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("connection", "content-length", "transfer-encoding", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        connection.close()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print(server.server_address[1], flush=True)
server.serve_forever()
