#!/usr/bin/env bash
# The CDK asset step side by side: `kiln-docker build` + `push` against `podman build` + `podman
# push` (buildah underneath) of the same Dockerfile (the UM gateway's: FROM, COPY --chown, ENV,
# USER, CMD), base in one local registry, target another, as `cdk publish-assets` runs them.
#
#   first:  a fresh machine (empty kiln store and cache; empty podman storage): build, push
#   again:  the same build and push a second time (what a re-run of cdk deploy does)
#
# Usage: Benchmarks/docker-build.sh [RUNS] [BASE_MIB]   (default 3 runs, 3 x 43 MiB base layers)
# Needs: swift, GNU time, umoci, skopeo, docker-registry, podman (vfs storage in a temp dir).
set -euo pipefail
runs=${1:-3}
mib=${2:-43}
source "$(dirname "$0")/lib.sh"

make_base "$work/base" "$mib"
start_registry hub 5601
start_registry target 5602
skopeo copy --quiet --dest-tls-verify=false "oci:$work/base:base" docker://127.0.0.1:5601/library/kong:bench
ln -s "$kiln" "$work/kiln-docker"
context=$work/context
mkdir -p "$context"
cp overlays/gateway/kong.conf "$context/kong.conf"
cat > "$context/Dockerfile" <<'DOCKERFILE'
FROM 127.0.0.1:5601/library/kong:bench
COPY --chown=1000:0 kong.conf /etc/kong/kong.conf
ENV KONG_DATABASE=off \
    KONG_PLUGINS=oidc,cors
USER kong
CMD ["kong", "docker-start"]
DOCKERFILE
cat > "$work/registries.conf" <<'CONF'
[[registry]]
location = "127.0.0.1:5601"
insecure = true
[[registry]]
location = "127.0.0.1:5602"
insecure = true
CONF

# podman with its own vfs storage under $work: podman-in STORAGE ARGS...
cat > "$work/podman-in" <<'SCRIPT'
#!/bin/sh
storage=$1; shift
exec podman --root "$storage/root" --runroot "$storage/run" --storage-driver vfs --cgroup-manager cgroupfs --events-backend none "$@"
SCRIPT
chmod +x "$work/podman-in"
export CONTAINERS_REGISTRIES_CONF=$work/registries.conf

for run in $(seq "$runs"); do
  rm -rf "$work/store" "$work/cache"
  export KILN_DOCKER_STORE=$work/store KILN_CACHE_DIR=$work/cache
  (cd "$context" && measure kiln-first sh -c "'$work/kiln-docker' build -q -t cdkasset-bench . >/dev/null && '$work/kiln-docker' tag cdkasset-bench 127.0.0.1:5602/kiln:$run && '$work/kiln-docker' push -q 127.0.0.1:5602/kiln:$run >/dev/null")
  (cd "$context" && measure kiln-again sh -c "'$work/kiln-docker' build -q -t cdkasset-bench . >/dev/null && '$work/kiln-docker' tag cdkasset-bench 127.0.0.1:5602/kiln:$run && '$work/kiln-docker' push -q 127.0.0.1:5602/kiln:$run >/dev/null")
  storage=$work/podman-$run
  (cd "$context" && measure podman-first sh -c "'$work/podman-in' '$storage' build -q -t cdkasset-bench . >/dev/null && '$work/podman-in' '$storage' push -q --tls-verify=false cdkasset-bench docker://127.0.0.1:5602/podman:$run")
  (cd "$context" && measure podman-again sh -c "'$work/podman-in' '$storage' build -q -t cdkasset-bench . >/dev/null && '$work/podman-in' '$storage' push -q --tls-verify=false cdkasset-bench docker://127.0.0.1:5602/podman:$run")
  "$work/podman-in" "$storage" system reset -f >/dev/null 2>&1 || true
  rm -rf "$storage"
done

echo "medians of $runs runs (build + push):"
report kiln-first podman-first "first"
report kiln-again podman-again "again"
