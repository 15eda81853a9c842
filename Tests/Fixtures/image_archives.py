"""Image archives made from one skopeo docker-archive, for `kiln docker load`'s tests.

`image_archives.py SKOPEO_ARCHIVE OUTDIR` writes, beside skopeo's own layout:
  docker24.tar       Docker 24 and older: each layer a real `V1ID/layer.tar`, `./` names,
                     the config `HEX.json`, `repositories`.
  via-links.tar      manifest.json naming the `V1ID/layer.tar` links skopeo writes
                     (`../HEX.tar`), not the files.
  gzipped.tar        the whole archive gzip-compressed (docker load takes that).
and hostile ones, each of which must be refused with nothing loaded:
  climbs.tar         an entry named `../evil`.
  wrong-diff-id.tar  a layer whose bytes are not the config's diff_id.
  wrong-name.tar     a config stored under another digest's name.
  huge-manifest.tar  a 5 MiB manifest.json.
  link-loop.tar      a layer named through links that loop.
  outside-link.tar   manifest.json a link to /etc/passwd (followed inside the archive only).
  no-image.tar       an archive with neither manifest.json nor index.json.
  many-names.tar     manifest.json giving the image 100,000 RepoTags (each would become a tag
                     of kiln docker's store, whose index.json then outgrew what kiln reads).
  long-name.tar      manifest.json naming the config as `x/../` 600,000 times, then its name
                     (3 MB: resolving it once took time quadratic in its length).
"""
import gzip, hashlib, io, json, os, sys, tarfile

source, out = sys.argv[1], sys.argv[2]
with tarfile.open(source) as t:
    members = {m.name: m for m in t.getmembers()}
    files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
manifest = json.loads(files["manifest.json"])
image = manifest[0]
config = json.loads(files[image["Config"]])


def write(name, entries, compress=False):
    """entries: [(name, bytes | ("link", target) | ("hard", target))]"""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for entry_name, data in entries:
            info = tarfile.TarInfo(entry_name)
            info.mtime = 0
            if isinstance(data, tuple):
                info.type = tarfile.SYMTYPE if data[0] == "link" else tarfile.LNKTYPE
                info.linkname = data[1]
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    with open(os.path.join(out, name), "wb") as f:
        f.write(gzip.compress(data, mtime=0) if compress else data)


def docker_manifest(layers, config_name=None):
    return json.dumps([{"Config": config_name or image["Config"], "RepoTags": image["RepoTags"], "Layers": layers}]).encode()


v1 = [hashlib.sha256(("v1-%d" % i).encode()).hexdigest() for i in range(len(image["Layers"]))]
legacy = [("./" + image["Config"], files[image["Config"]])]
for i, layer in enumerate(image["Layers"]):
    legacy += [("./%s/VERSION" % v1[i], b"1.0"), ("./%s/json" % v1[i], b"{}"),
               ("./%s/layer.tar" % v1[i], files[layer])]
legacy += [("./manifest.json", docker_manifest(["%s/layer.tar" % v for v in v1])),
           ("./repositories", json.dumps({"example.com/app": {"v1": v1[-1]}}).encode())]
write("docker24.tar", legacy)

links = [(l, files[l]) for l in image["Layers"]] + [(image["Config"], files[image["Config"]])]
links += [("%s/layer.tar" % v1[i], ("link", "../" + l)) for i, l in enumerate(image["Layers"])]
links += [("manifest.json", docker_manifest(["%s/layer.tar" % v for v in v1]))]
write("via-links.tar", links)
write("gzipped.tar", [(n, files[n]) for n in files] + [(n, ("link", m.linkname)) for n, m in members.items() if m.issym()], compress=True)

plain = [(n, files[n]) for n in files]
write("climbs.tar", [("../evil", b"x")] + plain)
# (Under a name without a digest: skopeo names layers by their diff_id, which is checked first.)
write("wrong-diff-id.tar", [(n, d) for n, d in plain if n != "manifest.json"] +
      [("layer0.tar", files[image["Layers"][-1]] if len(image["Layers"]) > 1 else b"\0" * 1024),
       ("manifest.json", docker_manifest(["layer0.tar"] + image["Layers"][1:]))])
other = "0" * 64 + ".json"
write("wrong-name.tar", [(n, d) for n, d in plain if n not in ("manifest.json", image["Config"])] +
      [(other, files[image["Config"]]), ("manifest.json", docker_manifest(image["Layers"], other))])
write("huge-manifest.tar", [(n, d) for n, d in plain if n != "manifest.json"] + [("manifest.json", b" " * (5 << 20))])
write("link-loop.tar", [(n, d) for n, d in plain if n != "manifest.json"] +
      [("a.tar", ("link", "b.tar")), ("b.tar", ("link", "./a.tar")), ("manifest.json", docker_manifest(["a.tar"] + image["Layers"][1:]))])
write("outside-link.tar", [(n, d) for n, d in plain if n != "manifest.json"] + [("manifest.json", ("link", "/etc/passwd"))])
write("no-image.tar", [("hello.txt", b"hello\n")])
write("long-name.tar", [(n, d) for n, d in plain if n != "manifest.json"] +
      [("manifest.json", docker_manifest(image["Layers"], "x/../" * 600_000 + image["Config"]))])
write("many-names.tar", [(n, d) for n, d in plain if n != "manifest.json"] +
      [("manifest.json", json.dumps([{"Config": image["Config"], "RepoTags": ["example.com/app:t%d" % i for i in range(100_000)],
                                      "Layers": image["Layers"]}]).encode())])
