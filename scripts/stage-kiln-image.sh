#!/usr/bin/env bash
# Fills release/root/ with what release/kiln.yaml adds to debian:bookworm-slim:
#   scripts/stage-kiln-image.sh kiln-VERSION-linux-x86_64.tar.gz
# - usr/local/bin/kiln, from the release tarball;
# - etc/ssl/certs/ca-certificates.crt, Debian's CA bundle;
# - the shared libraries that `apt-get install libarchive13 libssl3` would add to the slim image
#   (libarchive13, libssl3 and what they pull in beyond minbase: libxml2, libicu72), file by file.
# Both come from Debian 12 roots made by scripts/debian-root.sh (minbase, and minbase with
# libarchive13, libssl3 and ca-certificates): the packages of the second that the first lacks
# are the ones to add. kiln adds files only, so the libraries travel as an overlay.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: scripts/stage-kiln-image.sh kiln-VERSION-linux-x86_64.tar.gz" >&2; exit 64; }
tarball=$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")
cd "$(dirname "$0")/.."
case $(basename "$tarball") in
    kiln-*-linux-x86_64.tar.gz) multiarch=x86_64-linux-gnu ;;
    kiln-*-linux-aarch64.tar.gz) multiarch=aarch64-linux-gnu ;;
    *) echo "stage-kiln-image: $tarball is not a kiln release tarball" >&2; exit 1 ;;
esac
[ "$(uname -m)-linux-gnu" = "$multiarch" ] ||
    { echo "stage-kiln-image: the libraries come from a Debian root of this machine's architecture ($(uname -m))" >&2; exit 1; }

slim=$(scripts/debian-root.sh bookworm minbase '')
full=$(scripts/debian-root.sh bookworm minbase libarchive13,libssl3,ca-certificates)
work=$(mktemp -d "${TMPDIR:-/tmp}/kiln-stage-XXXXXX")
trap 'rm -rf "$work"' EXIT

# The package lists, read from each root's dpkg status without unpacking the whole root.
packages() {
    tar -xOf "$1" ./var/lib/dpkg/status | sed -n 's/^Package: //p' | sort
}
added=$(comm -13 <(packages "$slim") <(packages "$full"))
tar -xf "$full" -C "$work" ./var/lib/dpkg/info
files=()
for package in $added; do
    list=$work/var/lib/dpkg/info/$package.list
    [ -f "$list" ] || list=$work/var/lib/dpkg/info/$package:$(dpkg --print-architecture).list
    [ -f "$list" ] || { echo "stage-kiln-image: no file list for $package" >&2; exit 1; }
    while read -r path; do
        case $path in
            /usr/lib/$multiarch/*.so.*) files+=(".$path") ;;
        esac
    done <"$list"
done
[ ${#files[@]} -gt 0 ] || { echo "stage-kiln-image: no libraries to add (packages: $added)" >&2; exit 1; }

rm -rf release/root
mkdir -p release/root/usr/local/bin release/root/etc/ssl/certs
tar -xf "$full" -C release/root "${files[@]}" ./etc/ssl/certs/ca-certificates.crt
tar -xzf "$tarball" -C "$work" --wildcards '*/bin/kiln'
cp "$work"/kiln-*/bin/kiln release/root/usr/local/bin/kiln
echo "release/root: kiln, the CA bundle and $(printf '%s\n' "${files[@]}" | wc -l) library files of: $(echo $added)"
