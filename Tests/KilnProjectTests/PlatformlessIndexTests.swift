import Foundation
import KilnTestSupport
import Testing

/// A base whose index entries have no `platform` field (older tools write such indexes): each
/// image's platform is in its config only. Every command reads it by the one platform rule
/// (``ImageGraph``): bake, copy --platform, docker build, lock/plan/build/verify of a spec and
/// of a Dockerfile spec, all against a real registry.
@Suite struct PlatformlessIndexTests {
    final class Fixture {
        let dir: TemporaryDirectory
        let hub: RegistryServer
        let base: LayoutReader
        var root: String { dir("repo") }

        init() throws {
            dir = try TemporaryDirectory()
            hub = try RegistryServer()
            try PeerImages.makeTwoPlatformBase(at: dir("base"), tag: "multi", declaringPlatforms: false, work: dir)
            try hub.push(layout: "\(dir("base")):multi", to: "library/multi:1", all: true)
            base = LayoutReader(dir("base"))
            try dir.write("kiln.yaml", "registries:\n  docker.io:\n    endpoint: http://\(hub.host)\n")
            try dir.write("overlay/app.conf", "a = 1\n")
            try dir.write("repo/overlays/app.conf", "a = 1\n")
        }

        var environment: [String: String] { ["KILN_CONFIG": dir("kiln.yaml"), "KILN_DOCKER_STORE": dir("store")] }

        func kiln(_ arguments: [String]) throws -> ProcessResult {
            try KilnTestSupport.kiln(arguments, extraEnvironment: environment)
        }

        func digest(tag: String) throws -> String { try #require(try base.entry(tag: tag)["digest"] as? String) }
    }

    @Test func everyCommandTakesThePlatformFromTheConfig() throws {
        let f = try Fixture()
        let arm64 = try f.digest(tag: "arm64")
        let amd64 = try f.digest(tag: "amd64")
        // The registry serves the index as written: no entry names its platform.
        let served = try runChecked("skopeo", ["inspect", "--raw"] + f.hub.skopeoFlags(dest: nil) + ["docker://\(f.hub.host)/library/multi:1"]).stdout
        #expect(!served.contains("\"platform\"") || served.contains("\"unknown\""), "\(served)")
        #expect(served.contains(arm64) && served.contains(amd64))

        // kiln bake, one platform and all.
        let one = try f.kiln(["bake", "--quiet", "--base", "multi:1", "--overlay", "\(f.dir("overlay")):/etc/app", "--platform", "linux/arm64",
                              "--output", "oci:\(f.dir("baked")):arm", "--json"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(one.stdout.contains(#""platforms":["linux\/arm64"]"#) || one.stdout.contains(#""platforms":["linux/arm64"]"#), "\(one.stdout)")
        let all = try f.kiln(["bake", "--quiet", "--base", "multi:1", "--overlay", "\(f.dir("overlay")):/etc/app",
                              "--output", "oci:\(f.dir("baked")):all", "--json"])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout.contains("amd64") && all.stdout.contains("arm64"), "\(all.stdout)")
        let none = try f.kiln(["bake", "--quiet", "--base", "multi:1", "--overlay", "\(f.dir("overlay")):/etc/app", "--platform", "linux/s390x",
                               "--output", "oci:\(f.dir("baked")):none"])
        #expect(none.status == 1)
        #expect(none.stderr.contains("no image for platform linux/s390x (there are: linux/amd64, linux/arm64)"), "\(none.stderr)")

        // kiln copy --platform: the arm64 manifest, by its own digest.
        let copied = try f.kiln(["copy", "--quiet", "--platform", "linux/arm64", "multi:1", "oci:\(f.dir("copy")):arm"])
        #expect(copied.status == 0, "\(copied.stderr)")
        #expect(copied.output == "oci:\(f.dir("copy"))@\(arm64)", "\(copied.stderr)")

        // kiln docker build FROM --platform: built on the arm64 manifest, without a warning.
        try f.dir.write("context/Dockerfile", "FROM --platform=linux/arm64 multi:1\nCOPY app.conf /etc/app/\n")
        try f.dir.write("context/app.conf", "a = 1\n")
        let docker = try f.kiln(["docker", "build", "-t", "app", f.dir("context")])
        #expect(docker.status == 0, "\(docker.stderr)")
        #expect(!docker.stderr.contains("warning"), "\(docker.stderr)")
        let store = LayoutReader(f.dir("store"))
        let names = try #require(try store.index()["manifests"] as? [[String: Any]])
        #expect(names.count == 1)
        let built = try store.json(try #require(names.first?["digest"] as? String))
        #expect((built["annotations"] as? [String: Any])?["org.opencontainers.image.base.digest"] as? String == arm64, "\(built)")
    }

    @Test func specsAndDockerfileSpecsLockPlanBuildAndVerify() throws {
        let f = try Fixture()
        try f.dir.write("repo/images/app.yaml", """
            base: multi:1
            platforms: [linux/arm64]
            target: oci:\(f.dir("repo/out"))
            overlays:
              - from: overlays/app.conf
                to: /etc/app/app.conf

            """)
        try f.dir.write("repo/images/fromfile/Dockerfile", "FROM --platform=linux/arm64 multi:1\nCOPY app.conf /etc/app/\nENV A=1\n")
        try f.dir.write("repo/images/fromfile/app.conf", "a = 1\n")
        try f.dir.write("repo/images/fromfile.yaml", "dockerfile: images/fromfile/Dockerfile\ntarget: oci:\(f.dir("repo/out2"))\n")
        let lock = try f.kiln(["lock", "--root", f.root])
        #expect(lock.status == 0, "\(lock.stderr)")
        let plan = try f.kiln(["plan", "--json", "--root", f.root])
        #expect(plan.status == 0, "\(plan.stderr)")
        let images = try #require((try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])?["images"] as? [String: Any])
        let build = try f.kiln(["build", "--root", f.root])
        #expect(build.status == 0, "\(build.stderr)")
        for name in ["app", "fromfile"] {
            let planned = try #require((images[name] as? [String: Any])?["digest"] as? String)
            #expect(build.output.contains(planned), "\(name): \(build.output)")
            // One platform, arm64's: the index of one child baked on the arm64 manifest.
            let out = LayoutReader(f.dir(name == "app" ? "repo/out" : "repo/out2"))
            let children = try #require(try out.json(planned)["manifests"] as? [[String: Any]])
            #expect(children.count == 1)
            let child = try out.json(try #require(children.first?["digest"] as? String))
            #expect((child["annotations"] as? [String: Any])?["org.opencontainers.image.base.digest"] as? String == (try f.digest(tag: "arm64")))
        }
        let verified = try f.kiln(["verify", "--root", f.root])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")

        // Another image under app's content tag: verify finds the target's arm64 image by its
        // config (its index entry names no platform either) and names the difference.
        let tag = try #require((images["app"] as? [String: Any])?["tag"] as? String)
        let tampered = try f.kiln(["bake", "--quiet", "--base", "multi:1", "--overlay", "\(f.dir("overlay")):/etc/app", "--platform", "linux/arm64",
                                   "--env", "B=2", "--output", "oci:\(f.dir("repo/out")):\(tag)"])
        #expect(tampered.status == 0, "\(tampered.stderr)")
        let differs = try f.kiln(["verify", "--root", f.root])
        #expect(differs.status == 1)
        #expect(differs.stdout.contains("in the config:"), "\(differs.stdout)")
        #expect(!differs.stdout.contains("missing from the target's index"), "\(differs.stdout)")
    }
}
