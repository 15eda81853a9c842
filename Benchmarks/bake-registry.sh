#!/usr/bin/env bash
# Bakes the gateway overlay onto a ~130 MB three-layer base held in a registry and pushes the
# result, with kiln and with the peer pipeline, on two distribution registries on 127.0.0.1.
#
#   same registry:  kiln bake REG1/base -> REG1/k-N/app
#                   vs  skopeo copy REG1/base oci:TMP + umoci insert/whiteout/config + skopeo copy oci:TMP REG1/p-N/app
#   cross registry: kiln bake REG1/base -> REG2/k-N/app
#                   vs  a plain skopeo copy REG1/base -> REG2/s-N/app (no bake at all)
#
# REG2's storage is emptied before each cross-registry command: otherwise a tool could mount
# blobs an earlier run left there (skopeo remembers where it saw blobs), and nothing is copied.
#
# Usage: Benchmarks/bake-registry.sh [RUNS]   (default 5; medians are printed)
# Environment: BASE_MIB=N makes the base 3 layers of N MiB (default 43; 341 is a 1 GiB base);
#   CASES=cross measures only the cross-registry pair (CASES=same only the same-registry one);
#   COLD=1 turns kiln's caches off (KILN_CACHE_DIR=''), so every bake reads the base's skeleton
#   from its layers as a first bake on a fresh CI runner does; KILN=PATH measures that binary.
# Needs: swift, umoci, skopeo, docker-registry, GNU time.
set -euo pipefail
runs=${1:-5}
cases=${CASES:-same cross}
source "$(dirname "$0")/lib.sh"
[[ ${COLD:-0} != 1 ]] || export KILN_CACHE_DIR=

reg1=127.0.0.1:55001
reg2=127.0.0.1:55002
start_registry reg1 55001
start_registry reg2 55002

make_base "$work/base" "${BASE_MIB:-43}"
echo "kiln: $("$kiln" --version), $(git log -1 --format=%h)$(git diff --quiet HEAD -- Sources Package.swift || echo ' + local changes')${KILN:+ (binary $KILN)}$([[ ${COLD:-0} != 1 ]] || echo ', caches off'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
skopeo copy --quiet --dest-tls-verify=false "oci:$work/base:base" "docker://$reg1/base/app:1"
export DOCKER_CONFIG=$work/docker && mkdir -p "$DOCKER_CONFIG" && echo '{"auths":{}}' > "$DOCKER_CONFIG/config.json"

peer_same='rm -rf "$1" && skopeo copy --quiet --src-tls-verify=false "docker://$2/base/app:1" "oci:$1:derived" && '"$peer_edit"' &&
  skopeo copy --quiet --dest-tls-verify=false "oci:$1:derived" "docker://$2/p-$3/app:1"'

for run in $(seq "$runs"); do
  if [[ " $cases " == *" same "* ]]; then
    measure kiln-same "$kiln" bake --base "$reg1/base/app:1" "${kiln_args[@]}" --output "$reg1/k-$run/app:1" --quiet
    measure peer-same bash -c "$peer_same" _ "$work/peer" "$reg1" "$run"
  fi
  if [[ " $cases " == *" cross "* ]]; then
    # The two take turns going first.
    for tool in $( ((run % 2)) && echo "kiln skopeo" || echo "skopeo kiln"); do
      rm -rf "$work/reg2/data"
      if [[ $tool == kiln ]]; then
        measure kiln-cross "$kiln" bake --base "$reg1/base/app:1" "${kiln_args[@]}" --output "$reg2/k-$run/app:1" --quiet
      else
        measure skopeo-copy skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false "docker://$reg1/base/app:1" "docker://$reg2/s-$run/app:1"
      fi
    done
  fi
done

echo "medians of $runs runs:"
[[ " $cases " != *" same "* ]] || report kiln-same peer-same "same registry"
[[ " $cases " != *" cross "* ]] || report kiln-cross skopeo-copy "cross registry"
