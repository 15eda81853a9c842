#!/bin/sh
# Installs a kiln release: downloads kiln-VERSION-linux-ARCH.tar.gz from URL, checks its SHA-256
# before unpacking anything, and copies bin/kiln, the man page, completions and docs into PREFIX.
#   install.sh [--prefix DIR] [--sha256 HEX] URL VERSION
# URL is the directory of a release (where the tarball and SHA256SUMS are), e.g.
#   https://github.com/OWNER/kiln/releases/download/v0.3.0
# The expected checksum is --sha256 when given (pin it to trust nothing but your own copy),
# else the tarball's line in URL/SHA256SUMS. PREFIX defaults to /usr/local. A mismatch, a
# missing file or an unsupported machine exits 1 with one line and installs nothing.
# Needs curl or wget, sha256sum, tar and gzip.
set -eu

fail() { echo "install.sh: $*" >&2; exit 1; }
usage() { echo "usage: install.sh [--prefix DIR] [--sha256 HEX] URL VERSION" >&2; exit 64; }

prefix=/usr/local
expected=
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) [ $# -ge 2 ] || usage; prefix=$2; shift 2 ;;
        --sha256) [ $# -ge 2 ] || usage; expected=$2; shift 2 ;;
        --) shift; break ;;
        -*) usage ;;
        *) break ;;
    esac
done
[ $# -eq 2 ] || usage
url=${1%/}
version=${2#v}
[ -n "$url" ] && [ -n "$version" ] && [ -n "$prefix" ] || usage

[ "$(uname -s)" = Linux ] || fail "kiln releases are for Linux; this is $(uname -s)"
arch=$(uname -m)
case $arch in
    x86_64|aarch64) ;;
    arm64) arch=aarch64 ;;
    *) fail "no kiln release for $arch (x86_64 and aarch64 only)" ;;
esac
name=kiln-$version-linux-$arch
tarball=$name.tar.gz

if command -v curl >/dev/null 2>&1; then
    fetch() { curl --fail --silent --show-error --location --retry 3 --output "$2" "$1" 2>/dev/null || fail "could not download $1"; }
elif command -v wget >/dev/null 2>&1; then
    fetch() { wget --quiet --tries=3 --output-document="$2" "$1" || fail "could not download $1"; }
else
    fail "needs curl or wget to download $url/$tarball"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kiln-install-XXXXXX")
trap 'rm -rf "$work"' EXIT

fetch "$url/$tarball" "$work/$tarball"
if [ -z "$expected" ]; then
    fetch "$url/SHA256SUMS" "$work/SHA256SUMS"
    expected=$(awk -v file="$tarball" '$2 == file || $2 == "*" file { print $1; exit }' "$work/SHA256SUMS")
    [ -n "$expected" ] || fail "$url/SHA256SUMS has no line for $tarball"
fi
actual=$(sha256sum "$work/$tarball" | cut -d' ' -f1)
[ "$actual" = "$(echo "$expected" | tr 'A-F' 'a-f')" ] ||
    fail "$tarball: SHA-256 is $actual, expected $expected; nothing installed"

# Verified: unpack beside it, then copy into the prefix (bin, share).
mkdir "$work/unpacked"
tar -xzf "$work/$tarball" -C "$work/unpacked" --no-same-owner
[ -x "$work/unpacked/$name/bin/kiln" ] || fail "$tarball has no $name/bin/kiln"
mkdir -p "$prefix/bin"
[ ! -d "$work/unpacked/$name/share" ] || cp -R "$work/unpacked/$name/share" "$prefix/"
# Each program is renamed into place, so a running kiln is never overwritten mid-file.
for program in "$work/unpacked/$name/bin/"*; do
    cp -P "$program" "$prefix/bin/.$(basename "$program").new"
    mv -f "$prefix/bin/.$(basename "$program").new" "$prefix/bin/$(basename "$program")"
done
echo "installed kiln $version into $prefix/bin/kiln"
