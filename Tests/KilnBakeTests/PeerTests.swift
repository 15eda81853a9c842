import Foundation
import KilnTestSupport
import Testing

/// kiln's output read back by independent tools: oci-image-tool, umoci, skopeo.
@Suite struct PeerTests {
    /// An overlay tree like the gateway's, with an executable and an inner symlink.
    private func makeOverlay(in dir: TemporaryDirectory) throws {
        try dir.write("overlay/kong.conf", "database = off\n")
        try dir.write("overlay/declarative/kong.yml", "_format_version: \"2.1\"\n")
        try dir.write("overlay/bin/healthcheck.sh", "#!/bin/sh\nexit 0\n", mode: 0o755)
        try FileManager.default.createSymbolicLink(atPath: dir("overlay/declarative/current.yml"), withDestinationPath: "kong.yml")
    }

    private func stat(_ path: String) throws -> String {
        try runChecked("stat", ["-c", "%F %a %u:%g", path]).output
    }

    @Test func ociBaseBakedAndReadBackByPeers() throws {
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("base"), work: dir)
        try makeOverlay(in: dir)
        let result = try BakeJSON(kiln([
            "bake", "--base", "oci:\(dir("base")):base",
            "--overlay", "\(dir("overlay/kong.conf")):/etc/kong/kong.conf",
            "--overlay", "\(dir("overlay/declarative")):/usr/local/kong/declarative",
            "--owner", "1000:0", "--mode", "0640",
            "--remove", "/etc/kong/kong.conf.default",
            "--env", "KONG_DATABASE=off", "--env", "KONG_PLUGINS=oidc,cors",
            "--label", "org.opencontainers.image.source=https://example.org/repo",
            "--user", "kong", "--workdir", "/usr/local/kong",
            "--entrypoint", #"["/docker-entrypoint.sh"]"#, "--cmd", #"["kong","docker-start"]"#,
            "--output", "oci:\(dir("out")):gateway", "--json",
        ]))
        #expect(result.mediaType == "application/vnd.oci.image.manifest.v1+json")

        let validation = try run("oci-image-tool", ["validate", "--type", "image", "--ref", "name=gateway", dir("out")])
        #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")

        try PeerImages.unpack("\(dir("out")):gateway", to: dir("bundle"))
        let root = dir("bundle/rootfs")
        if getuid() == 0 {
            #expect(try stat("\(root)/etc/kong/kong.conf") == "regular file 640 1000:0")
            #expect(try stat("\(root)/usr/local/kong/declarative") == "directory 750 1000:0")
            #expect(try stat("\(root)/usr/local/kong/declarative/kong.yml") == "regular file 640 1000:0")
            #expect(try stat("\(root)/usr/local/kong") == "directory 755 0:0")
        }
        #expect(try String(contentsOfFile: "\(root)/etc/kong/kong.conf", encoding: .utf8) == "database = off\n")
        #expect(!FileManager.default.fileExists(atPath: "\(root)/etc/kong/kong.conf.default"))
        #expect(FileManager.default.fileExists(atPath: "\(root)/etc/os-release"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(root)/usr/local/kong/declarative/current.yml") == "kong.yml")
        // umoci's own record of the tree it unpacked (its mtree) has the modes in any mode.
        let mtree = try runChecked("sh", ["-c", "cat '\(dir("bundle"))'/sha256_*.mtree"]).stdout
        let lines = mtree.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains { $0.hasPrefix("kong.conf ") && $0.contains("mode=0640") })
        #expect(lines.contains { $0.hasPrefix("declarative ") && $0.contains("mode=0750") })

        let inspect = try JSONSerialization.jsonObject(with: Data(try runChecked("skopeo", ["inspect", "--config", "oci:\(dir("out")):gateway"]).stdout.utf8)) as? [String: Any] ?? [:]
        let config = inspect["config"] as? [String: Any] ?? [:]
        #expect(config["Env"] as? [String] == ["PATH=/usr/local/bin:/usr/bin:/bin", "KONG_DATABASE=off", "KONG_PLUGINS=oidc,cors"])
        #expect(config["User"] as? String == "kong")
        #expect(config["WorkingDir"] as? String == "/usr/local/kong")
        #expect(config["Entrypoint"] as? [String] == ["/docker-entrypoint.sh"])
        #expect(config["Cmd"] as? [String] == ["kong", "docker-start"])
        let labels = config["Labels"] as? [String: String] ?? [:]
        #expect(labels == ["vendor": "peer", "org.opencontainers.image.source": "https://example.org/repo"])
        let rootfs = inspect["rootfs"] as? [String: Any] ?? [:]
        #expect((rootfs["diff_ids"] as? [String])?.last == result.layer.diffID)

        let raw = try JSONSerialization.jsonObject(with: Data(try runChecked("skopeo", ["inspect", "--raw", "oci:\(dir("out")):gateway"]).stdout.utf8)) as? [String: Any] ?? [:]
        let annotations = raw["annotations"] as? [String: String] ?? [:]
        let baseDigest = try LayoutReader(dir("base")).entry(tag: "base")["digest"] as? String
        #expect(annotations["org.opencontainers.image.base.digest"] == baseDigest)
    }

    /// Debian's umoci 0.4.7 writes `insert` layers that stop right after the last file's data
    /// (no padding, no end-of-archive blocks), which every Go applier takes: kiln bakes on such
    /// a base, placing files against it (the inserted /etc/passwd names the owner, the inserted
    /// directory keeps its mode), and the result unpacks with umoci.
    @Test func bakesOnUnpaddedLayersUmociInserts() throws {
        let dir = try TemporaryDirectory()
        try dir.write("passwd", "root:x:0:0::/root:/bin/sh\napp:x:1234:4321::/srv:/bin/sh\n")
        try dir.write("srv/data/readme", "data\n")
        _ = try runChecked("chmod", ["0750", dir("srv/data")])
        try runChecked("umoci", ["init", "--layout", dir("base")])
        try runChecked("umoci", ["new", "--image", "\(dir("base")):base"])
        try runChecked("umoci", ["insert", "--image", "\(dir("base")):base", dir("passwd"), "/etc/passwd"])
        try runChecked("umoci", ["insert", "--image", "\(dir("base")):base", dir("srv"), "/srv"])
        try runChecked("umoci", ["config", "--image", "\(dir("base")):base", "--os", "linux", "--architecture", "amd64"])
        try dir.write("overlay/app.conf", "x = 1\n")
        let result = try BakeJSON(kiln(["bake", "--base", "oci:\(dir("base")):base", "--overlay", "\(dir("overlay/app.conf")):/srv/data/conf/app.conf",
                                        "--owner", "app", "--output", "oci:\(dir("out")):app", "--json"]))
        let listing = try runChecked("tar", ["--numeric-owner", "-tvzf", dir("out/blobs/sha256/\(result.layer.digest.dropFirst("sha256:".count))")]).stdout
        let lines = listing.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("drwxr-x---") && $0.hasSuffix("srv/data/") }, "the base's directory keeps its mode: \(listing)")
        #expect(lines.contains { $0.contains("1234/") && $0.hasSuffix("srv/data/conf/app.conf") }, "the owner is read from umoci's passwd: \(listing)")
        try PeerImages.unpack("\(dir("out")):app", to: dir("bundle"))
        #expect(try String(contentsOfFile: dir("bundle/rootfs/srv/data/conf/app.conf"), encoding: .utf8) == "x = 1\n")
    }

    @Test func dockerTypedBaseGivesDockerTypedOutput() throws {
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("oci"), work: dir)
        try PeerImages.convertToDocker(from: "\(dir("oci")):base", to: "\(dir("docker")):base")
        try makeOverlay(in: dir)
        let result = try BakeJSON(kiln(["bake", "--base", "oci:\(dir("docker")):base", "--overlay", "\(dir("overlay")):/etc/app",
                                        "--env", "A=b", "--output", "oci:\(dir("out")):app", "--json"]))
        #expect(result.mediaType == "application/vnd.docker.distribution.manifest.v2+json")
        let manifest = try LayoutReader(dir("out")).json(result.digest)
        let layers = manifest["layers"] as? [[String: Any]] ?? []
        #expect(Set(layers.compactMap { $0["mediaType"] as? String }) == ["application/vnd.docker.image.rootfs.diff.tar.gzip"])
        #expect((manifest["config"] as? [String: Any])?["mediaType"] as? String == "application/vnd.docker.container.image.v1+json")
        #expect(manifest["annotations"] == nil)

        // skopeo reads it (verifying every digest) and converts it to OCI; umoci then unpacks it.
        try PeerImages.exportToDirTransport(layout: dir("out"), manifestDigest: result.digest, to: dir("dirtransport"))
        let inspect = try runChecked("skopeo", ["inspect", "dir:\(dir("dirtransport"))"]).stdout
        #expect(inspect.contains("\"A=b\""))
        try runChecked("skopeo", ["copy", "--quiet", "--format", "oci", "dir:\(dir("dirtransport"))", "oci:\(dir("converted")):app"])
        try PeerImages.unpack("\(dir("converted")):app", to: dir("bundle"))
        #expect(FileManager.default.fileExists(atPath: dir("bundle/rootfs/etc/app/bin/healthcheck.sh")))

        let zstd = try kiln(["bake", "--base", "oci:\(dir("docker")):base", "--overlay", "\(dir("overlay")):/etc/app",
                             "--compression", "zstd", "--output", "oci:\(dir("zstd")):app"])
        #expect(zstd.status == 1)
        #expect(zstd.stderr.hasPrefix("kiln: error: zstd layers need an OCI-typed base"))
        #expect(!FileManager.default.fileExists(atPath: dir("zstd")))
    }

    @Test func twoPlatformIndexSharesOneLayerAndDropsAttestations() throws {
        let dir = try TemporaryDirectory()
        try PeerImages.makeTwoPlatformBase(at: dir("base"), work: dir)
        try makeOverlay(in: dir)
        let all = try kiln(["bake", "--base", "oci:\(dir("base")):multi", "--overlay", "\(dir("overlay")):/etc/app",
                            "--output", "oci:\(dir("out")):multi", "--json"])
        let result = try BakeJSON(all)
        #expect(result.mediaType == "application/vnd.oci.image.index.v1+json")
        #expect(result.platforms == ["linux/amd64", "linux/arm64/v8"])
        #expect(all.stderr.contains("kiln: note: dropping") && all.stderr.contains("attestation-manifest"))

        let reader = LayoutReader(dir("out"))
        let index = try reader.json(result.digest)
        let children = index["manifests"] as? [[String: Any]] ?? []
        #expect(children.count == 2)
        #expect(children.compactMap { ($0["platform"] as? [String: Any])?["architecture"] as? String } == ["amd64", "arm64"])
        for child in children {
            let manifest = try reader.json(child["digest"] as? String ?? "")
            let layers = manifest["layers"] as? [[String: Any]] ?? []
            #expect(layers.last?["digest"] as? String == result.layer.digest)
        }
        let validation = try run("oci-image-tool", ["validate", "--type", "image", "--ref", "name=multi", dir("out")])
        #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")
        for arch in ["amd64", "arm64"] {
            let inspect = try runChecked("skopeo", ["inspect", "--override-arch", arch, "oci:\(dir("out")):multi"]).stdout
            #expect(inspect.contains("\"Architecture\": \"\(arch)\""))
        }
        try runChecked("skopeo", ["copy", "--quiet", "--override-arch", "arm64", "oci:\(dir("out")):multi", "oci:\(dir("arm")):arm64"])
        try PeerImages.unpack("\(dir("arm")):arm64", to: dir("bundle"))
        #expect(try String(contentsOfFile: dir("bundle/rootfs/etc/os-release"), encoding: .utf8).contains("ARCH=arm64"))
        #expect(FileManager.default.fileExists(atPath: dir("bundle/rootfs/etc/app/kong.conf")))

        let one = try BakeJSON(kiln(["bake", "--base", "oci:\(dir("base")):multi", "--overlay", "\(dir("overlay")):/etc/app",
                                     "--platform", "linux/arm64", "--output", "oci:\(dir("out")):arm", "--json"]))
        #expect(one.platforms == ["linux/arm64/v8"])
        #expect((try reader.json(one.digest)["manifests"] as? [Any])?.count == 1)
        #expect(one.layer == result.layer)

        let none = try kiln(["bake", "--base", "oci:\(dir("base")):multi", "--overlay", "\(dir("overlay")):/etc/app",
                             "--platform", "linux/s390x", "--output", "oci:\(dir("out")):s390x"])
        #expect(none.status == 1)
        #expect(none.stderr.contains(": no image for platform linux/s390x (there are: linux/amd64, linux/arm64/v8)"), "\(none.stderr)")
    }

    @Test func zstdLayerOnOCIBase() throws {
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("base"), work: dir)
        try makeOverlay(in: dir)
        let result = try BakeJSON(kiln(["bake", "--base", "oci:\(dir("base")):base", "--overlay", "\(dir("overlay")):/etc/app",
                                        "--compression", "zstd", "--output", "oci:\(dir("out")):z", "--json"]))
        let manifest = try LayoutReader(dir("out")).json(result.digest)
        #expect((manifest["layers"] as? [[String: Any]])?.last?["mediaType"] as? String == "application/vnd.oci.image.layer.v1.tar+zstd")
        let listing = try runChecked("sh", ["-c", "zstd -dc '\(dir("out/blobs/sha256"))/\(result.layer.digest.dropFirst(7))' | tar -tf -"]).stdout
        #expect(listing.contains("etc/app/kong.conf"))
    }

    @Test func bakingIntoTheBaseLayoutKeepsItsTagsAndIsIdempotent() throws {
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("layout"), work: dir)
        try makeOverlay(in: dir)
        let arguments = ["bake", "--base", "oci:\(dir("layout")):base", "--overlay", "\(dir("overlay")):/etc/app",
                         "--output", "oci:\(dir("layout")):derived", "--json"]
        let first = try BakeJSON(kiln(arguments))
        let fingerprint = LayoutReader(dir("layout")).fingerprint()
        let second = try BakeJSON(kiln(arguments))
        #expect(first.digest == second.digest)
        #expect(LayoutReader(dir("layout")).fingerprint() == fingerprint)
        let tags = (try LayoutReader(dir("layout")).index()["manifests"] as? [[String: Any]] ?? []).compactMap {
            ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"]
        }
        #expect(tags == ["base", "derived"])
        #expect(try run("oci-image-tool", ["validate", "--type", "image", "--ref", "name=derived", dir("layout")]).status == 0)
    }
}
