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
# Every command's CPU seconds are recorded beside its wall time: kiln's own (user + system, GNU
# time) and each registry's (from /proc/PID/stat before and after), with the load average, since
# all of them share the machine's cores.
#
# Usage: Benchmarks/fanout.sh [RUNS] [MIB]   (defaults 3 and 341; medians are printed)
#   KILN_BASE=PATH  also measures that binary (e.g. main's), its single and fan-out runs
#                   interleaved with the measured binary's, run by run.
#   SYSCALLS=1      after the timed runs, one more single and fan-out run of each binary under
#                   `strace -f -c` (untimed): kiln's system calls by kind.
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
  registry_pids+=("$!")
  for _ in $(seq 600); do curl -s "http://$2/v2/" >/dev/null && return; sleep 0.1; done
  echo "registry $1 did not start"; cat "$work/$1/log"; exit 1
}
registry_pids=()
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

[[ -z ${KILN_BASE:-} ]] || kiln_base=$(realpath "$KILN_BASE")
labels=(single fanout)
[[ -z ${kiln_base:-} ]] || labels+=(base-single base-fanout)

# ticks: the user + system clock ticks each registry (source, then the targets) used so far.
ticks() { for pid in "${registry_pids[@]}"; do awk '{print $14 + $15}' "/proc/$pid/stat"; done | paste -sd' '; }
# measure_cpu NAME CMD...: appends "wall peak_rss_kib cmd_user cmd_sys src_cpu targets_cpu load1"
# to $work/NAME (CPU in seconds; cmd_* is the command's own, GNU time's, children included).
hz=$(getconf CLK_TCK)
measure_cpu() {
  local name=$1; shift
  local before after t0 t1
  before=$(ticks); t0=$EPOCHREALTIME
  /usr/bin/time -f "%M %U %S" -o "$work/.time" "$@" >/dev/null 2>"$work/.err" || { echo "$name failed:"; cat "$work/.err"; exit 1; }
  t1=$EPOCHREALTIME; after=$(ticks)
  awk -v a="$t0" -v b="$t1" -v hz="$hz" -v before="$before" -v after="$after" -v load="$(cut -d' ' -f1 /proc/loadavg)" -v t="$(tail -1 "$work/.time")" 'BEGIN {
    split(before, x, " "); split(after, y, " "); split(t, m, " ")
    targets = 0; for (i = 2; i in y; i++) targets += y[i] - x[i]
    printf "%.4f %s %s %s %.2f %.2f %s\n", b - a, m[1], m[2], m[3], (y[1] - x[1]) / hz, targets / hz, load }' >> "$work/$name"
}

for run in $(seq "$runs"); do
  for label in "${labels[@]}"; do
    binary=$kiln; kind=${label#base-}; [[ $label != base-* ]] || binary=$kiln_base
    wipe_targets
    measure_cpu "$label" "$binary" build --root "$work/root-$kind" --quiet --no-provenance
    served "$label"
  done
  wipe_targets
  measure_cpu skopeo3 bash -c 'for t in "$@"; do skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false "docker://'"$src"'/base/app:1" "docker://$t/s/app:1"; done' _ "${targets[@]}"
  served skopeo3
done

if [[ ${SYSCALLS:-0} = 1 ]]; then
  for label in "${labels[@]}"; do
    binary=$kiln; kind=${label#base-}; [[ $label != base-* ]] || binary=$kiln_base
    wipe_targets
    strace -f -c -o "$work/$label.strace" "$binary" build --root "$work/root-$kind" --quiet --no-provenance >/dev/null 2>&1
    echo "$label: system calls (strace -f -c): $(awk '$NF ~ /^(futex|read|write|pread64|pwrite64|writev|readv|epoll_wait|sendmsg|recvfrom)$/ { printf "%s %s, ", $NF, $4 } $NF == "total" { printf "total %s", $4 }' "$work/$label.strace")"
  done
fi
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "medians of $runs runs (CPU: the command's own user + system; the registries' from /proc):"
col() { awk -v c="$2" '{print $c}' "$work/$1" | median; }
for name in "${labels[@]}" skopeo3; do
  printf '%-12s %8.3f s %7.1f MiB peak RSS | source served %8.1f MiB | CPU: cmd %5.2f user + %5.2f sys, source registry %5.2f, target registries %5.2f | load %s\n' \
    "$name" "$(col "$name" 1)" "$(echo "$(col "$name" 2) / 1024" | bc -l)" "$(echo "$(median < "$work/$name.bytes") / 1048576" | bc -l)" \
    "$(col "$name" 3)" "$(col "$name" 4)" "$(col "$name" 5)" "$(col "$name" 6)" "$(col "$name" 7)"
done
ratios() { # SINGLE FANOUT
  awk -v s="$(col "$1" 1)" -v f="$(col "$2" 1)" -v k="$(col skopeo3 1)" -v l="$3" \
    'BEGIN { printf "%sfan-out / single: %.2fx (goal: at most 1.3x); 3 skopeo copies / fan-out: %.2fx (goal: at least 2.5x)\n", l, f / s, k / f }'
}
ratios single fanout ""
[[ -z ${kiln_base:-} ]] || ratios base-single base-fanout "KILN_BASE: "
echo "every run (wall s, peak RSS KiB, cmd user s, cmd sys s, source registry CPU s, target registries CPU s, load1):"
for name in "${labels[@]}" skopeo3; do sed "s/^/$name /" "$work/$name"; done
