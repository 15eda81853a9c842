#!/usr/bin/env bash
# Regenerates samples/base: a tiny OCI layout, built with umoci (not by kiln), that the README's
# first command bakes onto. The committed copy is what the golden digests are computed from, so
# only rerun this on purpose (umoci stamps the time, so a rerun changes every digest).
set -euo pipefail
cd "$(dirname "$0")/.."
out=samples/base
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
umoci init --layout "$out"
umoci new --image "$out:1.0"
umoci unpack --rootless --image "$out:1.0" "$work/bundle"
root="$work/bundle/rootfs"
mkdir -p "$root/etc/kong" "$root/usr/local/kong" "$root/usr/local/bin"
printf 'NAME="kiln sample base"\nID=kiln-sample\nVERSION_ID=1.0\n' > "$root/etc/os-release"
printf 'root:x:0:0:root:/root:/bin/sh\nkong:x:1000:1000:kong:/home/kong:/bin/sh\n' > "$root/etc/passwd"
printf '# defaults shipped by the base image\nprefix = /usr/local/kong/\nlog_level = notice\n' > "$root/etc/kong/kong.conf.default"
printf '#!/bin/sh\necho "kong would start here with $KONG_DECLARATIVE_CONFIG"\n' > "$root/usr/local/bin/kong"
chmod 0755 "$root/usr/local/bin/kong"
find "$root" -exec touch -h -d '2024-01-01T00:00:00Z' {} +
umoci repack --image "$out:1.0" --history.created '2024-01-01T00:00:00Z' --history.created_by 'kiln sample base' "$work/bundle"
umoci config --image "$out:1.0" --created '2024-01-01T00:00:00Z' --os linux --architecture amd64 \
  --config.env PATH=/usr/local/bin:/usr/bin:/bin --config.cmd kong --config.user root
umoci gc --layout "$out"
echo "samples/base:1.0 written"
