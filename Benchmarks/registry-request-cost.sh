#!/usr/bin/env bash
# What one request of each kind `kiln build` makes costs the distribution registry in CPU (user +
# system, from its /proc stat), to say where a build's time goes on a machine where the registry
# shares the cores (issue 24: provenance's requests). One docker-registry on 127.0.0.1, configured
# as Benchmarks/build-many.sh's (access log on, info level); each kind N times, each time in a
# repository of its own, one keep-alive connection from python3 (the client's CPU is not counted).
#
# Usage: Benchmarks/registry-request-cost.sh [N]   (default 300)
# Needs: docker-registry, python3, curl.
set -euo pipefail
n=${1:-300}
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [N]" >&2; exit 64; }
work=$(mktemp -d)
pid=
cleanup() { [[ -z $pid ]] || kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
port=
for ((p = 55301; p < 55501; p++)); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { port=$p; break; }; done
[[ -n $port ]] || { echo "no free port" >&2; exit 1; }
printf 'version: 0.1\nlog:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n  secret: kiln-bench\n' \
  "$work/data" "$port" > "$work/config.yml"
docker-registry serve "$work/config.yml" > "$work/access.log" 2> "$work/log" &
pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.1; done
echo "docker-registry $(docker-registry --version | awk '{print $3}'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $n requests per kind"
python3 - "$port" "$pid" "$n" <<'PY'
import hashlib, http.client, json, os, sys, time
port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
hz = os.sysconf('SC_CLK_TCK')
def cpu():
    fields = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / hz
conn = http.client.HTTPConnection('127.0.0.1', port)
def req(method, path, body=None, headers={}):
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse(); response.read()
    return response.status, response.headers
def sha(data): return 'sha256:' + hashlib.sha256(data).hexdigest()
def upload(repo, data, mount_self=False):
    digest = sha(data)
    status, headers = req('POST', f'/v2/{repo}/blobs/uploads/' + (f'?mount={digest}&from={repo}' if mount_self else ''))
    if status == 201: return
    location = headers['Location'].split(f':{port}', 1)[1]
    status, _ = req('PUT', location + ('&' if '?' in location else '?') + 'digest=' + digest, data, {'Content-Type': 'application/octet-stream'})
    assert status == 201, status
EMPTY = sha(b'{}')
upload('src/empty', b'{}')
run = time.time_ns()
def repo(i): return f'r{run}/svc{i}'
def measure(name, op):
    time.sleep(0.3); before = cpu()
    for i in range(n): op(i)
    time.sleep(0.3)
    print(f'  {name:48s} {(cpu() - before) / n * 1000:6.2f} ms', flush=True)
OCI_MANIFEST, OCI_INDEX = 'application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json'
def statement(i): return (b'{"statement": %d} ' % i) * 80
def artifact(i):
    s = statement(i)
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.in-toto+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY, "size": 2, "data": "e30="},
        "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": sha(s), "size": len(s)}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": f'sha256:{i:064x}', "size": 1000}}, separators=(',', ':')).encode()
def index(i):
    a = artifact(i)
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [{"mediaType": OCI_MANIFEST, "digest": sha(a), "size": len(a),
        "artifactType": "application/vnd.in-toto+json"}]}, separators=(',', ':')).encode()
def put(i, reference, body, media_type):
    status, _ = req('PUT', f'/v2/{repo(i)}/manifests/{reference}', body, {'Content-Type': media_type})
    assert status == 201, status
print('registry CPU per request (user + system):')
measure('GET /v2/ (the fixed cost of any request)', lambda i: req('GET', '/v2/'))
measure('HEAD tag, 404 (build: is it built?)', lambda i: req('HEAD', f'/v2/{repo(i)}/manifests/kiln.sha256.{i:064x}'))
measure('HEAD blob, 404', lambda i: req('HEAD', f'/v2/{repo(i)}/blobs/sha256:{i:064x}'))
measure('POST mount from another repository, 201', lambda i: req('POST', f'/v2/{repo(i)}/blobs/uploads/?mount={EMPTY}&from=src/empty'))
measure('POST mount from itself, held: 201', lambda i: req('POST', f'/v2/{repo(i)}/blobs/uploads/?mount={EMPTY}&from={repo(i)}'))
measure('upload: POST mount from itself (202) + PUT', lambda i: upload(repo(i), statement(i), True))
measure('GET tag-schema index, 404', lambda i: req('GET', f'/v2/{repo(i)}/manifests/sha256-{i:064x}', headers={'Accept': OCI_INDEX}))
measure('PUT artifact manifest by digest, new', lambda i: put(i, sha(artifact(i)), artifact(i), OCI_MANIFEST))
measure('PUT tag-schema index by tag, new', lambda i: put(i, f'sha256-{i:064x}', index(i), OCI_INDEX))
measure('PUT the same manifest under a second tag', lambda i: put(i, 'latest', artifact(i), OCI_MANIFEST))
measure('HEAD tag, 200', lambda i: req('HEAD', f'/v2/{repo(i)}/manifests/latest'))
measure('HEAD manifest by digest, 200 (no-op: the artifact)', lambda i: req('HEAD', f'/v2/{repo(i)}/manifests/{sha(artifact(i))}', headers={'Accept': OCI_MANIFEST}))
measure('GET tag-schema index, 200', lambda i: req('GET', f'/v2/{repo(i)}/manifests/sha256-{i:064x}', headers={'Accept': OCI_INDEX}))
PY
