#!/usr/bin/env bash
# One build, several registries: the gateway overlay baked onto a three-layer base held in a
# source registry (3 x MIB MiB of incompressible data; default 341, about 1 GiB) and pushed
#
#   fan-out:  kiln build of a spec with targets: [T1, T2, T3]  (three other registries)
#   single:   kiln build of the same spec with target: T1
#   skopeo:   three sequential `skopeo copy SRC/base Tn/...` runs of the base alone (no bake)
#
# all on distribution registries on 127.0.0.1. Every target registry's storage is emptied
# before each command (otherwise blobs of an earlier run would be found or mounted). The source
# registry's access log gives the bytes it served to each command (blob GETs' response sizes).
#
# Usage: Benchmarks/fanout.sh [RUNS] [MIB]   (defaults 3 and 341; medians are printed)
# Needs: swift, umoci, skopeo, docker-registry, GNU time.
set -euo pipefail
runs=${1:-3}
mib=${2:-341}
source "$(dirname "$0")/lib.sh"

src=127.0.0.1:55101
targets=(127.0.0.1:55102 127.0.0.1:55103 127.0.0.1:55104)
# Registries with the access log on (the source's gives the bytes served), and a minute to
# start on a loaded machine (lib.sh's start_registry waits 10 s).
start_logged_registry() { # NAME ADDRESS
  mkdir -p "$work/$1"
  printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' "$work/$1/data" "$2" > "$work/$1/config.yml"
  docker-registry serve "$work/$1/config.yml" > "$work/$1/log" 2>&1 &
  cleanup_hooks+=("kill $!")
  for _ in $(seq 600); do curl -s "http://$2/v2/" >/dev/null && return; sleep 0.1; done
  echo "registry $1 did not start"; cat "$work/$1/log"; exit 1
}
start_logged_registry src "$src"
for i in 1 2 3; do start_logged_registry "t$i" "${targets[$((i - 1))]}"; done

make_base "$work/base" "$mib"
skopeo copy --quiet --dest-tls-verify=false "oci:$work/base:base" "docker://$src/base/app:1"
export DOCKER_CONFIG=$work/docker && mkdir -p "$DOCKER_CONFIG" && echo '{"auths":{}}' > "$DOCKER_CONFIG/config.json"

# Two project roots with the same spec but for its targets (the lock is the same: the derived
# image does not depend on them).
for kind in single fanout; do
  root=$work/root-$kind
  mkdir -p "$root/images" "$root/overlays"
  cp -R overlays/gateway "$root/overlays/gateway"
  if [ "$kind" = single ]; then
    target_lines="target: ${targets[0]}/k/app"
  else
    target_lines=$(printf 'targets:\n  - %s/k/app\n  - %s/k/app\n  - %s/k/app' "${targets[@]}")
  fi
  cat > "$root/images/gateway.yaml" <<EOF
base: $src/base/app:1
$target_lines
overlays:
  - from: overlays/gateway/kong.conf
    to: /etc/kong/kong.conf
    owner: "1000:0"
    mode: "0640"
  - from: overlays/gateway/declarative
    to: /usr/local/kong/declarative
    owner: "1000:0"
    mode: "0640"
remove: [/etc/kong/kong.conf.default]
config:
  env: {KONG_DATABASE: "off"}
  user: kong
EOF
  "$kiln" lock --root "$root" --quiet >/dev/null
done
cmp "$work/root-single/kiln.lock" "$work/root-fanout/kiln.lock"

wipe_targets() { for i in 1 2 3; do rm -rf "$work/t$i/data"; done; rm -rf "$work/cache"; }
export KILN_CACHE_DIR=$work/cache

# served LABEL: the bytes of blob bodies the source sent since the last call, appended to $work/LABEL.bytes.
seen=0
served() {
  local total
  total=$(awk '$0 ~ /"GET \/v2\/[^ ]*\/blobs\/sha256:/ { for (i = 1; i <= NF; i++) if ($i ~ /^HTTP\//) { print $(i + 2); break } }' "$work/src/log" \
    | awk '{s += $1} END {printf "%.0f", s}')
  echo $((total - seen)) >> "$work/$1.bytes"
  seen=$total
}
served start

for run in $(seq "$runs"); do
  wipe_targets
  measure single "$kiln" build --root "$work/root-single" --quiet --no-provenance
  served single
  wipe_targets
  measure fanout "$kiln" build --root "$work/root-fanout" --quiet --no-provenance
  served fanout
  wipe_targets
  measure skopeo3 bash -c 'for t in "$@"; do skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false "docker://'"$src"'/base/app:1" "docker://$t/s/app:1"; done' _ "${targets[@]}"
  served skopeo3
done

# Where the time goes: kiln's own CPU seconds in one more run of each (the rest of the wall
# time is the registries', which hash and store every byte they receive, on the same cores).
for kind in single fanout; do
  wipe_targets
  /usr/bin/time -f "$kind: %e s wall, kiln CPU %U s user + %S s system" "$kiln" build --root "$work/root-$kind" --quiet --no-provenance 2>&1 >/dev/null | tail -1
done
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "medians of $runs runs:"
for name in single fanout skopeo3; do
  t=$(awk '{print $1}' "$work/$name" | median); m=$(awk '{print $2}' "$work/$name" | median)
  b=$(median < "$work/$name.bytes")
  printf '%-8s %8.3f s %7.1f MiB peak RSS | source served %8.1f MiB\n' "$name" "$t" "$(echo "$m / 1024" | bc -l)" "$(echo "$b / 1048576" | bc -l)"
done
awk -v s="$(awk '{print $1}' "$work/single" | median)" -v f="$(awk '{print $1}' "$work/fanout" | median)" -v k="$(awk '{print $1}' "$work/skopeo3" | median)" \
  'BEGIN { printf "fan-out / single: %.2fx (goal: at most 1.3x); 3 skopeo copies / fan-out: %.2fx (goal: at least 2.5x)\n", f / s, k / f }'
