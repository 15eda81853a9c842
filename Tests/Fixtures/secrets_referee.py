#!/usr/bin/env python3
"""The referee for kiln's secret scan: PyPI detect-secrets on every file below DIR, one file at a
time (its `scan` command forks a process pool, which can hang under a loaded test run), with
every plugin but the entropy guesses and the public-IP one. Prints one JSON object:
{"results": {"relative/path": [{"line_number": N, "type": "..."}]}}.

Usage: secrets_referee.py DIR
"""
import json
import os
import sys

from detect_secrets.core.scan import scan_file
from detect_secrets.settings import default_settings, get_settings

LEFT_OUT = {"Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector"}


def main(root):
    results = {}
    with default_settings():
        get_settings().disable_plugins(*LEFT_OUT)
        for directory, _, names in os.walk(root):
            for name in sorted(names):
                path = os.path.join(directory, name)
                found = sorted({(s.line_number, s.type) for s in scan_file(path)})
                if found:
                    results[os.path.relpath(path, root)] = [{"line_number": n, "type": t} for n, t in found]
    json.dump({"results": results}, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
