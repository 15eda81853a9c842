#!/usr/bin/env bash
# Compiles each reproduction here with -O and reports whether this toolchain still has the fault.
# kiln's code avoids the faulty shapes either way; this says when the workaround can go.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
swiftc -O -parse-as-library task-tuple-result.swift -o "$work/task-tuple-result" 2>/dev/null
got=$("$work/task-tuple-result")
if [ "$got" = "1 7" ]; then echo "task-tuple-result: fixed in this toolchain (printed '$got')"; exit 1; fi
echo "task-tuple-result: fault present (printed '$got', expected '1 7')"
