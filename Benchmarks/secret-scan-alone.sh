#!/usr/bin/env bash
# The secret scanner alone, on one core: CPU time and MB/s of `kiln-secret-scan-bench` (the
# scanner fed in 64 KiB chunks, as the bake feeds it) over 200 files of 100 KB of the same
# config-like text as secret-scan.sh (40 per format), ROUNDS times over; medians of RUNS.
#
# Usage: Benchmarks/secret-scan-alone.sh [RUNS] [ROUNDS]   (default 5 and 10)
#   BENCH=PATH measures that build of kiln-secret-scan-bench instead (another version, for a
#   before/after; runs of both are then interleaved by the caller).
set -euo pipefail
runs=${1:-5}
rounds=${2:-10}
cd "$(dirname "$0")/.."
if [[ -z ${BENCH:-} ]]; then
  swift build -c release --product kiln-secret-scan-bench >/dev/null
  BENCH=$PWD/.build/release/kiln-secret-scan-bench
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source Benchmarks/config-text.sh
config_text "$work/text" 40
for run in $(seq "$runs"); do
  "$BENCH" "$rounds" "$work"/text/* | awk '/^all:/ {print $2}' >> "$work/all"
done
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
sort -n "$work/all" | awk '{v[NR]=$1} END {printf "scanner alone, median of %d runs: %d MB/s per core\n", NR, v[int((NR+1)/2)]}'
