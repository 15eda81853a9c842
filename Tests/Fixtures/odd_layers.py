"""Odd but valid base layers (and two broken ones), as writers in the wild make them.

`odd_layers.py write OUT` writes OUT/oci, an OCI layout with one image per case, tagged
CASE-COMPRESSION, and OUT/cases.json: [{"tag", "blobs", "referees"}], where "referees" names the
Go appliers that take the image as their maintainers made them: "storage" (containers/storage,
through `skopeo copy` to `containers-storage:`) and "umoci" (`umoci unpack`; it has no zstd).
containers/storage refuses two entries with one name (tar-split's "duplicates of file paths not
supported"); umoci, like containerd, lets the later win.
`odd_layers.py dump ROOT` prints the skeleton of an extracted root: one line per directory
("PATH dir MODE UID:GID", mode in octal) and symlink ("PATH link TARGET"), then one per user of
ROOT/etc/passwd ("user NAME UID:GID"), sorted.
"""
import gzip, hashlib, io, json, os, platform, shutil, subprocess, sys, tarfile, tempfile

PASSWD = b"root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n"
PASSWD2 = b"root:x:0:0:root:/root:/bin/sh\nlater:x:70:71::/:/bin/sh\n"


def info(name, kind=tarfile.REGTYPE, mode=0o644, uid=0, gid=0, data=b"", link=""):
    i = tarfile.TarInfo(name)
    i.type, i.mode, i.uid, i.gid, i.linkname, i.mtime = kind, mode, uid, gid, link, 1700000000
    i.size = len(data) if kind == tarfile.REGTYPE else 0
    return i, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def tar(entries, fmt=tarfile.USTAR_FORMAT):
    """The tar bytes and where the last entry's data ends."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as t:
        for e in entries:
            member, data = info(*e[:2], **e[2]) if len(e) > 2 else info(*e)
            t.addfile(member, data)
            end = t.offset - (-member.size % 512)
    return out.getvalue(), end


def checksum(h):
    h = bytearray(h)
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def header(name, kind, mode=0o644, uid=0, gid=0, size=0, link=b"", magic=b"ustar\x0000", base256=False):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"%07o\0" % mode
    h[108:116] = b"%07o\0" % uid if uid < 0o7777777 else b"\x80" + uid.to_bytes(7, "big")
    h[116:124] = b"%07o\0" % gid
    h[124:136] = b"\x80" + size.to_bytes(11, "big") if base256 else b"%011o\0" % size
    h[136:148] = b"%011o\0" % 1700000000
    h[156:157] = kind
    h[157:157 + len(link)] = link
    h[257:265] = magic.ljust(8, b"\0")
    return checksum(h)


def block(data):
    return data + b"\0" * (-len(data) % 512)


def base256():
    body = b"hello base-256\n"
    data = header(b"etc/", b"5", 0o755) + header(b"etc/passwd", b"0", size=len(PASSWD), base256=True) + block(PASSWD)
    data += header(b"srv/", b"5", 0o750, uid=3000000, gid=7) + header(b"srv/f", b"0", size=len(body), base256=True) + block(body)
    return data + b"\0" * 1024


def v7():
    # No magic, no prefix, no owner names: a directory is a name ending in "/".
    data = header(b"etc/", b"\0", 0o755, magic=b"") + header(b"etc/passwd", b"0", size=len(PASSWD), magic=b"") + block(PASSWD)
    data += header(b"opt/old/", b"\0", 0o711, 4, 5, magic=b"") + header(b"lib", b"2", 0o777, link=b"usr/lib", magic=b"")
    return data + b"\0" * 1024


def root_and_dot():
    data = header(b"/", b"5", 0o755) + header(b"./", b"5", 0o755) + header(b"./etc/", b"5", 0o755)
    data += header(b"./etc/passwd", b"0", size=len(PASSWD)) + block(PASSWD) + header(b"./var//www/", b"5", 0o775, 33, 33)
    data += header(b"./usr/./bin/", b"5", 0o755) + header(b"./bin", b"2", 0o777, link=b"usr/bin")
    return data + b"\0" * 1024


BASIC = [("etc/", tarfile.DIRTYPE, {"mode": 0o755}), ("etc/passwd", tarfile.REGTYPE, {"data": PASSWD}),
         ("var/www/", tarfile.DIRTYPE, {"mode": 0o2775, "uid": 33, "gid": 50}), ("bin", tarfile.SYMTYPE, {"link": "usr/bin"}),
         ("usr/bin/", tarfile.DIRTYPE, {"mode": 0o755}), ("usr/bin/tool", tarfile.REGTYPE, {"mode": 0o755, "data": b"#!/bin/sh\n" * 7})]


def gnu_tar(work):
    """GNU tar's own output (10 KiB records, `./` names, long names, a hard link)."""
    root = os.path.join(work, "gnu")
    long = "l" * 60 + "/" + "o" * 70 + "/" + "n" * 40
    os.makedirs(os.path.join(root, "etc"))
    os.makedirs(os.path.join(root, "opt", long))
    os.makedirs(os.path.join(root, "srv", "data"))
    with open(os.path.join(root, "etc", "passwd"), "wb") as f:
        f.write(PASSWD)
    with open(os.path.join(root, "srv", "data", "file"), "wb") as f:
        f.write(b"x" * 700)
    os.link(os.path.join(root, "srv", "data", "file"), os.path.join(root, "srv", "hard"))
    os.symlink("../" + "t" * 120, os.path.join(root, "opt", "far"))
    os.chmod(os.path.join(root, "srv", "data"), 0o1770)
    os.chown(os.path.join(root, "srv", "data"), 12, 34)
    for d, _, _ in os.walk(root):
        os.utime(d, (1700000000, 1700000000))
    out = os.path.join(work, "gnu.tar")
    subprocess.run(["tar", "--format=gnu", "--numeric-owner", "-C", root, "-cf", out, "."], check=True)
    data = open(out, "rb").read()
    assert len(data) % 10240 == 0
    return data


def umoci_layer(work):
    """A layer of Debian's umoci 0.4.7 `insert`: no padding, no end-of-archive."""
    layout = os.path.join(work, "umoci")
    src = os.path.join(work, "umoci-src")
    os.makedirs(os.path.join(src, "www", "html"))
    with open(os.path.join(src, "www", "html", "index.html"), "wb") as f:
        f.write(b"<p>served</p>\n")
    with open(os.path.join(work, "passwd"), "wb") as f:
        f.write(PASSWD)
    subprocess.run(["umoci", "init", "--layout", layout], check=True)
    subprocess.run(["umoci", "new", "--image", layout + ":t"], check=True)
    subprocess.run(["umoci", "insert", "--image", layout + ":t", os.path.join(work, "passwd"), "/etc/passwd"], check=True)
    subprocess.run(["umoci", "insert", "--image", layout + ":t", os.path.join(src, "www"), "/var/www"], check=True)
    index = json.load(open(os.path.join(layout, "index.json")))
    manifest = json.load(open(os.path.join(layout, "blobs", "sha256", index["manifests"][0]["digest"][7:])))
    layers = [gzip.decompress(open(os.path.join(layout, "blobs", "sha256", l["digest"][7:]), "rb").read()) for l in manifest["layers"]]
    assert any(len(l) % 512 for l in layers), "umoci padded its layers"
    return layers


BOTH, NONE = ["storage", "umoci"], []


def cases(work):
    """(name, [uncompressed layer tars], referees that accept it)."""
    plain, end = tar(BASIC)
    assert end % 512, "the last entry must end off a block boundary"
    out = [("no-padding-no-end", [plain[:end]], BOTH),
           ("partial-padding", [plain[:end + 100]], BOTH),
           ("padding-no-end", [plain[:end + (-end % 512)]], BOTH),
           ("gnu-tar-records", [gnu_tar(work)], BOTH),
           ("root-and-dot-names", [root_and_dot()], BOTH),
           ("base-256", [base256()], BOTH),
           ("v7-no-magic", [v7()], BOTH),
           ("empty-stream", [plain[:end], b""], BOTH)]
    long = "d" * 120 + "/" + "e" * 150
    out.append(("gnu-long-names", [tar([("etc/", tarfile.DIRTYPE, {}), ("etc/passwd", tarfile.REGTYPE, {"data": PASSWD}),
                                        (long + "/", tarfile.DIRTYPE, {"mode": 0o700, "uid": 7, "gid": 8}),
                                        ("lnk", tarfile.SYMTYPE, {"link": "/" + "t" * 200})], tarfile.GNU_FORMAT)[0]], BOTH))
    out.append(("pax-headers", [tar([("etc/passwd", tarfile.REGTYPE, {"data": PASSWD}),
                                     (long + "/ü", tarfile.DIRTYPE, {"mode": 0o750, "uid": 3000000, "gid": 3000001}),
                                     ("lnk", tarfile.SYMTYPE, {"link": "/" + "t" * 200}),
                                     ("usr/lib/a.so", tarfile.REGTYPE, {"data": b"so"}),
                                     ("usr/lib/b.so", tarfile.LNKTYPE, {"link": "usr/lib/a.so"})], tarfile.PAX_FORMAT)[0]], BOTH))
    # (A directory replaced by a link must lead somewhere: storage dates directories last.)
    out.append(("duplicates", [tar([("c/", tarfile.DIRTYPE, {"mode": 0o700, "uid": 5}), ("c/", tarfile.DIRTYPE, {"mode": 0o755, "uid": 6}),
                                    ("a/", tarfile.DIRTYPE, {"mode": 0o700}), ("a", tarfile.SYMTYPE, {"link": "c"}),
                                    ("b", tarfile.SYMTYPE, {"link": "x"}), ("b/", tarfile.DIRTYPE, {"mode": 0o750}),
                                    ("d", tarfile.REGTYPE, {"data": b"file"}), ("d/", tarfile.DIRTYPE, {"mode": 0o711}),
                                    ("etc/passwd", tarfile.REGTYPE, {"data": PASSWD}),
                                    ("etc/passwd", tarfile.REGTYPE, {"data": PASSWD2})])[0]], ["umoci"]))
    out.append(("umoci-insert", umoci_layer(work), BOTH))
    out.append(("cut-in-data", [plain[:end - 5]], NONE))
    cut = plain[:end + (-end % 512)] + header(b"etc/later", b"0", size=3)
    out.append(("cut-in-header-name", [cut[:len(cut) - 500]], NONE))
    out.append(("cut-in-header-tail", [cut[:len(cut) - 200]], NONE))
    return out


def write(outdir):
    work = tempfile.mkdtemp(dir=outdir)
    layout = os.path.join(outdir, "oci")
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs)

    def put(data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + digest, "size": len(data)}

    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    manifests, listing = [], []
    for name, layers, referees in cases(work):
        for compression in (["gzip", "zstd", "plain"] if name in ("no-padding-no-end", "gnu-tar-records") else ["gzip"]):
            descriptors = []
            for layer in layers:
                if compression == "gzip":
                    blob, kind = gzip.compress(layer, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
                elif compression == "zstd":
                    blob = subprocess.run(["zstd", "-q", "-c"], input=layer, stdout=subprocess.PIPE, check=True).stdout
                    kind = "application/vnd.oci.image.layer.v1.tar+zstd"
                else:
                    blob, kind = layer, "application/vnd.oci.image.layer.v1.tar"
                descriptors.append(dict(mediaType=kind, **put(blob)))
            config = {"architecture": arch, "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]}}
            config_descriptor = dict(mediaType="application/vnd.oci.image.config.v1+json", **put(json.dumps(config).encode()))
            manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": config_descriptor, "layers": descriptors}
            tag = name + "-" + compression
            manifests.append(dict(mediaType=manifest["mediaType"], **put(json.dumps(manifest).encode()),
                                  annotations={"org.opencontainers.image.ref.name": tag}))
            listing.append({"tag": tag, "blobs": [os.path.join(blobs, d["digest"][7:]) for d in descriptors], "referees": [r for r in referees if r != "umoci" or compression != "zstd"]})
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)
    with open(os.path.join(outdir, "cases.json"), "w") as f:
        json.dump(listing, f)
    shutil.rmtree(work)


def dump(root):
    lines = []
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            rel = "/" + os.path.relpath(path, root)
            if os.path.islink(path):
                lines.append("%s link %s" % (rel, os.readlink(path)))
            elif os.path.isdir(path):
                lines.append("%s dir %o %d:%d" % (rel, st.st_mode & 0o7777, st.st_uid, st.st_gid))
    passwd = os.path.join(root, "etc", "passwd")
    if os.path.isfile(passwd) and not os.path.islink(passwd):
        for line in open(passwd, "rb").read().decode().splitlines():
            f = line.split(":")
            if len(f) >= 4:
                lines.append("user %s %s:%s" % (f[0], f[2], f[3]))
    print("\n".join(sorted(lines)))


if __name__ == "__main__":
    write(sys.argv[2]) if sys.argv[1] == "write" else dump(sys.argv[2])
