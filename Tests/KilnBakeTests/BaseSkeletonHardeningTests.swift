import Foundation
import KilnTestSupport
import Testing

/// A hostile registry, a poisoned CI cache and a hostile base against the skeleton kiln places
/// files by, end to end: bases built by umoci, served by the real registry, results unpacked by
/// umoci.
@Suite struct BaseSkeletonHardeningTests {
    final class Fixture {
        let dir: TemporaryDirectory
        let registry: RegistryServer

        init() throws {
            dir = try TemporaryDirectory()
            registry = try RegistryServer()
            try PeerImages.makeOCIBase(at: dir("base"), work: dir)
            try dir.write("app.conf", "x=1\n")
        }

        /// The umoci base plus one layer written by Python's tarfile from `entries` (a list of
        /// (name, type, linkname)), pushed as `REPOSITORY:1`. Returns the added layer's digest.
        func push(extraLayer entries: String, as repository: String) throws -> String {
            let tar = dir("\(repository).tar")
            try runChecked("python3", ["-c", """
                import io, tarfile
                with tarfile.open("\(tar)", "w", format=tarfile.PAX_FORMAT) as t:
                    for name, kind, link in \(entries):
                        i = tarfile.TarInfo(name); i.type = kind; i.mode = 0o755; i.linkname = link
                        t.addfile(i, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
                """])
            try runChecked("umoci", ["raw", "add-layer", "--image", "\(dir("base")):base", "--tag", repository, tar])
            try registry.push(layout: "\(dir("base")):\(repository)", to: "\(repository):1")
            return try layers(tag: repository).last!
        }

        /// The layer digests of the layout image `base:TAG`.
        func layers(tag: String) throws -> [String] {
            let reader = LayoutReader(dir("base"))
            let manifest = try reader.json(try reader.entry(tag: tag)["digest"] as! String)
            return (manifest["layers"] as! [[String: Any]]).map { $0["digest"] as! String }
        }

        /// A cache and a config directory of this test's own (the key lives in the latter).
        var environment: [String: String] { ["KILN_CACHE_DIR": dir("cache"), "XDG_CONFIG_HOME": dir("config")] }

        func bake(_ base: String, to destination: String = "/etc/app.conf", output: String? = nil, extra: [String] = []) throws -> ProcessResult {
            try kiln(["bake", "--base", "\(registry.host)/\(base)", "--overlay", "\(dir("app.conf")):\(destination)"] + extra
                     + ["--output", output ?? "oci:\(dir("out")):x"], extraEnvironment: environment)
        }
    }

    @Test func aPathLongerThanPATH_MAXIsOneErrorNamingTheLayer() throws {
        let f = try Fixture()
        // 10,000 nested levels in a layer of a few KiB: once 15 s, 1 GB and a 100 MB kiln.lock.d.
        let layer = try f.push(extraLayer: #"[("a/" * 10000 + "f", tarfile.REGTYPE, "")]"#, as: "deep")
        HardeningTests.expectOneError(try f.bake("deep:1", extra: ["--quiet"]), ["layer \(layer) of \(f.registry.host)/deep:1", "PATH_MAX"])
        #expect(!FileManager.default.fileExists(atPath: f.dir("out")))

        try f.dir.write("repo/overlays/app.conf", "x=1\n")
        try f.dir.write("repo/images/app.yaml", "base: \(f.registry.host)/deep:1\ntarget: oci:\(f.dir("repo/out"))\noverlays:\n  - from: overlays/app.conf\n    to: /etc/app.conf\n")
        let lock = try kiln(["lock", "--root", f.dir("repo")], extraEnvironment: f.environment)
        #expect(lock.status == 1 && lock.stderr.contains(layer) && lock.stderr.contains("PATH_MAX"), "\(lock.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.dir("repo/kiln.lock")) && !FileManager.default.fileExists(atPath: f.dir("repo/kiln.lock.d")))
    }

    @Test func aForgedLayerChangesCacheIsNotTrusted() throws {
        let f = try Fixture()
        try f.registry.push(layout: "\(f.dir("base")):base", to: "kong:1")
        let layer = try f.layers(tag: "base").last!
        func bake() throws -> BakeJSON { try BakeJSON(f.bake("kong:1", extra: ["--owner", "kong", "--json"])) }
        let honest = try bake()
        let entry = f.dir("cache/layer-changes/sha256-\(layer.dropFirst(7)).jsonl")
        // What a poisoned CI cache holds: /etc a link to /tmp, kong with uid 0.
        let poison = "[\"link\",\"/etc\",\"/tmp\"]\n[\"passwd\",\"kong:x:0:0::/:/bin/sh\\n\"]\n"
        try Data("[\"kiln layer changes\",1]\n\(poison)".utf8).write(to: URL(fileURLWithPath: entry))
        #expect(try bake().digest == honest.digest, "the forged entry was used")
        let authentic = try String(contentsOfFile: entry, encoding: .utf8)
        #expect(authentic.split(separator: "\n").last?.hasPrefix("[\"hmac-sha256\",\"") == true, "\(authentic)")
        // The key: 32 bytes, this user's alone, outside the cache directory.
        let key = f.dir("config/kiln/cache-key")
        let attributes = try FileManager.default.attributesOfItem(atPath: key)
        #expect((attributes[.posixPermissions] as? Int) == 0o600 && (attributes[.size] as? Int) == 32)

        // A second bake on the authentic entry reads no layer.
        var before = f.registry.requests().count
        #expect(try bake().digest == honest.digest)
        #expect(!f.registry.requests()[before...].contains { $0.contains("/blobs/\(layer)") })

        /// Writes `body` (lines after the header) as the entry, with a MAC line computed under
        /// `macKey` (a file) for `macDigest`, or none.
        func forge(_ body: String, macKey: String?, for macDigest: String = layer) throws {
            let text = "[\"kiln layer changes\",1]\n" + body
            try Data(text.utf8).write(to: URL(fileURLWithPath: f.dir("forged")))
            var line = ""
            if let macKey {
                line = try runChecked("python3", ["-c", """
                    import hmac, hashlib, sys
                    key = open(sys.argv[1], "rb").read(); body = open(sys.argv[2], "rb").read()
                    print('["hmac-sha256","%s"]' % hmac.new(key, b"kiln layer changes cache\\n" + sys.argv[3].encode() + b"\\n" + body, hashlib.sha256).hexdigest())
                    """, macKey, f.dir("forged"), macDigest]).stdout
            }
            try Data((text + line).utf8).write(to: URL(fileURLWithPath: entry))
        }
        try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: f.dir("other-key")))
        for (body, macKey, digest) in [(poison, nil, layer),                         // no MAC: the old format
                                       (poison, f.dir("other-key"), layer),           // another machine's key
                                       (poison, key, "sha256:" + String(repeating: "0", count: 64)), // another layer's entry
                                       ("[\"dir\",\"/etc\",\"0755\",9223372036854775807,0]\n", key, layer)] { // out of range
            try forge(body, macKey: macKey, for: digest)
            before = f.registry.requests().count
            #expect(try bake().digest == honest.digest, "a forged entry was used (\(macKey == nil ? "no MAC" : digest))")
            #expect(f.registry.requests()[before...].contains { $0.contains("/blobs/\(layer)") }, "the layer was not read again")
            #expect(try String(contentsOfFile: entry, encoding: .utf8) == authentic, "the entry was not rewritten")
        }
        // The control: the same poison under this user's key for this layer is taken (the key
        // is the trust boundary), so the refusals above are the MAC's doing.
        try forge(poison, macKey: key)
        #expect(try bake().digest != honest.digest)

        // kiln lock records only what it derived from the layer's bytes.
        try forge(poison, macKey: nil)
        try f.dir.write("repo/overlays/app.conf", "x=1\n")
        try f.dir.write("repo/images/app.yaml", "base: \(f.registry.host)/kong:1\ntarget: oci:\(f.dir("repo/out"))\noverlays:\n  - from: overlays/app.conf\n    to: /etc/app.conf\n    owner: kong\n")
        let lock = try kiln(["lock", "--root", f.dir("repo")], extraEnvironment: f.environment)
        #expect(lock.status == 0, "\(lock.stderr)")
        let trees = try FileManager.default.contentsOfDirectory(atPath: f.dir("repo/kiln.lock.d"))
        #expect(trees.count == 1)
        let tree = try String(contentsOfFile: f.dir("repo/kiln.lock.d/\(trees[0])"), encoding: .utf8)
        #expect(tree.contains("[\"dir\",\"/etc\",") && !tree.contains("[\"link\",\"/etc\"") && tree.contains("[\"user\",\"kong\",1000,1000]"), "\(tree)")
    }

    @Test func whiteoutNamesBehindTheBasesLinksAreRefused() throws {
        let f = try Fixture()
        _ = try f.push(extraLayer: #"[("opt", tarfile.SYMTYPE, ".wh..wh..opq"), ("srv", tarfile.SYMTYPE, "/usr/.wh.local")]"#, as: "links")
        // Once: kiln's layer held .wh..wh..opq/app.conf (the whole base hidden) or usr/.wh.local/
        // (/usr/local deleted).
        for (destination, resolved, name) in [("/opt/app.conf", "/.wh..wh..opq/app.conf", ".wh..wh..opq"), ("/srv/app.conf", "/usr/.wh.local/app.conf", ".wh.local")] {
            HardeningTests.expectOneError(try f.bake("links:1", to: destination, extra: ["--quiet"]),
                                          ["destination '\(destination)' leads through the base's symlinks to '\(resolved)'", "'\(name)' starts with '.wh.'"])
        }
        HardeningTests.expectOneError(try kiln(["bake", "--quiet", "--base", "\(f.registry.host)/links:1", "--remove", "/srv/bin", "--output", "oci:\(f.dir("out")):x"],
                                           extraEnvironment: f.environment), ["--remove /srv/bin", "'.wh.local' starts with '.wh.'"])
        #expect(!FileManager.default.fileExists(atPath: f.dir("out")))

        // The same base baked elsewhere: umoci shows the base whole beside the file.
        let good = try f.bake("links:1", extra: ["--quiet"])
        #expect(good.status == 0, "\(good.stderr)")
        try PeerImages.unpack("\(f.dir("out")):x", to: f.dir("bundle"))
        for path in ["etc/passwd", "etc/app.conf", "usr/local/kong", "usr/local/bin/kong"] {
            #expect(FileManager.default.fileExists(atPath: f.dir("bundle/rootfs/\(path)")), "\(path) is hidden")
        }
    }
}
