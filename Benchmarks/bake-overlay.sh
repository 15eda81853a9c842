#!/usr/bin/env bash
# Bakes a 100 MB overlay onto the small sample base with each layer format: what the layer's
# compression (stored gzip, zlib gzip level 6, zstd 3) and content-dated mtimes (a second read of
# every file) cost, with wall time, peak RSS and the layer's size.
#
#   overlay: 50 MB of text (the repository's sources and docs, repeated into 500 files of 100 KB)
#            + 50 MB of random bytes (50 files of 1 MiB: images, fonts, archives)
#   modes:   --compression stored-gzip|gzip|zstd  x  --mtime content|epoch
#            (gzip + epoch is kiln 0.2's format, byte for byte)
#
# Usage: Benchmarks/bake-overlay.sh [RUNS]   (default 5; medians are printed)
# Needs: swift, GNU time (apt-get install -y time); umoci and skopeo for lib.sh's stage.
set -euo pipefail
runs=${1:-5}
source "$(dirname "$0")/lib.sh"

overlay=$work/overlay
mkdir -p "$overlay/text" "$overlay/binary"
cat Sources/*/*.swift docs/*.md README.md > "$work/corpus"
# Each text file is a different 100 KB window of the corpus repeated to 50 MB, so files differ.
while [ "$(stat -c %s "$work/corpus")" -lt $((52 * 1024 * 1024)) ]; do cat "$work/corpus" "$work/corpus" > "$work/corpus2"; mv "$work/corpus2" "$work/corpus"; done
for i in $(seq 0 499); do dd if="$work/corpus" of="$overlay/text/page$i.html" bs=102400 skip="$i" count=1 status=none; done
for i in $(seq 0 49); do head -c 1048576 /dev/urandom > "$overlay/binary/asset$i.bin"; done
du -sh --apparent-size "$overlay" | awk '{print "overlay: " $1 ", 550 files"}'
sync

for run in $(seq "$runs"); do
  for compression in stored-gzip gzip zstd; do
    for mtime in content epoch; do
      name=$compression-$mtime
      rm -rf "$work/out"; cp -a samples/base "$work/out"
      measure "$name" "$kiln" bake --base "oci:$work/out:1.0" --overlay "$overlay:/srv/www" \
        --compression "$compression" --mtime "$mtime" --output "oci:$work/out:$name"
      ls -l "$work/out/blobs/sha256" | awk '{print $5}' | sort -n | tail -1 > "$work/$name.size"
    done
  done
done

echo "medians of $runs runs:"
for compression in stored-gzip gzip zstd; do
  for mtime in content epoch; do
    name=$compression-$mtime
    t=$(awk '{print $1}' "$work/$name" | median); m=$(awk '{print $2}' "$work/$name" | median)
    awk -v n="$name" -v t="$t" -v m="$m" -v s="$(cat "$work/$name.size")" 'BEGIN {
      printf "%-20s %7.3f s %6.1f MiB  layer %6.1f MB\n", n, t, m/1024, s/1e6 }'
  done
done
