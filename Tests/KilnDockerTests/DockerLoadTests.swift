import Foundation
import KilnTestSupport
import Testing

/// `kiln docker load` of archives written by independent writers (skopeo's docker-archive and
/// oci-archive, Docker 24's layout made from skopeo's, Docker 25's as kiln writes it), then
/// `tag` and `push` to a real registry: the image ID and diff_ids stay the archive's, and
/// hostile archives are refused in one line with nothing loaded.
@Suite struct DockerLoadTests {
    final class Fixture {
        let registry: RegistryServer
        let dir: TemporaryDirectory

        init() throws {
            registry = try RegistryServer()
            dir = try TemporaryDirectory()
            try PeerImages.makeOCIBase(at: dir("base"), work: dir)
            try dir.write("kiln.yaml", "registries: {}\n")
            try FileManager.default.createDirectory(atPath: dir("bin"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: dir("bin/kiln-docker"), withDestinationPath: kilnExecutable)
            try runChecked("skopeo", ["--insecure-policy", "copy", "--quiet", "oci:\(dir("base")):base", "docker-archive:\(dir("skopeo.tar")):example.com/app:v1"])
        }

        var environment: [String: String] {
            ProcessInfo.processInfo.environment.merging([
                "KILN_DOCKER_STORE": dir("store"), "HOME": dir("home"), "DOCKER_CONFIG": dir("docker"), "KILN_CONFIG": dir("kiln.yaml"),
            ]) { $1 }
        }

        func docker(_ arguments: [String]) throws -> ProcessResult {
            try run(dir("bin/kiln-docker"), arguments, environment: environment)
        }

        /// The config digest (Docker's image ID) and diff_ids of the base.
        func baseIdentity() throws -> (id: String, diffIDs: [String]) {
            let layout = LayoutReader(dir("base"))
            let manifest = try layout.json(try #require(try layout.entry(tag: "base")["digest"] as? String))
            let config = try #require((manifest["config"] as? [String: Any])?["digest"] as? String)
            return (config, try #require((try layout.json(config)["rootfs"] as? [String: Any])?["diff_ids"] as? [String]))
        }

        /// What the registry holds under `reference`, read by skopeo: config digest and diff_ids.
        func pushedIdentity(_ reference: String) throws -> (id: String, diffIDs: [String]) {
            let raw = try runChecked("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(reference)"]).stdout
            let manifest = try #require(try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any])
            let id = try #require((manifest["config"] as? [String: Any])?["digest"] as? String)
            let config = try runChecked("skopeo", ["inspect", "--config", "--raw", "--tls-verify=false", "docker://\(reference)"]).stdout
            let rootfs = try #require((try JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any])?["rootfs"] as? [String: Any])
            #expect(runDigest(config) == id, "the config's bytes are kept")
            return (id, try #require(rootfs["diff_ids"] as? [String]))
        }

        private func runDigest(_ text: String) -> String {
            let file = dir("digest-input-\(UUID().uuidString)")
            FileManager.default.createFile(atPath: file, contents: Data(text.utf8))
            return "sha256:" + ((try? runChecked("sha256sum", [file]).stdout.split(separator: " ").first.map(String.init)) ?? "")
        }
    }

    @Test func loadsSkopeosDockerArchiveAndPushesItWithTheArchivesImageID() throws {
        let f = try Fixture()
        let base = try f.baseIdentity()
        let loaded = try f.docker(["load", "-i", f.dir("skopeo.tar")])
        #expect(loaded.status == 0, "\(loaded.stderr)")
        #expect(loaded.stdout.split(separator: "\n").last == "Loaded image: example.com/app:v1")
        let inspect = try f.docker(["inspect", "example.com/app:v1"])
        let entry = try #require((try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]])?.first)
        let skopeoConfig = try runChecked("tar", ["-xOf", f.dir("skopeo.tar"), "manifest.json"]).stdout
        let configName = try #require(((try JSONSerialization.jsonObject(with: Data(skopeoConfig.utf8)) as? [[String: Any]])?.first?["Config"] as? String))
        #expect(entry["Id"] as? String == "sha256:" + configName.dropLast(".json".count), "the image ID is the archive's config digest")

        // As the CDK does: the line after `sed`, then tag and push.
        let target = "\(f.registry.host)/assets:abc"
        #expect(try f.docker(["tag", "example.com/app:v1", target]).status == 0)
        let pushed = try f.docker(["push", target])
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let identity = try f.pushedIdentity(target)
        #expect(identity.diffIDs == base.diffIDs)
        #expect(identity.id == entry["Id"] as? String)
        let pushedAgain = try f.docker(["push", target])
        #expect(pushedAgain.status == 0)
        #expect(pushedAgain.output == pushed.output, "the same digest")
    }

    @Test(arguments: ["docker24.tar", "via-links.tar", "gzipped.tar", "stdin"])
    func loadsTheOtherDockerLayouts(archive: String) throws {
        let f = try Fixture()
        try runChecked("python3", ["\(repositoryRoot)/Tests/Fixtures/image_archives.py", f.dir("skopeo.tar"), f.dir(".")])
        let loaded = archive == "stdin"
            ? try run("/bin/sh", ["-c", "\"$0\" load -q < \"$1\"", f.dir("bin/kiln-docker"), f.dir("docker24.tar")], environment: f.environment)
            : try f.docker(["load", "--input", f.dir(archive)])
        #expect(loaded.status == 0, "\(loaded.stderr)")
        #expect(loaded.output == "Loaded image: example.com/app:v1")
        let target = "\(f.registry.host)/assets:\(archive.hasSuffix(".tar") ? String(archive.dropLast(4)) : archive)"
        #expect(try f.docker(["tag", "example.com/app:v1", target]).status == 0)
        #expect(try f.docker(["push", target]).status == 0)
        #expect(try f.pushedIdentity(target).diffIDs == (try f.baseIdentity()).diffIDs)
    }

    /// Docker 25's layout (`blobs/sha256/…`, compressed layers) as kiln writes it, and an OCI
    /// archive from skopeo with no name: `Loaded image ID:`, and that ID is a name for tag.
    @Test func loadsDocker25LayoutsAndUnnamedOCIArchives() throws {
        let f = try Fixture()
        let base = try f.baseIdentity()
        let copied = try kiln(["copy", "oci:\(f.dir("base")):base", "docker-archive:\(f.dir("kiln.tar")):example.com/kiln:v25"])
        #expect(copied.status == 0, "\(copied.stderr)")
        let loaded = try f.docker(["load", "-i", f.dir("kiln.tar")])
        #expect(loaded.output == "Loaded image: example.com/kiln:v25", "\(loaded.stderr)")

        try runChecked("skopeo", ["--insecure-policy", "copy", "--quiet", "oci:\(f.dir("base")):base", "oci-archive:\(f.dir("oci.tar"))"])
        let unnamed = try f.docker(["load", "-i", f.dir("oci.tar")])
        #expect(unnamed.status == 0, "\(unnamed.stderr)")
        #expect(unnamed.output == "Loaded image ID: \(base.id)")
        let listed = try f.docker(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]).stdout.split(separator: "\n").sorted()
        #expect(listed == ["<none>:<none> \(base.id.dropFirst("sha256:".count).prefix(12))", "example.com/kiln:v25 \(base.id.dropFirst("sha256:".count).prefix(12))"])
        let target = "\(f.registry.host)/assets:oci"
        #expect(try f.docker(["tag", base.id, target]).status == 0)
        #expect(try f.docker(["push", target]).status == 0)
        let identity = try f.pushedIdentity(target)
        #expect(identity.id == base.id && identity.diffIDs == base.diffIDs)
    }

    @Test(arguments: [
        ("climbs.tar", "entry '../evil' climbs out of the archive"),
        ("wrong-diff-id.tar", "but the config's diff_id is sha256:"),
        ("wrong-name.tar", "not what its name says"),
        ("huge-manifest.tar", "'manifest.json' is larger than 4194304 bytes"),
        ("link-loop.tar", "'a.tar' goes through more than 40 links"),
        ("outside-link.tar", "it is not an image archive"),
        ("no-image.tar", "it is not an image archive (no manifest.json or index.json)"),
        ("long-name.tar", "x/../x/../x…' has more than 4096 path components"),
        ("many-names.tar", "it names images 100000 times; kiln docker load takes at most 1024 names"),
    ])
    func hostileArchivesAreRefusedInOneLineWithNothingLoaded(archive: String, message: String) throws {
        let f = try Fixture()
        try runChecked("python3", ["\(repositoryRoot)/Tests/Fixtures/image_archives.py", f.dir("skopeo.tar"), f.dir(".")])
        let result = try f.docker(["load", "-i", f.dir(archive)])
        #expect(result.status == 1)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(try f.docker(["images", "--format", "{{.Repository}}"]).output.isEmpty, "nothing loaded")
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: f.dir("store"))) ?? []
        #expect(leftovers.allSatisfy { !$0.contains("tmp") }, "\(leftovers)")
    }

    @Test func aMissingFileOrAnEmptyInputIsOneError() throws {
        let f = try Fixture()
        let missing = try f.docker(["load", "-i", f.dir("nothing.tar")])
        #expect(missing.status != 0 && missing.stderr.contains("nothing.tar"), "\(missing.stderr)")
        let empty = try run("/bin/sh", ["-c", "\"$0\" load < /dev/null", f.dir("bin/kiln-docker")], environment: f.environment)
        #expect(empty.status == 1 && empty.stderr.split(separator: "\n").count == 1, "\(empty.stderr)")
    }
}
