#!/usr/bin/env bash
# kiln outdated over 50 specs sharing 5 base tags on one loopback registry, timed, with the
# registry's requests counted from its access log; beside it the peer way of asking the same:
# `skopeo inspect --raw` of each of the 5 tags (one process each; regctl is not installable here).
#
#   one docker-registry on 127.0.0.1 with its access log on; a 1-layer base (BASE_MIB MiB,
#   default 1, built with umoci) pushed with skopeo under 5 tags base/app:t1..t5
#   a project with 50 specs images/svcNN.yaml, spec NN on tag t(NN mod 5 + 1), one overlay file
#   each; locked once
#   per run: kiln outdated (every base current: exit 0), then the 5 skopeo inspect --raw calls
#
# The issue's targets: at most 5 requests to the registry after the probe (GET /v2/), and at most
# 0.5 s wall for the whole command.
#
# Usage: Benchmarks/outdated-many.sh [RUNS]   (default 5; medians are printed)
# Environment: SPECS (default 50), TAGS (default 5), BASE_MIB (default 1).
# Needs: swift, umoci, skopeo, docker-registry, GNU time, curl.
set -euo pipefail
runs=${1:-5}
specs=${SPECS:-50}
tags=${TAGS:-5}
base_mib=${BASE_MIB:-1}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 64; }
source "$(dirname "$0")/lib.sh"

# Nothing from the user's configuration: no credentials, no endpoints, no mirrors.
export KILN_CONFIG=$work/kiln-config.yaml && echo 'registries: {}' > "$KILN_CONFIG"
export DOCKER_CONFIG=$work/docker && mkdir -p "$DOCKER_CONFIG" && echo '{"auths":{}}' > "$DOCKER_CONFIG/config.json"
export REGISTRY_AUTH_FILE=$DOCKER_CONFIG/config.json

port=55121
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
host=127.0.0.1:$port
mkdir -p "$work/reg"
printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' "$work/reg/data" "$host" > "$work/reg/config.yml"
env -u REGISTRY_AUTH_FILE docker-registry serve "$work/reg/config.yml" > "$work/reg/access.log" 2> "$work/reg/log" &
cleanup_hooks+=("kill $!")
for _ in $(seq 100); do curl -s -o /dev/null "http://$host/v2/" && break; sleep 0.1; done

# The requests the registry logged since line $1 (it logs once the response is sent: wait until
# the log is quiet for 0.2 s), as "METHOD PATH" lines.
requests_since() {
  local n m; n=$(wc -l < "$work/reg/access.log")
  while sleep 0.2; m=$(wc -l < "$work/reg/access.log"); [[ $m != "$n" ]]; do n=$m; done
  tail -n +"$(($1 + 1))" "$work/reg/access.log" | awk -F'"' '/^[0-9a-f.:]+ - / {split($2, r, " "); print r[1], r[2]}'
}

make_base_small() {
  local base=$work/base bundle=$work/bundle
  umoci init --layout "$base" >/dev/null
  umoci new --image "$base:base" >/dev/null
  umoci unpack --rootless --image "$base:base" "$bundle" >/dev/null
  mkdir -p "$bundle/rootfs/etc/svc"
  head -c $((base_mib * 1024 * 1024)) /dev/urandom > "$bundle/rootfs/etc/svc/data.bin"
  printf 'root:x:0:0::/root:/bin/sh\n' > "$bundle/rootfs/etc/passwd"
  umoci repack --image "$base:base" "$bundle" >/dev/null
  umoci config --image "$base:base" --os linux --architecture amd64 >/dev/null
  rm -rf "$bundle"
}
make_base_small
for t in $(seq "$tags"); do
  skopeo copy --quiet --dest-tls-verify=false "oci:$work/base:base" "docker://$host/base/app:t$t"
done

project=$work/project
mkdir -p "$project/images" "$project/files"
for i in $(seq -w 1 "$specs"); do
  printf 'service = svc%s\n' "$i" > "$project/files/svc$i.conf"
  cat > "$project/images/svc$i.yaml" <<SPEC
base: $host/base/app:t$((10#$i % tags + 1))
target: $host/run/svc$i
overlays:
  - {from: files/svc$i.conf, to: /etc/svc/app.conf}
SPEC
done
"$kiln" lock --root "$project" --quiet >/dev/null
echo "kiln: $("$kiln" --version), $(git log -1 --format=%h)$(git diff --quiet HEAD -- Sources Package.swift || echo ' + local changes'); $specs specs on $tags tags, $runs runs; load average $(cut -d' ' -f1-3 /proc/loadavg)"

for run in $(seq "$runs"); do
  before=$(wc -l < "$work/reg/access.log")
  measure kiln "$kiln" outdated --root "$project" --quiet
  requests_since "$before" > "$work/kiln-requests-$run"
  before=$(wc -l < "$work/reg/access.log")
  measure skopeo bash -c 'for t in $(seq "$1"); do skopeo inspect --raw --tls-verify=false "docker://$2/base/app:t$t" >/dev/null || exit 1; done' _ "$tags" "$host"
  requests_since "$before" > "$work/skopeo-requests-$run"
done

echo
report kiln skopeo "outdated x$specs"
echo
echo "registry requests of the last run (access log):"
echo "  kiln outdated:            $(grep -vc '^GET /v2/$' "$work/kiln-requests-$runs" || true) after the probe, $(grep -c '^GET /v2/$' "$work/kiln-requests-$runs" || true) probe(s)"
sort "$work/kiln-requests-$runs" | uniq -c | sed 's/^/    /'
echo "  skopeo inspect --raw x$tags: $(grep -vc '^GET /v2/$' "$work/skopeo-requests-$runs" || true) after the probes, $(grep -c '^GET /v2/$' "$work/skopeo-requests-$runs" || true) probe(s)"
sort "$work/skopeo-requests-$runs" | uniq -c | sed 's/^/    /'
kt=$(awk '{print $1}' "$work/kiln" | median)
worst=$(for r in $(seq "$runs"); do grep -vc '^GET /v2/$' "$work/kiln-requests-$r" || true; done | sort -n | tail -1)
echo
awk -v t="$kt" -v n="$worst" -v tags="$tags" 'BEGIN {
  printf "targets: wall %.3f s <= 0.5 s %s; requests after the probe (most of any run) %d <= %d %s\n", t, (t <= 0.5 ? "met" : "NOT met"), n, tags, (n <= tags ? "met" : "NOT met") }'
