#!/usr/bin/env bash
# What the secret scan costs a bake: a 100 MB overlay of config-like text baked with the scan
# (--secrets refuse, the default) and without it (--secrets off: the layer hashes each file
# itself, as before the scan existed), same binary, same base, medians of RUNS.
#
#   overlay: 1,000 files of 100 KB in the formats people bake: kong.conf and .env (key = value),
#            Spring .properties, YAML, JSON (Keycloak realm exports), XML, each made of the
#            clean corpus (Tests/Fixtures/secrets/clean) and the repository's own overlays/
#            repeated: realistic keys, many of them secret-named with placeholders, no secret.
#
# Usage: Benchmarks/secret-scan.sh [RUNS]   (default 5; medians are printed)
#        KILN_BEFORE=PATH also measures that binary (another version), its runs interleaved with
#        this one's, run by run: a before/after on a machine whose load changes.
# Needs: swift, GNU time (apt-get install -y time).
set -euo pipefail
runs=${1:-5}
source "$(dirname "$0")/lib.sh"

overlay=$work/overlay
# 200 files of 100 KB per format (Benchmarks/config-text.sh).
source Benchmarks/config-text.sh
config_text "$overlay" 200
du -sh --apparent-size "$overlay" | awk '{print "overlay: " $1 ", 1000 files"}'
sync

# Wall time, peak RSS and CPU time (user + sys, all threads): on a machine shared with other
# work the wall time of a two-core bake swings with the load; the CPU time the scan adds does not.
measure_cpu() { # NAME CMD...
  local name=$1; shift
  local t0=$EPOCHREALTIME
  /usr/bin/time -f "%M %U %S" -o "$work/.cpu" "$@" >/dev/null 2>"$work/.err" || { echo "$name failed:"; cat "$work/.err"; exit 1; }
  local t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" '{printf "%.4f %s %.2f\n", b-a, $1, $2+$3}' "$work/.cpu" >> "$work/$name"
}
binaries=("$kiln"); prefixes=("")
if [[ -n ${KILN_BEFORE:-} ]]; then binaries+=("$(realpath "$KILN_BEFORE")"); prefixes+=("before-"); fi
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$runs"); do
  for b in "${!binaries[@]}"; do
    for mode in refuse off; do
      rm -rf "$work/out"; cp -a samples/base "$work/out"
      measure_cpu "${prefixes[$b]}$mode" "${binaries[$b]}" bake --base "oci:$work/out:1.0" --overlay "$overlay:/etc/app" \
        --secrets "$mode" --output "oci:$work/out:$mode"
    done
  done
done
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "medians of $runs runs:"
for prefix in "${prefixes[@]}"; do
  for mode in refuse off; do
    t=$(awk '{print $1}' "$work/$prefix$mode" | median); m=$(awk '{print $2}' "$work/$prefix$mode" | median)
    c=$(awk '{print $3}' "$work/$prefix$mode" | median)
    awk -v n="$prefix$mode" -v t="$t" -v m="$m" -v c="$c" 'BEGIN { printf "%-15s %7.3f s %6.1f MiB  CPU %5.2f s\n", n, t, m/1024, c }'
  done
  on=$(awk '{print $1}' "$work/${prefix}refuse" | median); off=$(awk '{print $1}' "$work/${prefix}off" | median)
  awk -v p="$prefix" -v on="$on" -v off="$off" 'BEGIN { printf "%sscan cost: %.3f s, %.1f%% of the bake without it\n", p, on - off, (on - off) / off * 100 }'
  on=$(awk '{print $3}' "$work/${prefix}refuse" | median); off=$(awk '{print $3}' "$work/${prefix}off" | median)
  awk -v p="$prefix" -v on="$on" -v off="$off" 'BEGIN { printf "%sscan CPU: %.2f s, %.1f%% of the CPU of the bake without it\n", p, on - off, (on - off) / off * 100 }'
done
