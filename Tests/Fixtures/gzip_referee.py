"""Referee for kiln's stored-gzip layers, sharing no code with kiln.

    gzip_referee.py stored INPUT OUTPUT   write INPUT as stored-block gzip (the layout
                                          docs/reproducibility.md gives), independently of kiln
    gzip_referee.py check BLOB            decompress BLOB with Python's zlib and with zlib-ng
                                          (PyPI zlib-ng), rewrite the tar with `stored`, and
                                          print one JSON object:
        {"zlib": sha256 of the tar by zlib, "zlib_ng": the same by zlib-ng,
         "zlib_version", "zlib_ng_version", "restored": sha256 of the rewritten blob,
         "restored_identical": whether it equals BLOB byte for byte, "blocks": how many
         deflate blocks BLOB holds, all stored (BTYPE 00)}

Fails (exit 1, message on stderr) when a decompressor refuses the blob or a block is not stored.
"""
import hashlib
import json
import struct
import sys
import zlib

from zlib_ng import zlib_ng

MAX_BLOCK = 65535
# ID1 ID2, CM deflate, FLG 0, MTIME 0, XFL 0, OS 255 (unknown).
HEADER = bytes([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255])


def stored_gzip(data):
    """Full blocks of MAX_BLOCK bytes, the rest in the final block (empty input: one empty one)."""
    out = bytearray(HEADER)
    starts = list(range(0, len(data), MAX_BLOCK)) or [0]
    for number, start in enumerate(starts):
        chunk = data[start:start + MAX_BLOCK]
        final = 1 if number == len(starts) - 1 else 0
        out += bytes([final]) + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk
    out += struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return bytes(out)


def count_stored_blocks(blob):
    """Walks the deflate blocks by hand; each must be stored and byte-aligned."""
    if blob[:3] != b"\x1f\x8b\x08" or blob[3] != 0:
        raise ValueError("not a gzip member without optional fields")
    position, blocks = 10, 0
    while True:
        head = blob[position]
        if head & 0b110 != 0:
            raise ValueError(f"block {blocks} at byte {position} is not stored (header byte {head:#x})")
        length, complement = struct.unpack_from("<HH", blob, position + 1)
        if length ^ complement != 0xFFFF:
            raise ValueError(f"block {blocks}: NLEN is not the complement of LEN")
        position += 5 + length
        blocks += 1
        if head & 1:
            break
    if position + 8 != len(blob):
        raise ValueError(f"{len(blob) - position - 8} bytes after the trailer")
    return blocks


def decompress_all(module, blob):
    decompressor = module.decompressobj(wbits=31)
    data = decompressor.decompress(blob) + decompressor.flush()
    if not decompressor.eof or decompressor.unused_data:
        raise ValueError(f"{module.__name__}: the stream does not end where the blob ends")
    return data


def main():
    command = sys.argv[1]
    if command == "stored":
        with open(sys.argv[2], "rb") as source, open(sys.argv[3], "wb") as target:
            target.write(stored_gzip(source.read()))
        return
    if command != "check":
        raise SystemExit(f"unknown command {command}")
    with open(sys.argv[2], "rb") as handle:
        blob = handle.read()
    by_zlib = decompress_all(zlib, blob)
    by_zlib_ng = decompress_all(zlib_ng, blob)
    restored = stored_gzip(by_zlib)
    print(json.dumps({
        "zlib": hashlib.sha256(by_zlib).hexdigest(),
        "zlib_ng": hashlib.sha256(by_zlib_ng).hexdigest(),
        "zlib_version": zlib.ZLIB_RUNTIME_VERSION,
        "zlib_ng_version": zlib_ng.ZLIBNG_VERSION,
        "restored": hashlib.sha256(restored).hexdigest(),
        "restored_identical": restored == blob,
        "blocks": count_stored_blocks(blob),
    }))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # one line for the test's failure message
        print(f"gzip_referee: {error}", file=sys.stderr)
        sys.exit(1)
