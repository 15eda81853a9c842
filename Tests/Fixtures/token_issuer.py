#!/usr/bin/env python3
"""A minimal token issuer for a distribution registry with `auth: token` (tests only).

Serves GET /token?service=S&scope=S1&scope=S2 (the distribution token flow) and answers
{"token", "access_token", "expires_in", "issued_at"} with an RS256 JWT that the registry checks
against its `rootcertbundle`: the key signs, and its self-signed certificate travels in the
JWT header's `x5c` chain (what distribution 2.8 verifies).

Access it grants, per requested `repository:NAME:ACTIONS` scope:
  anyone (no Authorization)     pull on public/*
  --user USER:PASSWORD (Basic)  pull and push on every repository
A wrong user or password answers 401; a request without credentials is anonymous.

  --service NAME     the audience (the registry's `service`)
  --issuer NAME      the `iss` claim (the registry's `issuer`)
  --cert-out FILE    where to write the certificate (the registry's `rootcertbundle`)
  --log FILE         one JSON line per request: path (with query), whether Authorization
                     was present, the requested scopes and the access granted
Listens on 127.0.0.1 only; prints its port on stdout once it listens and the certificate is
written.
"""
import argparse
import base64
import datetime
import http.server
import json
import secrets
import signal
import threading
import time
import urllib.parse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# A parent may start us with SIGTERM blocked (threads of the Swift test runner block signals).
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])

parser = argparse.ArgumentParser()
parser.add_argument("--service", required=True)
parser.add_argument("--issuer", required=True)
parser.add_argument("--user", required=True, help="USER:PASSWORD granted pull and push")
parser.add_argument("--cert-out", required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--lifetime", type=int, default=300, help="token lifetime in seconds")
args = parser.parse_args()
expected_user, expected_password = args.user.split(":", 1)

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kiln test token issuer")])
now = datetime.datetime.now(datetime.timezone.utc)
certificate = (
    x509.CertificateBuilder()
    .subject_name(name)
    .issuer_name(name)
    .public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(hours=1))
    .not_valid_after(now + datetime.timedelta(days=2))
    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    .sign(key, hashes.SHA256())
)
with open(args.cert_out, "wb") as out:
    out.write(certificate.public_bytes(serialization.Encoding.PEM))
x5c = [base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()]
lock = threading.Lock()


def granted(scope, user):
    """The access entry for one requested scope, or None."""
    parts = scope.split(":")
    if len(parts) < 3 or parts[0] != "repository":
        return None
    repository, requested = ":".join(parts[1:-1]), parts[-1].split(",")
    allowed = {"pull", "push"} if user else ({"pull"} if repository.startswith("public/") else set())
    actions = [action for action in requested if action in allowed]
    return {"type": "repository", "name": repository, "actions": actions} if actions else None


class Issuer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def answer(self, status, body):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def authenticated_user(self):
        """The user name, "" for anonymous, None for wrong credentials."""
        header = self.headers.get("Authorization")
        if not header:
            return ""
        if not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        return user if (user, password) == (expected_user, expected_password) else None

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        scopes = query.get("scope", [])
        user = self.authenticated_user()
        access = [entry for entry in (granted(scope, user) for scope in scopes) if entry] if user is not None else []
        with lock, open(args.log, "a") as log:
            log.write(json.dumps({
                "path": self.path,
                "authorization": bool(self.headers.get("Authorization")),
                "scopes": scopes,
                "granted": access,
                "status": 401 if user is None else (200 if url.path == "/token" else 404),
            }) + "\n")
        if url.path != "/token":
            return self.answer(404, {"errors": [{"code": "NOT_FOUND", "message": "only /token"}]})
        if user is None:
            return self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "wrong user or password"}]})
        issued = int(time.time())
        claims = {
            "iss": args.issuer,
            "sub": user,
            "aud": query.get("service", [args.service])[0],
            "exp": issued + args.lifetime,
            "nbf": issued - 10,
            "iat": issued,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        token = jwt.encode(claims, key, algorithm="RS256", headers={"x5c": x5c})
        self.answer(200, {
            "token": token,
            "access_token": token,
            "expires_in": args.lifetime,
            "issued_at": datetime.datetime.fromtimestamp(issued, datetime.timezone.utc).isoformat(),
        })


# A listen backlog of 5 (the default) drops parallel connects, which then wait a second for
# the SYN to be resent: kiln connects 8 at a time.
http.server.ThreadingHTTPServer.request_queue_size = 128
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Issuer)
print(server.server_address[1], flush=True)
server.serve_forever()
