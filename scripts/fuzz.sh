#!/usr/bin/env bash
# Fuzzes kiln's parsers of untrusted text with libFuzzer (coverage + AddressSanitizer).
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# Targets: json reference spec lock auth overlay-path base-tree layer-headers dockerfile dockerignore archive-unpack image-archive referrers secrets task-definition (default: all), 30 s each by default.
# The seed corpus is Fuzz/corpus/TARGET; new inputs go to .build-fuzz/corpus/TARGET, crashes
# to .build-fuzz/crashes/TARGET (replay one: KILN_FUZZ_TARGET=T .build/debug/kiln-fuzz DIR).
# Prints one line per target (executions, crashes) and exits 1 when any target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(json reference spec lock auth overlay-path base-tree layer-headers dockerfile dockerignore archive-unpack image-archive referrers secrets task-definition)

# Instrumented by the frontend's -sanitize=fuzzer; linked against libFuzzer's no-main library,
# because SwiftPM renames an executable's main (kiln-fuzz's main calls LLVMFuzzerRunDriver).
resource=$(dirname "$(dirname "$(command -v swiftc)")")/lib/clang
nomain=$(ls "$resource"/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null | head -1)
[ -n "$nomain" ] || { echo "fuzz: libclang_rt.fuzzer_no_main not found under $resource" >&2; exit 2; }
# C targets (CSecretScan's classifier) get AddressSanitizer too: their reads are checked as well.
swift build --scratch-path .build-fuzz --product kiln-fuzz \
    -Xswiftc -sanitize=address -Xswiftc -Xfrontend -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING -Xcc -fsanitize=address \
    -Xlinker "$nomain" -Xlinker -lstdc++ 2>&1 | grep -E "error:|Build of" | grep -v "Cannot export" || true
binary=.build-fuzz/debug/kiln-fuzz
[ -x "$binary" ] || { echo "fuzz: build failed" >&2; exit 2; }

failed=0
for target in "${targets[@]}"; do
    corpus=.build-fuzz/corpus/$target
    crashes=.build-fuzz/crashes/$target
    mkdir -p "$corpus" "$crashes"
    log=.build-fuzz/$target.log
    status=0
    KILN_FUZZ_TARGET=$target ASAN_OPTIONS=detect_leaks=0 "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$crashes/" "$corpus" "Fuzz/corpus/$target" >"$log" 2>&1 || status=$?
    runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' || echo 0)
    found=$(find "$crashes" -type f | wc -l)
    echo "fuzz $target: $runs executions in ${seconds}s, $found crash(es), exit $status"
    if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
        failed=1
        tail -30 "$log" >&2
    fi
done
exit $failed
