#!/usr/bin/env bash
# Builds kiln's release artifact: OUTDIR/kiln-VERSION-linux-ARCH.tar.gz and OUTDIR/SHA256SUMS.
#   scripts/release.sh OUTDIR                 build (static Swift runtime), strip, package
#   scripts/release.sh --binary KILN OUTDIR   package an already built binary (no build)
#
# The binary links the Swift runtime and Foundation statically (--static-swift-stdlib), so it
# needs no Swift toolchain; it still needs glibc >= 2.35, libstdc++6, libgcc-s1, libarchive13,
# libssl3 and zlib (README, "Install"). The tarball holds bin/kiln, the README, the LICENSE (Apache-2.0), the CHANGELOG,
# shell completions (bash, zsh, fish) and a man page (swift-argument-parser's generate-manual).
#
# Reproducible: the same commit gives the same tarball bytes in any directory on any machine
# with the same toolchain. Timestamps come from SOURCE_DATE_EPOCH (default: the last commit's
# time), entries are sorted with fixed owners and modes, gzip writes no name or time, and
# the build's absolute paths are mapped to '.' (-file-prefix-map for Swift, -ffile-prefix-map
# for the C of the dependencies; the build directory's own name stays, so keep the default).
# What the compiler still stamps per checkout is cleared after stripping (see normalize).
#
# Environment: KILN_RELEASE_SCRATCH (build directory, default .build-release), KILN_JOBS
# (default 2), SOURCE_DATE_EPOCH. An aarch64 tarball is built too when a Swift SDK for
# aarch64 Linux is installed (`swift sdk list`), or the one named by KILN_AARCH64_SDK.
set -euo pipefail

usage() { echo "usage: scripts/release.sh [--binary KILN] OUTDIR" >&2; exit 64; }
given_binary=
if [ "${1:-}" = "--binary" ]; then
    [ $# -eq 3 ] || usage
    given_binary=$(cd "$(dirname "$2")" && pwd -P)/$(basename "$2")
    shift 2
fi
[ $# -eq 1 ] || usage
mkdir -p "$1"
out=$(cd "$1" && pwd -P)
cd "$(dirname "$0")/.."
root=$(pwd -P)

# Links installed next to bin/kiln, as NAME (each a symlink to kiln, which acts by the name it
# is run as): kiln-docker is `kiln docker`, the Docker CLI subset the AWS CDK runs (CDK_DOCKER).
links=(kiln-docker)

version=$(sed -n 's/^public let kilnVersion = "\(.*\)"$/\1/p' Sources/KilnRegistry/Version.swift)
[ -n "$version" ] || { echo "release: no kilnVersion in Sources/KilnRegistry/Version.swift" >&2; exit 1; }
for doc in LICENSE CHANGELOG.md; do [ -f "$doc" ] || { echo "release: no $doc in the repository" >&2; exit 1; }; done
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct 2>/dev/null) ||
        { echo "release: set SOURCE_DATE_EPOCH (no git history to take it from)" >&2; exit 1; }
fi
export SOURCE_DATE_EPOCH
scratch=${KILN_RELEASE_SCRATCH:-.build-release}
mkdir -p "$scratch"
scratch=$(cd "$scratch" && pwd -P)

# Builds kiln for one Swift SDK ('' is the host) and prints the binary's path.
build() {
    local sdk=$1
    # Absolute paths (the checkout, the build directory) become '.', so two checkouts give
    # the same bytes and the binary names no build machine's directories.
    local maps=(-Xswiftc -file-prefix-map -Xswiftc "$root=." -Xcc "-ffile-prefix-map=$root=.")
    case $scratch/ in
        "$root"/*) ;;
        *) maps+=(-Xswiftc -file-prefix-map -Xswiftc "$scratch=./.build-release" -Xcc "-ffile-prefix-map=$scratch=./.build-release") ;;
    esac
    local args=(-c release --static-swift-stdlib --product kiln --scratch-path "$scratch" -j "${KILN_JOBS:-2}" "${maps[@]}")
    [ -z "$sdk" ] || args+=(--swift-sdk "$sdk")
    swift build "${args[@]}" >&2
    echo "$(swift build "${args[@]}" --show-bin-path)/kiln"
}

# The host's architecture as release names spell it (uname -m: x86_64, aarch64).
host_arch=$(uname -m)
declare -A binaries=()
if [ -n "$given_binary" ]; then
    binaries[$host_arch]=$given_binary
else
    binaries[$host_arch]=$(build "")
    sdk=${KILN_AARCH64_SDK:-}
    if [ "$host_arch" != aarch64 ] && [ -z "$sdk" ]; then
        sdk=$(swift sdk list 2>/dev/null | grep -i aarch64 | grep -iv musl | head -1 || true)
    fi
    if [ "$host_arch" = aarch64 ]; then
        :
    elif [ -n "$sdk" ]; then
        binaries[aarch64]=$(build "$sdk")
    else
        echo "release: no Swift SDK for aarch64 Linux is installed (swift sdk list); building $host_arch only" >&2
    fi
fi

# swift-argument-parser's man page generator, built from the checkout kiln itself uses.
manual_tool() {
    local parser="$scratch/checkouts/swift-argument-parser"
    [ -d "$parser" ] || { echo "release: $parser is missing (build kiln first)" >&2; exit 1; }
    local args=(--package-path "$parser" --scratch-path "$scratch/generate-manual" --product generate-manual -j "${KILN_JOBS:-2}")
    swift build "${args[@]}" >&2
    echo "$(swift build "${args[@]}" --show-bin-path)/generate-manual"
}

# Clears what differs between two checkouts' builds once debug info is stripped: each Swift
# object's .swift_modhash (an MD5 of its LLVM module, whose name is the absolute source path;
# only incremental builds read it, never the program) and so the linker's build ID, which is
# then computed again as ld does: the SHA-1 of the file with the ID zeroed. Idempotent.
normalize() {
    local binary=$1 sections size offset id
    sections=$(readelf -SW "$binary" | sed -n 's/^ *\[ *[0-9]*\] //p')
    size=$(awk '$1 == ".swift_modhash" {print $5}' <<<"$sections")
    if [ -n "$size" ]; then
        head -c $((16#$size)) /dev/zero >"$staging/zeros"
        objcopy --update-section .swift_modhash="$staging/zeros" "$binary"
    fi
    offset=$(awk '$1 == ".note.gnu.build-id" {print $4}' <<<"$sections")
    if [ -n "$offset" ]; then
        # The note's descriptor follows its 12-byte header and the name "GNU\0".
        offset=$((16#$offset + 16))
        dd if=/dev/zero of="$binary" bs=1 seek="$offset" count=20 conv=notrunc status=none
        id=$(sha1sum "$binary" | cut -c1-40)
        printf '%b' "$(sed 's/../\\x&/g' <<<"$id")" | dd of="$binary" bs=1 seek="$offset" conv=notrunc status=none
    fi
}

staging=$(mktemp -d "${TMPDIR:-/tmp}/kiln-release-XXXXXX")
trap 'rm -rf "$staging"' EXIT
generate_manual=

tarballs=()
for arch in "${!binaries[@]}"; do
    name=kiln-$version-linux-$arch
    tree=$staging/$name
    mkdir -p "$tree/bin" "$tree/share/man/man1" "$tree/share/doc/kiln" "$tree/share/bash-completion/completions" \
        "$tree/share/zsh/site-functions" "$tree/share/fish/vendor_completions.d"
    # Stripped: the symbol tables and debug sections are most of the unstripped size.
    strip --strip-all -o "$tree/bin/kiln" "${binaries[$arch]}"
    normalize "$tree/bin/kiln"
    for link in "${links[@]}"; do ln -s kiln "$tree/bin/$link"; done
    cp README.md "$tree/share/doc/kiln/README.md"
    cp LICENSE CHANGELOG.md "$tree/share/doc/kiln/"
    # Completions and the man page come from the binary itself: run the host's build (an
    # aarch64 binary does not run here; its commands are the same).
    runnable=${binaries[$host_arch]}
    "$runnable" --generate-completion-script bash >"$tree/share/bash-completion/completions/kiln"
    "$runnable" --generate-completion-script zsh >"$tree/share/zsh/site-functions/_kiln"
    "$runnable" --generate-completion-script fish >"$tree/share/fish/vendor_completions.d/kiln.fish"
    [ -n "$generate_manual" ] || generate_manual=$(manual_tool)
    "$generate_manual" "$runnable" --date "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)" --output-directory "$tree/share/man/man1"
    # Fixed modes whatever the umask, then one deterministic tar stream.
    find "$tree" -type d -exec chmod 0755 {} +
    find "$tree" -type f -exec chmod 0644 {} +
    chmod 0755 "$tree/bin/kiln"
    tar --format=gnu --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
        -C "$staging" -cf - "$name" | gzip -9 -n >"$out/$name.tar.gz"
    tarballs+=("$name.tar.gz")
done

(cd "$out" && sha256sum "${tarballs[@]}" | sort -k2 >SHA256SUMS)
for tarball in "${tarballs[@]}"; do echo "$out/$tarball"; done
