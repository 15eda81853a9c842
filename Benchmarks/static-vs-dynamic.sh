#!/usr/bin/env bash
# The release binary (Swift runtime linked statically, stripped) against the plain
# `swift build -c release` one (the toolchain's shared Swift libraries):
#   Benchmarks/static-vs-dynamic.sh STATIC_KILN DYNAMIC_KILN [RUNS]
# Prints each binary's size, its start-up time (hyperfine, `kiln --version`, mean of RUNS,
# default 50) and its peak RSS (/usr/bin/time -v) for `--version` and the README's offline demo.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: Benchmarks/static-vs-dynamic.sh STATIC_KILN DYNAMIC_KILN [RUNS]" >&2; exit 64; }
static=$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")
dynamic=$(cd "$(dirname "$2")" && pwd -P)/$(basename "$2")
runs=${3:-50}
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "static-vs-dynamic: hyperfine is not installed (apt-get install hyperfine)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

demo=$(grep -m1 -o '\.build/release/kiln bake .*$' README.md | sed 's|^\.build/release/kiln ||; s|oci:/tmp/kiln-demo:gateway|oci:OUT:gateway|')
demo_args=()
eval "demo_args=($demo)"

peak_rss() { # peak RSS in MiB of one run of the command
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident set size/ {printf "%.1f", $6 / 1024}'
}
for kind in static dynamic; do
    binary=${!kind}
    size=$(stat -c %s "$binary")
    strip -o "$work/stripped" "$binary"
    stripped=$(stat -c %s "$work/stripped")
    hyperfine --warmup 3 --runs "$runs" --export-json "$work/$kind.json" --style none "$binary --version" >/dev/null
    mean=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["results"][0]; print("%.1f ms ± %.1f" % (r["mean"] * 1000, r["stddev"] * 1000))' "$work/$kind.json")
    rss_version=$(peak_rss "$binary" --version)
    rm -rf "$work/out"
    rss_demo=$(peak_rss "$binary" "${demo_args[@]/OUT/$work/out}")
    echo "$kind: $((size / 1048576)) MiB ($((stripped / 1048576)) MiB stripped); --version $mean; peak RSS --version $rss_version MiB, demo bake $rss_demo MiB; needs: $(objdump -p "$binary" | awk '$1 == "NEEDED" {print $2}' | paste -sd' ')"
done
