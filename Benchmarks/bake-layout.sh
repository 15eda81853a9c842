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
runs=${1:-5}
source "$(dirname "$0")/lib.sh"

base=$work/base
make_base "$base"
peer_inplace='umoci tag --image "$1:base" derived && '"$peer_edit"
peer_new='skopeo copy --quiet "oci:$2:base" "oci:$1:derived" && '"$peer_edit"

for run in $(seq "$runs"); do
  rm -rf "$work/k" "$work/p" "$work/k2" "$work/p2"; cp -a "$base" "$work/k"; cp -a "$base" "$work/p"; sync
  measure kiln-inplace "$kiln" bake --base "oci:$work/k:base" "${kiln_args[@]}" --output "oci:$work/k:derived"
  measure peer-inplace bash -c "$peer_inplace" _ "$work/p"
  measure kiln-new "$kiln" bake --base "oci:$base:base" "${kiln_args[@]}" --output "oci:$work/k2:derived"
  measure peer-new bash -c "$peer_new" _ "$work/p2" "$base"
done

echo "medians of $runs runs:"
report kiln-inplace peer-inplace "in place"
report kiln-new peer-new "new layout"
