#!/usr/bin/env python3
"""A declared minimal OCI 1.1 referrers-API shim in front of a real registry (tests only).

It exists only because Debian's registry (distribution 2.8) has no referrers API: with it, the
tests can exercise kiln's API path against the real registry's storage. It forwards every request
to the upstream registry unchanged, and in addition:
  - a manifest PUT whose body has a `subject` is answered with `OCI-Subject: <subject digest>`
    (what a registry with the API says when it indexed the referrer), and the referrer is
    remembered (in memory) under its repository and subject;
  - GET /v2/<name>/referrers/<digest>[?artifactType=T] answers an OCI index of the remembered
    referrers of that digest (filtered by artifactType, with `OCI-Filters-Applied`), 200 with an
    empty list when there are none, as distribution-spec 1.1 says.
Nothing else of the API (pagination, deletion) is implemented. With --require-subject, a
manifest PUT whose `subject` the upstream repository does not hold is refused with 400
MANIFEST_BLOB_UNKNOWN, as some registries do although distribution-spec 1.1 says a registry must
accept it. Listens on 127.0.0.1 only; prints its port on stdout once it listens.
"""
import argparse
import http.client
import http.server
import json
import re
import signal
import threading
import urllib.parse

signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])

parser = argparse.ArgumentParser()
parser.add_argument("--upstream", required=True, help="HOST:PORT of the real registry")
parser.add_argument("--require-subject", action="store_true", help="refuse a referrer whose subject is not there yet")
args = parser.parse_args()

lock = threading.Lock()
referrers = {}  # (repository, subject digest) -> {digest: descriptor}
REFERRERS = re.compile(r"^/v2/(.+)/referrers/(sha256:[0-9a-f]{64})$")
MANIFEST = re.compile(r"^/v2/(.+)/manifests/([^/]+)$")


class Shim(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def answer(self, status, headers, payload):
        self.send_response(status)
        for key, value in headers:
            if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def list_referrers(self, repository, digest, query):
        wanted = urllib.parse.parse_qs(query).get("artifactType", [None])[0]
        with lock:
            found = list(referrers.get((repository, digest), {}).values())
        headers = [("Content-Type", "application/vnd.oci.image.index.v1+json")]
        if wanted is not None:
            found = [d for d in found if d.get("artifactType") == wanted]
            headers.append(("OCI-Filters-Applied", "artifactType"))
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": found}
        self.answer(200, headers, json.dumps(index).encode())

    def forward(self):
        path, _, query = self.path.partition("?")
        if self.command in ("GET", "HEAD"):
            match = REFERRERS.match(path)
            if match:
                return self.list_referrers(match.group(1), match.group(2), query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        match = MANIFEST.match(path)
        if args.require_subject and self.command == "PUT" and match and body:
            try:
                subject = (json.loads(body) or {}).get("subject")
            except (ValueError, AttributeError):
                subject = None
            if isinstance(subject, dict) and isinstance(subject.get("digest"), str):
                check = http.client.HTTPConnection(args.upstream, timeout=30)
                check.request("HEAD", "/v2/%s/manifests/%s" % (match.group(1), subject["digest"]),
                              headers={"Accept": subject.get("mediaType") or "*/*"})
                found = check.getresponse()
                found.read()
                check.close()
                if found.status != 200:
                    error = {"errors": [{"code": "MANIFEST_BLOB_UNKNOWN", "message": "blob unknown to registry", "detail": subject["digest"]}]}
                    return self.answer(400, [("Content-Type", "application/json")], json.dumps(error).encode())
        upstream = http.client.HTTPConnection(args.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        payload = response.read()
        upstream.close()
        extra = []
        if self.command == "PUT" and match and response.status == 201 and body:
            try:
                manifest = json.loads(body)
            except ValueError:
                manifest = None
            subject = manifest.get("subject") if isinstance(manifest, dict) else None
            if isinstance(subject, dict) and isinstance(subject.get("digest"), str):
                digest = response.getheader("Docker-Content-Digest")
                descriptor = {"mediaType": manifest.get("mediaType") or self.headers.get("Content-Type"), "digest": digest, "size": len(body)}
                artifact_type = manifest.get("artifactType") or (manifest.get("config") or {}).get("mediaType")
                if artifact_type:
                    descriptor["artifactType"] = artifact_type
                if manifest.get("annotations"):
                    descriptor["annotations"] = manifest["annotations"]
                with lock:
                    referrers.setdefault((match.group(1), subject["digest"]), {})[digest] = descriptor
                extra.append(("OCI-Subject", subject["digest"]))
        self.answer(response.status, response.getheaders() + extra, payload)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = forward


http.server.ThreadingHTTPServer.request_queue_size = 128
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Shim)
print(server.server_address[1], flush=True)
server.serve_forever()
