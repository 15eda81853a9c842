#!/usr/bin/env bash
# Makes (once) a Debian root file system as a tarball with mmdebstrap and prints its path.
#   scripts/debian-root.sh SUITE VARIANT INCLUDES [OUT.tar]
# INCLUDES is mmdebstrap's comma-separated --include list ('' for none). Without OUT.tar the
# tarball is cached under $KILN_DEBIAN_ROOTS (default .build/debian-roots) with a name made of
# the arguments, so the test suite builds each root once per build directory; with OUT.tar it
# is reused only when OUT.tar.args records the same arguments. Needs root (chroot mode) and
# Debian's mirror (the host's default).
set -euo pipefail
[ $# -ge 3 ] && [ $# -le 4 ] || { echo "usage: scripts/debian-root.sh SUITE VARIANT INCLUDES [OUT.tar]" >&2; exit 64; }
suite=$1 variant=$2 includes=$3
# The key: the arguments, with the include list sorted, so 'b,a' and 'a,b' are one root.
sorted=$(tr ',' '\n' <<<"$includes" | sed '/^$/d' | sort -u | paste -sd, -)
key="$suite $variant $sorted"
if [ $# -eq 4 ]; then
    out=$4
else
    cd "$(dirname "$0")/.."
    roots=${KILN_DEBIAN_ROOTS:-.build/debian-roots}
    out="$roots/$suite-$variant-$(sha256sum <<<"$key" | cut -c1-12).tar"
fi
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd -P)/$(basename "$out")"
if [ -s "$out" ] && [ "$(cat "$out.args" 2>/dev/null)" = "$key" ]; then
    echo "$out"
    exit 0
fi
command -v mmdebstrap >/dev/null || { echo "debian-root: mmdebstrap is not installed (apt-get install mmdebstrap)" >&2; exit 2; }
rm -rf "$out" "$out.args" "$out.partial"
log="$out.log"
if ! mmdebstrap --quiet --format=tar --variant="$variant" ${sorted:+--include="$sorted"} "$suite" "$out.partial" >"$log" 2>&1; then
    echo "debian-root: mmdebstrap $suite ($variant${sorted:+, $sorted}) failed; its log:" >&2
    tail -20 "$log" >&2
    rm -rf "$out.partial"
    exit 1
fi
mv "$out.partial" "$out"
echo "$key" >"$out.args"
echo "$out"
