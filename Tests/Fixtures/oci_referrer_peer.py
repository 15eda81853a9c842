#!/usr/bin/env python3
"""A test peer that attaches and inspects OCI 1.1 referrers over plain HTTP, as a signer
(cosign, notation, oras) does, independently of kiln (tests only).

  attach REGISTRY REPO SUBJECT_DIGEST --mode schema|api [--artifact-type T] [--payload TEXT]
      Uploads the empty config and one payload layer, PUTs an artifact manifest whose `subject`
      is SUBJECT_DIGEST (media type and size read from the registry). With --mode api the
      registry must answer OCI-Subject (the referrers-API path); with --mode schema the referrer
      is added to the tag schema's index `sha256-<hex>` (read, append, PUT), as cosign's and
      notation's fallback does. Prints the artifact manifest's digest.
  blobs REGISTRY REPO MANIFEST_DIGEST
      Exits 1 unless the manifest and every blob it names are in REPO (GET and HEADs).
  misfile REGISTRY REPO MANIFEST_DIGEST SUBJECT_DIGEST
      Adds MANIFEST_DIGEST to SUBJECT_DIGEST's tag-schema index although its own subject is
      another image (what a hostile or broken writer leaves).
  referrers REGISTRY REPO SUBJECT_DIGEST
      Prints the referrers API's answer (JSON), exit 1 when the API is absent.
REGISTRY is HOST:PORT, plain HTTP, no authentication.
"""
import hashlib
import http.client
import json
import sys

EMPTY = b"{}"
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def request(registry, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection(registry, timeout=30)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response, payload


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def put_blob(registry, repo, data):
    response, _ = request(registry, "HEAD", f"/v2/{repo}/blobs/{digest(data)}")
    if response.status == 200:
        return
    response, _ = request(registry, "POST", f"/v2/{repo}/blobs/uploads/", b"", {"Content-Length": "0"})
    assert response.status == 202, response.status
    location = response.getheader("Location")
    if location.startswith("http"):
        location = "/" + location.split("/", 3)[3]
    separator = "&" if "?" in location else "?"
    response, payload = request(registry, "PUT", f"{location}{separator}digest={digest(data)}", data,
                                {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))})
    assert response.status == 201, (response.status, payload)


def attach(registry, repo, subject, mode, artifact_type, payload):
    accept = ", ".join([INDEX, MANIFEST, "application/vnd.docker.distribution.manifest.v2+json",
                        "application/vnd.docker.distribution.manifest.list.v2+json"])
    response, body = request(registry, "GET", f"/v2/{repo}/manifests/{subject}", headers={"Accept": accept})
    assert response.status == 200, response.status
    subject_descriptor = {"mediaType": response.getheader("Content-Type"), "digest": subject, "size": len(body)}
    layer = payload.encode()
    put_blob(registry, repo, EMPTY)
    put_blob(registry, repo, layer)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": digest(EMPTY), "size": 2, "data": "e30="},
        "layers": [{"mediaType": artifact_type, "digest": digest(layer), "size": len(layer)}],
        "subject": subject_descriptor,
        "annotations": {"org.example.peer": "oci_referrer_peer.py"},
    }
    data = json.dumps(manifest, separators=(",", ":")).encode()
    response, body = request(registry, "PUT", f"/v2/{repo}/manifests/{digest(data)}", data, {"Content-Type": MANIFEST})
    assert response.status == 201, (response.status, body)
    indexed = response.getheader("OCI-Subject") == subject
    if mode == "api":
        assert indexed, "the registry did not answer OCI-Subject"
    else:
        assert not indexed, "the registry has the referrers API; use --mode api"
        tag = subject.replace(":", "-")
        response, body = request(registry, "GET", f"/v2/{repo}/manifests/{tag}", headers={"Accept": INDEX})
        index = json.loads(body) if response.status == 200 else {"schemaVersion": 2, "mediaType": INDEX, "manifests": []}
        index["manifests"].append({"mediaType": MANIFEST, "digest": digest(data), "size": len(data),
                                   "artifactType": artifact_type, "annotations": manifest["annotations"]})
        response, body = request(registry, "PUT", f"/v2/{repo}/manifests/{tag}", json.dumps(index).encode(), {"Content-Type": INDEX})
        assert response.status == 201, (response.status, body)
    print(digest(data))


def blobs(registry, repo, manifest_digest):
    response, body = request(registry, "GET", f"/v2/{repo}/manifests/{manifest_digest}", headers={"Accept": MANIFEST})
    if response.status != 200 or digest(body) != manifest_digest:
        print(f"manifest {manifest_digest}: HTTP {response.status}")
        return 1
    manifest = json.loads(body)
    for descriptor in [manifest["config"]] + manifest.get("layers", []):
        response, _ = request(registry, "HEAD", f"/v2/{repo}/blobs/{descriptor['digest']}")
        if response.status != 200:
            print(f"blob {descriptor['digest']}: HTTP {response.status}")
            return 1
    return 0


def misfile(registry, repo, manifest_digest, subject):
    response, body = request(registry, "GET", f"/v2/{repo}/manifests/{manifest_digest}", headers={"Accept": MANIFEST})
    assert response.status == 200, response.status
    tag = subject.replace(":", "-")
    response, index_body = request(registry, "GET", f"/v2/{repo}/manifests/{tag}", headers={"Accept": INDEX})
    index = json.loads(index_body) if response.status == 200 else {"schemaVersion": 2, "mediaType": INDEX, "manifests": []}
    index["manifests"].append({"mediaType": MANIFEST, "digest": manifest_digest, "size": len(body)})
    response, body = request(registry, "PUT", f"/v2/{repo}/manifests/{tag}", json.dumps(index).encode(), {"Content-Type": INDEX})
    assert response.status == 201, (response.status, body)
    return 0


def referrers(registry, repo, subject):
    response, body = request(registry, "GET", f"/v2/{repo}/referrers/{subject}", headers={"Accept": INDEX})
    if response.status != 200:
        return 1
    print(body.decode())
    return 0


def main(argv):
    command = argv[1]
    if command == "attach":
        options = dict(zip(argv[5::2], argv[6::2]))
        attach(argv[2], argv[3], argv[4], options["--mode"], options.get("--artifact-type", "application/vnd.example.signature"),
               options.get("--payload", "signed"))
        return 0
    if command == "blobs":
        return blobs(argv[2], argv[3], argv[4])
    if command == "misfile":
        return misfile(argv[2], argv[3], argv[4], argv[5])
    if command == "referrers":
        return referrers(argv[2], argv[3], argv[4])
    print(__doc__)
    return 2


sys.exit(main(sys.argv))
