import Foundation
import KilnTestSupport
import OCI
import Testing

/// `kiln build --output docker-archive:DIR | oci-archive:DIR`: one archive per spec, named as
/// the image will be in its registry, loaded and run by podman; the target is never contacted.
@Suite struct ArchiveBuildTests {
    final class Fixture {
        let dir: TemporaryDirectory
        var root: String { dir("repo") }
        /// The spec's target: a registry that does not exist. An archive build must not need it.
        let target = "127.0.0.1:9/team/app"

        init() throws {
            dir = try TemporaryDirectory()
            try PeerImages.makeRunnableBase(at: dir("repo/base"), tag: "1.0", work: dir)
            try PeerImages.makeTwoPlatformBase(at: dir("repo/multi"), work: dir)
            try dir.write("kiln.yaml", "registries: {}\n")
            try dir.write("repo/overlays/app/file", "built by kiln\n")
            try dir.write("repo/images/app.yaml", """
                base: oci:\(dir("repo/base")):1.0
                target: \(target)
                tags: [latest]
                overlays:
                  - from: overlays/app/file
                    to: /baked/file
                config:
                  env: {STAGE: local}
                """)
            try dir.write("repo/images/multi.yaml", """
                base: oci:\(dir("repo/multi")):multi
                target: oci:\(dir("repo/multi-out"))
                overlays:
                  - from: overlays/app/file
                    to: /baked/file
                """)
        }

        func kiln(_ arguments: [String]) throws -> ProcessResult {
            try KilnTestSupport.kiln(arguments + ["--root", root], extraEnvironment: ["KILN_CONFIG": dir("kiln.yaml")])
        }

        /// `kiln plan --json`'s digest and content tag of a spec.
        func plan(_ name: String) throws -> (digest: String, tag: String) {
            let plan = try kiln(["plan", "--json"])
            let images = try #require((try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])?["images"] as? [String: [String: String]])
            let image = try #require(images[name])
            return (try #require(image["digest"]), try #require(image["tag"]))
        }
    }

    @Test func buildWritesOneArchivePerSpecThatPodmanRuns() throws {
        let f = try Fixture()
        #expect(try f.kiln(["lock"]).status == 0)
        let plan = try f.plan("app")
        let app = "\(f.root)/images/app.yaml"

        let built = try f.kiln(["build", "--quiet", "--output", "docker-archive:\(f.dir("archives"))", app])
        #expect(built.status == 0, "\(built.stderr)")
        let archive = f.dir("archives/app.tar")
        #expect(built.output == "app docker-archive:\(archive):\(f.target):\(plan.tag)@\(plan.digest) (built)")

        // Named as in its registry, under the content tag and the spec's tags.
        let podman = try Podman(in: f.dir("podman"))
        let loaded = try podman.load(archive)
        #expect(loaded.contains("\(f.target):\(plan.tag)") && loaded.contains("\(f.target):latest"), "\(loaded)")
        #expect(try podman.runContainer("\(f.target):latest", ["cat", "/baked/file"]) == "built by kiln\n")

        // Never up to date: an archive has no tags to compare, and is written again, the same bytes.
        let before = try Data(contentsOf: URL(fileURLWithPath: archive))
        let again = try f.kiln(["build", "--quiet", "--output", "docker-archive:\(f.dir("archives"))", app])
        #expect(again.output.hasSuffix("(built)"), "\(again.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: archive)) == before)

        // An OCI archive holds the planned manifest under both tags.
        #expect(try f.kiln(["build", "--quiet", "--output", "oci-archive:\(f.dir("oci"))", app]).status == 0)
        for tag in [plan.tag, "latest"] {
            let raw = try runChecked("skopeo", ["inspect", "--raw", "oci-archive:\(f.dir("oci/app.tar")):\(tag)"]).stdout
            #expect(Digest.of(Array(raw.utf8)).description == plan.digest)
        }
    }

    @Test func aMultiPlatformSpecNeedsPlatformForADockerArchive() throws {
        let f = try Fixture()
        #expect(try f.kiln(["lock"]).status == 0)
        let plan = try f.plan("multi")
        let multi = "\(f.root)/images/multi.yaml"

        let refused = try f.kiln(["build", "--quiet", "--output", "docker-archive:\(f.dir("archives"))", multi])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("multi: docker-archive:") && refused.stderr.contains("holds one image") && refused.stderr.contains("--platform"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.dir("archives/multi.tar")))

        // The build is the planned index; the archive holds its arm64 image.
        let arm = try f.kiln(["build", "--quiet", "--output", "docker-archive:\(f.dir("archives"))", "--platform", "linux/arm64", multi])
        #expect(arm.output == "multi docker-archive:\(f.dir("archives/multi.tar")):localhost/multi:\(plan.tag)@\(plan.digest) (built)", "\(arm.stderr)")
        let config = try runChecked("skopeo", ["inspect", "--config", "--raw", "docker-archive:\(f.dir("archives/multi.tar"))"]).stdout
        #expect((try JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any])?["architecture"] as? String == "arm64")

        // --platform means nothing for other outputs; --output takes these three forms.
        let usage = try f.kiln(["build", "--platform", "linux/arm64", "--output", "oci-archive:\(f.dir("x"))", multi])
        #expect(usage.status == 64 && usage.stderr.contains("--platform applies only to --output docker-archive:DIR"), "\(usage.stderr)")
        let badOutput = try f.kiln(["build", "--output", "tar:\(f.dir("x"))", multi])
        #expect(badOutput.status == 64 && badOutput.stderr.contains("--output must be oci:DIR, docker-archive:DIR or oci-archive:DIR"), "\(badOutput.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.dir("x")))
    }
}
