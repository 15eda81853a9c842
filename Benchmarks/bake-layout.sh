#!/usr/bin/env bash
# Bakes the gateway overlay onto a ~130 MB three-layer base held in an OCI layout, with kiln and
# with the peer pipeline on the same data, and prints wall time, peak RSS and the ratio.
#
#   in place:   kiln bake --output oci:SAME:derived
#               vs  umoci tag + umoci insert (one staged tree) + umoci insert --whiteout + umoci config
#   new layout: kiln bake --output oci:NEW:derived (copies and verifies the base layers)
#               vs  skopeo copy oci:BASE oci:NEW + the same umoci steps
#
# Usage: Benchmarks/bake-layout.sh [RUNS]   (default 5; medians are printed)
# Needs: swift, umoci, skopeo, GNU time (apt-get install -y umoci skopeo time).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
swift build -c release --product kiln >/dev/null
kiln=$PWD/.build/release/kiln
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "building a three-layer base (3 x 43 MiB of incompressible data) with umoci..."
base=$work/base
umoci init --layout "$base" >/dev/null
umoci new --image "$base:base" >/dev/null
for i in 1 2 3; do
  rm -rf "$work/bundle"
  umoci unpack --image "$base:base" "$work/bundle" >/dev/null
  mkdir -p "$work/bundle/rootfs/opt/layer$i"
  head -c $((43 * 1024 * 1024)) /dev/urandom > "$work/bundle/rootfs/opt/layer$i/data.bin"
  mkdir -p "$work/bundle/rootfs/etc/kong" && echo "prefix = /usr/local/kong/" > "$work/bundle/rootfs/etc/kong/kong.conf.default"
  printf 'root:x:0:0::/root:/bin/sh\nkong:x:1000:1000::/home/kong:/bin/sh\n' > "$work/bundle/rootfs/etc/passwd"
  umoci repack --image "$base:base" "$work/bundle" >/dev/null
done
rm -rf "$work/bundle"
du -sh "$base" | awk '{print "base layout: " $1}'

# The peer needs the overlay staged as a tree with final owners and modes.
stage=$work/stage
mkdir -p "$stage/etc/kong" "$stage/usr/local/kong/declarative"
cp overlays/gateway/kong.conf "$stage/etc/kong/kong.conf"
cp overlays/gateway/declarative/kong.yml "$stage/usr/local/kong/declarative/kong.yml"
chown -R 1000:0 "$stage/etc/kong/kong.conf" "$stage/usr/local/kong/declarative"
chmod 0640 "$stage/etc/kong/kong.conf" "$stage/usr/local/kong/declarative/kong.yml"
chmod 0750 "$stage/usr/local/kong/declarative"

kiln_args=(--overlay overlays/gateway/kong.conf:/etc/kong/kong.conf --overlay overlays/gateway/declarative:/usr/local/kong/declarative
  --owner 1000:0 --mode 0640 --remove /etc/kong/kong.conf.default --env KONG_DATABASE=off --user kong)

# measure NAME CMD...: runs CMD, appends "seconds peak_rss_kib" to $work/NAME. Wall time from
# bash's EPOCHREALTIME (microseconds); peak RSS from GNU time (largest process of the command).
measure() {
  local name=$1; shift
  local t0=$EPOCHREALTIME
  /usr/bin/time -f "%M" -o "$work/.rss" "$@" >/dev/null 2>"$work/.err" || { echo "$name failed:"; cat "$work/.err"; exit 1; }
  local t1=$EPOCHREALTIME
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b-a}') $(cat "$work/.rss")" >> "$work/$name"
}

export stage
peer_inplace='umoci tag --image "$1:base" derived &&
  umoci insert --image "$1:derived" "$stage" / &&
  umoci insert --image "$1:derived" --whiteout /etc/kong/kong.conf.default &&
  umoci config --image "$1:derived" --config.env KONG_DATABASE=off --config.user kong'
peer_new='skopeo copy --quiet "oci:$2:base" "oci:$1:derived" &&
  umoci insert --image "$1:derived" "$stage" / &&
  umoci insert --image "$1:derived" --whiteout /etc/kong/kong.conf.default &&
  umoci config --image "$1:derived" --config.env KONG_DATABASE=off --config.user kong'

for run in $(seq "$runs"); do
  rm -rf "$work/k" "$work/p" "$work/k2" "$work/p2"; cp -a "$base" "$work/k"; cp -a "$base" "$work/p"; sync
  measure kiln-inplace "$kiln" bake --base "oci:$work/k:base" "${kiln_args[@]}" --output "oci:$work/k:derived"
  measure peer-inplace bash -c "$peer_inplace" _ "$work/p"
  measure kiln-new "$kiln" bake --base "oci:$base:base" "${kiln_args[@]}" --output "oci:$work/k2:derived"
  measure peer-new bash -c "$peer_new" _ "$work/p2" "$base"
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
report() { # KILN PEER LABEL
  local kt pt km pm
  kt=$(awk '{print $1}' "$work/$1" | median); pt=$(awk '{print $1}' "$work/$2" | median)
  km=$(awk '{print $2}' "$work/$1" | median); pm=$(awk '{print $2}' "$work/$2" | median)
  awk -v l="$3" -v kt="$kt" -v pt="$pt" -v km="$km" -v pm="$pm" 'BEGIN {
    printf "%-11s kiln %7.3f s %6.1f MiB | peer %7.3f s %6.1f MiB | peer/kiln time %5.1fx\n", l, kt, km/1024, pt, pm/1024, pt/kt }'
}
echo "medians of $runs runs:"
report kiln-inplace peer-inplace "in place"
report kiln-new peer-new "new layout"
