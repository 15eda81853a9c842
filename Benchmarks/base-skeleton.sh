#!/usr/bin/env bash
# The cost of reading the base's skeleton (issue 11): `kiln bake` from a registry reads every base
# layer's tar headers once (streamed, nothing staged), then keeps each layer's changes in the
# per-machine cache. Times a bake with an empty cache (first) and with the cache (cached), and a
# bake that needs no skeleton (config only) as the floor, for a ~10 MB and a ~1 GB base.
#   Benchmarks/base-skeleton.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
runs=${1:-3}
start_registry reg 5077
printf 'x=1\n' > "$work/app.conf"
for mib in 3 341; do
  base=$work/base-$mib
  make_base "$base" "$mib"
  skopeo copy --quiet --dest-tls-verify=false "oci:$base:base" "docker://127.0.0.1:5077/base$mib:1"
  for mode in first cached config-only; do
    times=()
    for run in $(seq "$runs"); do
      cache=$work/cache-$mib
      [ "$mode" = first ] && rm -rf "$cache"
      args=(--overlay "$work/app.conf:/etc/kong/app.conf")
      [ "$mode" = config-only ] && args=(--env A=B)
      s=$(date +%s.%N)
      KILN_CACHE_DIR=$cache "$kiln" bake --quiet --insecure 127.0.0.1:5077 --base "127.0.0.1:5077/base$mib:1" "${args[@]}" \
        --output "127.0.0.1:5077/out$mib:$mode$run" >/dev/null
      e=$(date +%s.%N)
      times+=("$(echo "$e - $s" | bc)")
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
    echo "base 3 x $mib MiB, $mode: median ${median}s of $runs (${times[*]})"
  done
done
