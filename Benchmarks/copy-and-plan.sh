#!/usr/bin/env bash
# kiln copy against skopeo copy (promoting an image, digest kept), and kiln plan/build no-op.
#
#   promote in one registry:   kiln copy REG1/base/app:1 REG1/k-N/app:1   vs  skopeo copy (same)
#   promote across registries: kiln copy REG1/base/app:1 REG2/k-N/app:1   vs  skopeo copy (same)
#   kiln plan of a spec on the ~130 MB base (offline; no peer computes a digest without building)
#   kiln build when the content tag already exists (the CI no-op path; peer: skopeo inspect)
#
# REG2's storage is emptied before each cross-registry command (skopeo remembers blob locations).
# Usage: Benchmarks/copy-and-plan.sh [RUNS]   (default 5; medians are printed)
# Needs: swift, umoci, skopeo, docker-registry, GNU time.
set -euo pipefail
runs=${1:-5}
source "$(dirname "$0")/lib.sh"

reg1=127.0.0.1:55011
reg2=127.0.0.1:55012
start_registry reg1 55011
start_registry reg2 55012

make_base "$work/base"
skopeo copy --quiet --dest-tls-verify=false "oci:$work/base:base" "docker://$reg1/base/app:1"
export DOCKER_CONFIG=$work/docker && mkdir -p "$DOCKER_CONFIG" && echo '{"auths":{}}' > "$DOCKER_CONFIG/config.json"

# A one-spec project on that base, locked once.
project=$work/project
mkdir -p "$project/images" && cp -r overlays "$project/"
cat > "$project/images/gateway.yaml" <<SPEC
base: $reg1/base/app:1
target: $reg1/um/gateway
overlays:
  - {from: overlays/gateway/kong.conf, to: /etc/kong/kong.conf, owner: "1000:0", mode: "0640"}
  - {from: overlays/gateway/declarative, to: /usr/local/kong/declarative, owner: "1000:0", mode: "0640"}
remove: [/etc/kong/kong.conf.default]
config:
  env: {KONG_DATABASE: "off"}
  user: kong
SPEC
"$kiln" lock --root "$project" >/dev/null
"$kiln" build --root "$project" --quiet >/dev/null
tag=$("$kiln" plan --root "$project" --json | sed 's/.*"tag":"\([^"]*\)".*/\1/')

for run in $(seq "$runs"); do
  measure kiln-same "$kiln" copy --quiet "$reg1/base/app:1" "$reg1/k-$run/app:1"
  measure skopeo-same skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false "docker://$reg1/base/app:1" "docker://$reg1/s-$run/app:1"
  rm -rf "$work/reg2/data"
  measure kiln-cross "$kiln" copy --quiet "$reg1/base/app:1" "$reg2/k-$run/app:1"
  rm -rf "$work/reg2/data"
  measure skopeo-cross skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false "docker://$reg1/base/app:1" "docker://$reg2/s-$run/app:1"
  measure kiln-plan "$kiln" plan --root "$project"
  measure kiln-noop "$kiln" build --root "$project" --quiet
  measure skopeo-inspect skopeo inspect --tls-verify=false "docker://$reg1/um/gateway:$tag"
done

echo "medians of $runs runs:"
report kiln-same skopeo-same "copy, same reg"
report kiln-cross skopeo-cross "copy, cross reg"
report kiln-plan kiln-plan "plan (offline)"
report kiln-noop skopeo-inspect "build no-op"
