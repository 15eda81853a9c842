# Shared by the benchmark scripts: build kiln, make a base, time commands, print medians.
# Source it after `set -euo pipefail`; it sets $kiln, $work (removed on exit) and $stage.
# KILN_SCRATCH_PATH=DIR builds kiln there instead of .build (relative to the repository root);
# KILN=PATH measures that binary instead, unbuilt (another version, for a before/after).

[[ -z ${KILN:-} ]] || kiln=$(realpath "$KILN")
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scratch=${KILN_SCRATCH_PATH:-.build}
if [[ -z ${KILN:-} ]]; then
  swift build -c release --product kiln --scratch-path "$scratch" >/dev/null
  kiln=$PWD/$scratch/release/kiln
fi
work=$(mktemp -d)
cleanup_hooks=()
cleanup() { for hook in "${cleanup_hooks[@]}"; do eval "$hook" || true; done; rm -rf "$work"; }
trap cleanup EXIT

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# make_base LAYOUT [MIB]: a three-layer base (3 x MIB MiB of incompressible data, default 43)
# built with umoci.
make_base() {
  local base=$1 mib=${2:-43} bundle=$work/bundle
  umoci init --layout "$base" >/dev/null
  umoci new --image "$base:base" >/dev/null
  for i in 1 2 3; do
    rm -rf "$bundle"
    umoci unpack --image "$base:base" "$bundle" >/dev/null
    mkdir -p "$bundle/rootfs/opt/layer$i" "$bundle/rootfs/etc/kong"
    head -c $((mib * 1024 * 1024)) /dev/urandom > "$bundle/rootfs/opt/layer$i/data.bin"
    echo "prefix = /usr/local/kong/" > "$bundle/rootfs/etc/kong/kong.conf.default"
    printf 'root:x:0:0::/root:/bin/sh\nkong:x:1000:1000::/home/kong:/bin/sh\n' > "$bundle/rootfs/etc/passwd"
    umoci repack --image "$base:base" "$bundle" >/dev/null
  done
  rm -rf "$bundle"
  du -sh "$base" | awk -v m="$mib" '{print "base: " $1 ", 3 layers of " m " MiB"}'
}

# start_registry NAME PORT: a docker-registry on 127.0.0.1:PORT, storage under $work/NAME/data,
# stopped on exit.
start_registry() { # NAME PORT
  mkdir -p "$work/$1"
  printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$work/$1/data" "$2" > "$work/$1/config.yml"
  docker-registry serve "$work/$1/config.yml" > "$work/$1/log" 2>&1 &
  cleanup_hooks+=("kill $!")
  for _ in $(seq 100); do curl -s "http://127.0.0.1:$2/v2/" >/dev/null && return; sleep 0.1; done
  echo "registry $1 did not start"; exit 1
}

# The peer needs the overlay staged as a tree with final owners and modes.
stage=$work/stage
mkdir -p "$stage/etc/kong" "$stage/usr/local/kong/declarative"
cp overlays/gateway/kong.conf "$stage/etc/kong/kong.conf"
cp overlays/gateway/declarative/kong.yml "$stage/usr/local/kong/declarative/kong.yml"
chown -R 1000:0 "$stage/etc/kong/kong.conf" "$stage/usr/local/kong/declarative"
chmod 0640 "$stage/etc/kong/kong.conf" "$stage/usr/local/kong/declarative/kong.yml"
chmod 0750 "$stage/usr/local/kong/declarative"
export stage

kiln_args=(--overlay overlays/gateway/kong.conf:/etc/kong/kong.conf --overlay overlays/gateway/declarative:/usr/local/kong/declarative
  --owner 1000:0 --mode 0640 --remove /etc/kong/kong.conf.default --env KONG_DATABASE=off --user kong)

# The peer's edit steps on an image already in layout $1 under tag "derived".
peer_edit='umoci insert --image "$1:derived" "$stage" / &&
  umoci insert --image "$1:derived" --whiteout /etc/kong/kong.conf.default &&
  umoci config --image "$1:derived" --config.env KONG_DATABASE=off --config.user kong'

# measure NAME CMD...: runs CMD, appends "seconds peak_rss_kib" to $work/NAME. Wall time from
# bash's EPOCHREALTIME; peak RSS from GNU time (the largest process of the command).
measure() {
  local name=$1; shift
  local t0=$EPOCHREALTIME
  /usr/bin/time -f "%M" -o "$work/.rss" "$@" >/dev/null 2>"$work/.err" || { echo "$name failed:"; cat "$work/.err"; exit 1; }
  local t1=$EPOCHREALTIME
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b-a}') $(cat "$work/.rss")" >> "$work/$name"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# report KILN PEER LABEL: medians of both and the peer/kiln time ratio.
report() {
  local kt pt km pm
  kt=$(awk '{print $1}' "$work/$1" | median); pt=$(awk '{print $1}' "$work/$2" | median)
  km=$(awk '{print $2}' "$work/$1" | median); pm=$(awk '{print $2}' "$work/$2" | median)
  awk -v l="$3" -v p="$2" -v kt="$kt" -v pt="$pt" -v km="$km" -v pm="$pm" 'BEGIN {
    printf "%-15s kiln %7.3f s %6.1f MiB | %-13s %7.3f s %6.1f MiB | ratio %5.1fx\n", l, kt, km/1024, p, pt, pm/1024, pt/kt }'
}
