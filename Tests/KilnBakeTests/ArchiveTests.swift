import Foundation
import KilnTestSupport
import OCI
import Testing

/// The local loop: `--output docker-archive:FILE[:NAME:TAG]` and `oci-archive:FILE[:TAG]`, loaded
/// and run by podman, read by skopeo, the same bytes twice, and nothing half-written.
@Suite struct ArchiveTests {
    final class Fixture {
        let dir: TemporaryDirectory
        let podman: Podman

        init() throws {
            dir = try TemporaryDirectory()
            podman = try Podman(in: dir("podman"))
            try PeerImages.makeRunnableBase(at: dir("base"), work: dir)
            try dir.write("baked/file", "baked by kiln\n")
        }

        func bake(_ output: String, base: String? = nil, _ extra: [String] = []) throws -> ProcessResult {
            try kiln(["bake", "--quiet", "--base", base ?? "oci:\(dir("base")):run", "--overlay", "\(dir("baked/file")):/baked/file",
                      "--env", "STAGE=local"] + extra + ["--output", output])
        }

        /// The same bake into a layout: the digests an archive must agree with.
        func layoutBake() throws -> (digest: String, config: String, configBytes: Data) {
            let result = try BakeJSON(kiln(["bake", "--quiet", "--base", "oci:\(dir("base")):run", "--overlay", "\(dir("baked/file")):/baked/file",
                                            "--env", "STAGE=local", "--output", "oci:\(dir("layout")):dev", "--json"]))
            let reader = LayoutReader(dir("layout"))
            let config = try #require((try reader.json(result.digest)["config"] as? [String: Any])?["digest"] as? String)
            return (result.digest, config, try reader.blob(config))
        }

        func bytes(_ relative: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: dir(relative))) }

        /// Names in the directory that a run left behind: temporary files kiln writes start `.kiln-tmp-`.
        func temporaries(in relative: String = "") -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: relative.isEmpty ? dir.path : dir(relative))) ?? []).filter { $0.hasPrefix(".kiln-tmp-") }
        }
    }

    private func skopeoJSON(_ arguments: [String]) throws -> [String: Any] {
        let output = try runChecked("skopeo", arguments).stdout
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
    }

    @Test func dockerArchiveIsLoadedAndRunByPodman() throws {
        let f = try Fixture()
        let layout = try f.layoutBake()

        let result = try f.bake("docker-archive:\(f.dir("app.tar")):kiln-test/app:dev")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output == "docker-archive:\(f.dir("app.tar")):kiln-test/app:dev@\(layout.digest)")

        // What docker save writes: manifest.json, repositories, blobs by digest; sorted.
        let names = try runChecked("tar", ["-tf", f.dir("app.tar")]).stdout.split(separator: "\n").map(String.init)
        #expect(names == names.sorted())
        #expect(names.contains("manifest.json") && names.contains("repositories") && names.contains("blobs/sha256/\(layout.config.dropFirst(7))"))
        #expect(!names.contains("index.json"))
        let verbose = try runChecked("tar", ["--numeric-owner", "--full-time", "-tvf", f.dir("app.tar")]).stdout
        #expect(verbose.split(separator: "\n").allSatisfy { $0.contains(" 0/0 ") && $0.contains("1970-01-01 00:00:00") }, "\(verbose)")

        // The config byte for byte, so the image ID is the layout output's config digest.
        let config = try runChecked("skopeo", ["inspect", "--config", "--raw", "docker-archive:\(f.dir("app.tar"))"]).stdout
        #expect(Data(config.utf8) == layout.configBytes)
        let inspect = try skopeoJSON(["inspect", "docker-archive:\(f.dir("app.tar"))"])
        #expect((inspect["Env"] as? [String])?.contains("STAGE=local") == true)
        #expect((inspect["Layers"] as? [String])?.count == 2)

        #expect(try f.podman.load(f.dir("app.tar")).contains("kiln-test/app:dev"))
        #expect(try f.podman.imageID("localhost/kiln-test/app:dev") == layout.config)
        #expect(try f.podman.runContainer("localhost/kiln-test/app:dev", ["cat", "/baked/file"]) == "baked by kiln\n")

        // The same archive bytes twice; and no temporary file left beside them.
        #expect(try f.bake("docker-archive:\(f.dir("again.tar")):kiln-test/app:dev").status == 0)
        #expect(try f.bytes("again.tar") == f.bytes("app.tar"))
        #expect(f.temporaries().isEmpty)

        // Without NAME:TAG the image loads unnamed, by its ID.
        #expect(try f.bake("docker-archive:\(f.dir("unnamed.tar"))").status == 0)
        let loaded = try f.podman.load(f.dir("unnamed.tar"))
        #expect(loaded.contains(layout.config.dropFirst(7)), "\(loaded)")
        let manifest = try runChecked("tar", ["-xOf", f.dir("unnamed.tar"), "manifest.json"]).stdout
        #expect(manifest.contains(#""RepoTags":[]"#))
    }

    @Test func ociArchiveIsLoadedAndRunByPodman() throws {
        let f = try Fixture()
        let layout = try f.layoutBake()

        let result = try f.bake("oci-archive:\(f.dir("app.tar")):dev")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output == "oci-archive:\(f.dir("app.tar")):dev@\(layout.digest)")

        // The layout's very manifest: skopeo reads it by its ref name, and its digest is the bake's.
        let raw = try runChecked("skopeo", ["inspect", "--raw", "oci-archive:\(f.dir("app.tar")):dev"]).stdout
        #expect(Digest.of(Array(raw.utf8)).description == layout.digest)
        #expect(try skopeoJSON(["inspect", "oci-archive:\(f.dir("app.tar"))"])["Digest"] as? String == layout.digest)
        let names = try runChecked("tar", ["-tf", f.dir("app.tar")]).stdout.split(separator: "\n").map(String.init)
        #expect(names == names.sorted())
        #expect(Set(names).isSuperset(of: ["oci-layout", "index.json", "blobs/sha256/\(layout.digest.dropFirst(7))"]))

        // podman names an OCI archive's image after its ref name.
        let loaded = try f.podman.load(f.dir("app.tar"))
        let image = try #require(loaded.split(separator: "\n").first { $0.hasPrefix("Loaded image: ") }.map { String($0.dropFirst("Loaded image: ".count)) })
        #expect(try f.podman.imageID(image) == layout.config)
        #expect(try f.podman.runContainer(image, ["cat", "/baked/file"]) == "baked by kiln\n")

        #expect(try f.bake("oci-archive:\(f.dir("again.tar")):dev").status == 0)
        #expect(try f.bytes("again.tar") == f.bytes("app.tar"))
        #expect(f.temporaries().isEmpty)
    }

    @Test func aMultiPlatformImageNeedsOnePlatformForADockerArchive() throws {
        let f = try Fixture()
        try PeerImages.makeTwoPlatformBase(at: f.dir("multi"), work: f.dir)
        let base = "oci:\(f.dir("multi")):multi"

        let refused = try f.bake("docker-archive:\(f.dir("new/app.tar")):app:1", base: base)
        HardeningTests.expectOneError(refused, ["docker-archive:\(f.dir("new/app.tar")):app:1 holds one image", "linux/amd64, linux/arm64/v8", "--platform"])
        #expect(!FileManager.default.fileExists(atPath: f.dir("new")))

        let arm = try f.bake("docker-archive:\(f.dir("arm.tar")):app:1", base: base, ["--platform", "linux/arm64"])
        #expect(arm.status == 0, "\(arm.stderr)")
        let config = try skopeoJSON(["inspect", "--config", "--raw", "docker-archive:\(f.dir("arm.tar"))"])
        #expect(config["architecture"] as? String == "arm64")

        // An OCI archive holds the whole index.
        #expect(try f.bake("oci-archive:\(f.dir("all.tar")):multi", base: base).status == 0)
        let index = try skopeoJSON(["inspect", "--raw", "oci-archive:\(f.dir("all.tar")):multi"])
        #expect(index["mediaType"] as? String == "application/vnd.oci.image.index.v1+json")
        #expect((index["manifests"] as? [Any])?.count == 2)

        // kiln copy: the same rule; --platform copies one child, by its own digest.
        let source = LayoutReader(f.dir("multi"))
        let sourceIndex = try source.json(try #require(try source.entry(tag: "multi")["digest"] as? String))
        let amd64 = try #require((sourceIndex["manifests"] as? [[String: Any]])?.first { ($0["platform"] as? [String: Any])?["architecture"] as? String == "amd64" }?["digest"] as? String)
        HardeningTests.expectOneError(try kiln(["copy", "--quiet", base, "docker-archive:\(f.dir("copy.tar")):app:1"]), ["holds one image", "--platform"])
        let copied = try kiln(["copy", "--quiet", "--platform", "linux/amd64", base, "docker-archive:\(f.dir("copy.tar")):app:1"])
        #expect(copied.output == "docker-archive:\(f.dir("copy.tar")):app:1@\(amd64)", "\(copied.stderr)")
        let copiedConfig = try runChecked("skopeo", ["inspect", "--config", "--raw", "docker-archive:\(f.dir("copy.tar"))"]).stdout
        let amd64Config = try #require((try source.json(amd64)["config"] as? [String: Any])?["digest"] as? String)
        #expect(Data(copiedConfig.utf8) == (try source.blob(amd64Config)))
        let whole = try kiln(["copy", "--quiet", base, "oci-archive:\(f.dir("copy-oci.tar")):multi"])
        let indexDigest = try #require(try source.entry(tag: "multi")["digest"] as? String)
        #expect(whole.output == "oci-archive:\(f.dir("copy-oci.tar")):multi@\(indexDigest)", "\(whole.stderr)")
        let copiedIndex = try runChecked("skopeo", ["inspect", "--raw", "oci-archive:\(f.dir("copy-oci.tar")):multi"]).stdout
        #expect(Digest.of(Array(copiedIndex.utf8)).description == indexDigest)
        HardeningTests.expectOneError(try kiln(["copy", "--quiet", "--platform", "linux/s390x", base, "oci:\(f.dir("none")):x"]),
                                      ["no image for platform linux/s390x", "linux/amd64, linux/arm64/v8"])
        #expect(!FileManager.default.fileExists(atPath: f.dir("none")))
    }

    @Test func aFailedBakeLeavesNoArchiveAndNoTemporaryFile() throws {
        let f = try Fixture()
        #expect(try f.bake("docker-archive:\(f.dir("keep.tar")):app:1").status == 0)
        let before = try f.bytes("keep.tar")
        // Something else than a regular file at FILE is never replaced.
        try FileManager.default.createDirectory(atPath: f.dir("occupied.tar"), withIntermediateDirectories: true)
        HardeningTests.expectOneError(try f.bake("oci-archive:\(f.dir("occupied.tar"))"), ["occupied.tar", "not a regular file"])

        // A base layer whose bytes no longer match its digest: found while it is copied, after
        // the new layer was collected.
        let reader = LayoutReader(f.dir("base"))
        let manifest = try reader.json(try #require(try reader.entry(tag: "run")["digest"] as? String))
        let layer = try #require((manifest["layers"] as? [[String: Any]])?.first?["digest"] as? String)
        let layerPath = f.dir("base/blobs/sha256/\(layer.dropFirst(7))")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: layerPath))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: layerPath))

        for output in ["docker-archive:\(f.dir("keep.tar")):app:1", "oci-archive:\(f.dir("keep.tar"))", "docker-archive:\(f.dir("new/sub/app.tar"))"] {
            HardeningTests.expectOneError(try f.bake(output), ["blob \(layer)", "does not match its digest"])
        }
        #expect(try f.bytes("keep.tar") == before, "a failed run leaves the previous archive as it was")
        #expect(!FileManager.default.fileExists(atPath: f.dir("new")), "directories made for the archive are removed again")
        #expect(f.temporaries().isEmpty)

    }

    @Test func archivesAreOutputsOnlyAndTheirNamesAreChecked() throws {
        let f = try Fixture()
        #expect(try f.bake("oci-archive:\(f.dir("a.tar"))").status == 0)
        HardeningTests.expectOneError(try f.bake("oci:\(f.dir("o")):x", base: "oci-archive:\(f.dir("a.tar"))"), ["kiln writes image archives but does not read them"])
        HardeningTests.expectOneError(try kiln(["copy", "docker-archive:\(f.dir("a.tar"))", "oci:\(f.dir("o")):x"]), ["does not read them"])
        HardeningTests.expectOneError(try f.bake("docker-archive:\(f.dir("b.tar")):App:1"), ["'App' is not a repository name"])
        HardeningTests.expectOneError(try f.bake("docker-archive:\(f.dir("b.tar")):app"), ["'app' is not NAME:TAG"])
        HardeningTests.expectOneError(try f.bake("oci-archive:\(f.dir("b.tar")):bad tag"), ["'bad tag' is not a valid tag"])
        HardeningTests.expectOneError(try f.bake("docker-archive:\(f.dir("b.tar")):app:sha256-" + String(repeating: "a", count: 64)), ["referrers tag schema"])
        HardeningTests.expectOneError(try f.bake("docker-archive:\(f.dir("b.tar")):app:1", ["--create-repository"]), ["--create-repository needs an ECR output"])
        #expect(!FileManager.default.fileExists(atPath: f.dir("b.tar")))
        #expect(!FileManager.default.fileExists(atPath: f.dir("o")))
    }
}
