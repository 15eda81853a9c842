import Foundation
import KilnTestSupport
import Testing

/// Specs come from pull requests: the layouts they name (`base`, a Dockerfile's FROM, also
/// through build args, `target`) are contained like overlays, resolved as the kernel opens them,
/// and a layout's own files are read without following links. The command line's own
/// `kiln bake --base oci:/abs` stays allowed: the user meant it.
@Suite struct SpecLayoutContainmentTests {
    final class Fixture {
        let dir: TemporaryDirectory
        var root: String { dir("repo") }

        init() throws {
            dir = try TemporaryDirectory()
            // One layout outside the repository (the machine's), one inside.
            try PeerImages.makeOCIBase(at: dir("outside"), tag: "1.0", work: dir)
            try PeerImages.makeOCIBase(at: dir("repo/layouts/base"), tag: "1.0", work: dir)
            try dir.write("kiln.yaml", "registries: {}\n")
            try dir.write("secret.txt", "machine secret\n")
            try dir.write("repo/overlays/app.conf", "a = 1\n")
        }

        func spec(_ text: String) throws {
            try dir.write("repo/images/app.yaml", text)
        }

        /// kiln with `--root` and the working directory at the repository root.
        func kiln(_ arguments: [String]) throws -> ProcessResult {
            var environment = ProcessInfo.processInfo.environment
            environment["KILN_CONFIG"] = dir("kiln.yaml")
            environment["KILN_CACHE_DIR"] = dir("cache")
            return try run(kilnExecutable, arguments + ["--root", root], environment: environment, currentDirectory: root)
        }

        var spec: String { "\(root)/images/app.yaml" }
    }

    private static let overlay = "overlays:\n  - from: overlays/app.conf\n    to: /etc/app.conf\n"

    private func expectRefused(_ result: ProcessResult, line: Int, key: String, reference: String, _ f: Fixture,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr == "kiln: error: \(f.spec):\(line): \(key): '\(reference)' is outside the repository (a spec's layouts must be inside it, like its overlays)\n",
                sourceLocation: sourceLocation)
    }

    /// A spec file itself may be a link in a pull request: `images/evil.yaml` leading to a file
    /// of the machine was read, and its first line quoted in the error (`base: invalid image
    /// reference '<the file's text>'`); so was every spec of an `images` that is a link out.
    @Test func aSpecThatLeadsOutsideTheRepositoryIsNotRead() throws {
        let f = try Fixture()
        try f.dir.write("credentials", "base: wJalrXUtnFEMI-machine-secret@@@\n")
        try f.spec("base: oci:layouts/base:1.0\ntarget: oci:out\n" + Self.overlay)
        #expect(try f.kiln(["lock"]).status == 0)
        try FileManager.default.createSymbolicLink(atPath: f.dir("repo/images/evil.yaml"), withDestinationPath: f.dir("credentials"))
        for command in [["plan"], ["lock", "--check"], ["build"]] {
            let result = try f.kiln(command)
            #expect(result.status == 1, "\(command): \(result.stderr)")
            #expect(result.stderr == "kiln: error: \(f.root)/images/evil.yaml: leads outside the repository (a link?); a spec must be a file inside it\n", "\(result.stderr)")
            #expect(!result.stderr.contains("machine-secret"))
        }
        try FileManager.default.removeItem(atPath: f.dir("repo/images/evil.yaml"))
        // A link inside the repository is fine.
        try FileManager.default.createSymbolicLink(atPath: f.dir("repo/images/alias.yaml"), withDestinationPath: "app.yaml")
        #expect(try f.kiln(["lock"]).status == 0)
        #expect(try f.kiln(["plan"]).status == 0)
        try FileManager.default.removeItem(atPath: f.dir("repo/images/alias.yaml"))
        // The whole images directory a link out.
        try FileManager.default.moveItem(atPath: f.dir("repo/images"), toPath: f.dir("images-outside"))
        try FileManager.default.createSymbolicLink(atPath: f.dir("repo/images"), withDestinationPath: f.dir("images-outside"))
        let linked = try f.kiln(["plan"])
        #expect(linked.status == 1 && linked.stderr.hasSuffix("leads outside the repository (a link?); a spec must be a file inside it\n"), "\(linked.stderr)")
    }

    @Test func aBaseLayoutOutsideTheRepositoryIsRefused() throws {
        let f = try Fixture()
        // Absolute, climbing relative to the working directory, and through a link in the repository.
        try FileManager.default.createSymbolicLink(atPath: f.dir("repo/layouts/link"), withDestinationPath: f.dir("outside"))
        for base in ["oci:\(f.dir("outside")):1.0", "oci:../outside:1.0", "oci:layouts/../../outside:1.0", "oci:layouts/link:1.0", "oci:\(f.root)/layouts/link:1.0"] {
            try f.spec("base: \(base)\ntarget: oci:out\n\(Self.overlay)")
            for command in ["lock", "plan", "build"] {
                expectRefused(try f.kiln([command]), line: 1, key: "base", reference: base, f)
            }
        }
        #expect(!FileManager.default.fileExists(atPath: f.dir("repo/kiln.lock")))
        #expect(!FileManager.default.fileExists(atPath: f.dir("repo/out")))

        // Inside the repository (relative or absolute): locked and built.
        for base in ["oci:layouts/base:1.0", "oci:\(f.root)/layouts/base:1.0"] {
            try f.spec("base: \(base)\ntarget: oci:out\n\(Self.overlay)")
            let lock = try f.kiln(["lock"])
            #expect(lock.status == 0, "\(lock.stderr)")
            let build = try f.kiln(["build"])
            #expect(build.status == 0 && build.output.hasPrefix("app oci:out@sha256:"), "\(build.stderr)")
        }
    }

    @Test func aDockerfileFromLayoutOutsideTheRepositoryIsRefusedAlsoThroughBuildArgs() throws {
        let f = try Fixture()
        try f.dir.write("repo/images/app/Dockerfile", "ARG BASE=layouts/base\nFROM oci:${BASE}:1.0\nCOPY app.conf /etc/\n")
        try f.dir.write("repo/images/app/app.conf", "a = 1\n")
        try f.spec("dockerfile: images/app/Dockerfile\nbuild-args: {BASE: \(f.dir("outside"))}\ntarget: oci:out\n")
        let viaArgs = try f.kiln(["lock"])
        #expect(viaArgs.status == 1)
        #expect(viaArgs.stderr == "kiln: error: \(f.spec):1: dockerfile: FROM (line 2): 'oci:\(f.dir("outside")):1.0' is outside the repository (a spec's layouts must be inside it, like its overlays)\n")

        try f.dir.write("repo/images/app/Dockerfile", "FROM oci:\(f.dir("outside")):1.0\nCOPY app.conf /etc/\n")
        try f.spec("dockerfile: images/app/Dockerfile\ntarget: oci:out\n")
        let direct = try f.kiln(["lock"])
        #expect(direct.status == 1)
        #expect(direct.stderr.contains("dockerfile: FROM (line 1): 'oci:\(f.dir("outside")):1.0' is outside the repository"), "\(direct.stderr)")

        // The default stays inside: locked.
        try f.dir.write("repo/images/app/Dockerfile", "ARG BASE=layouts/base\nFROM oci:${BASE}:1.0\nCOPY app.conf /etc/\n")
        try f.spec("dockerfile: images/app/Dockerfile\ntarget: oci:out\n")
        let inside = try f.kiln(["lock"])
        #expect(inside.status == 0, "\(inside.stderr)")
    }

    @Test func aTargetLayoutOutsideTheRepositoryIsRefusedAndNothingIsWritten() throws {
        let f = try Fixture()
        try FileManager.default.createSymbolicLink(atPath: f.dir("repo/escape"), withDestinationPath: f.dir("written"))
        for target in ["oci:../../written", "oci:\(f.dir("written"))", "oci:new/../../written", "oci:escape", "oci:escape/sub"] {
            try f.spec("base: oci:layouts/base:1.0\ntarget: \(target)\n\(Self.overlay)")
            expectRefused(try f.kiln(["lock"]), line: 2, key: "target", reference: target, f)
        }
        #expect(!FileManager.default.fileExists(atPath: f.dir("written")))
        #expect(!FileManager.default.fileExists(atPath: f.dir("repo/new")))
        // A new directory inside the repository is fine.
        try f.spec("base: oci:layouts/base:1.0\ntarget: oci:build/images/app\n\(Self.overlay)")
        #expect(try f.kiln(["lock"]).status == 0)
        let build = try f.kiln(["build"])
        #expect(build.status == 0 && build.output.hasPrefix("app oci:build/images/app@sha256:"), "\(build.stderr)")
    }

    /// A layout in the repository whose blob is a link to a file of the machine: refused at the
    /// open, so the file is never read and its SHA-256 appears nowhere.
    @Test func aLayoutBlobThatIsALinkIsNeverRead() throws {
        let f = try Fixture()
        let layout = LayoutReader(f.dir("repo/layouts/base"))
        let manifestDigest = try #require(try layout.entry(tag: "1.0")["digest"] as? String)
        let manifest = try layout.json(manifestDigest)
        let layer = try #require(((manifest["layers"] as? [[String: Any]])?.first)?["digest"] as? String)
        let blob = f.dir("repo/layouts/base/blobs/sha256/\(layer.dropFirst(7))")
        try FileManager.default.removeItem(atPath: blob)
        try FileManager.default.createSymbolicLink(atPath: blob, withDestinationPath: f.dir("secret.txt"))
        let secretDigest = String(try runChecked("sha256sum", [f.dir("secret.txt")]).output.prefix(64))

        try f.spec("base: oci:layouts/base:1.0\ntarget: oci:out\n\(Self.overlay)")
        let lock = try f.kiln(["lock"])
        #expect(lock.status == 1)
        #expect(lock.stderr.split(separator: "\n").count == 1 && lock.stderr.hasPrefix("kiln: error: "), "\(lock.stderr)")
        #expect(lock.stderr.contains("symbolic link"), "\(lock.stderr)")
        #expect(!lock.stderr.contains(secretDigest) && !lock.stdout.contains(secretDigest), "the machine file was read: \(lock.stderr)")

        // The same for the layout's index.json.
        try FileManager.default.removeItem(atPath: blob)
        try PeerImages.makeOCIBase(at: f.dir("repo/layouts/other"), tag: "1.0", work: f.dir)
        try FileManager.default.removeItem(atPath: f.dir("repo/layouts/other/index.json"))
        try FileManager.default.createSymbolicLink(atPath: f.dir("repo/layouts/other/index.json"), withDestinationPath: f.dir("outside/index.json"))
        try f.spec("base: oci:layouts/other:1.0\ntarget: oci:out\n\(Self.overlay)")
        let linkedIndex = try f.kiln(["lock"])
        #expect(linkedIndex.status == 1 && linkedIndex.stderr.contains("symbolic link"), "\(linkedIndex.stderr)")
    }

    /// A lock from a pull request may not pin another layout than its spec's base: build would
    /// read the base from there.
    @Test func aLockPinningAnotherLayoutIsNotUsed() throws {
        let f = try Fixture()
        try f.spec("base: oci:layouts/base:1.0\ntarget: oci:out\n\(Self.overlay)")
        #expect(try f.kiln(["lock"]).status == 0)
        let lockPath = f.dir("repo/kiln.lock")
        let text = try String(contentsOfFile: lockPath, encoding: .utf8)
        try text.replacingOccurrences(of: "\"oci:layouts/base@sha256:", with: "\"oci:\(f.dir("outside"))@sha256:")
            .write(toFile: lockPath, atomically: true, encoding: .utf8)
        let build = try f.kiln(["build"])
        #expect(build.status == 1)
        #expect(build.stderr == "kiln: error: \(f.spec): the lock pins another image than oci:layouts/base:1.0 by digest; run kiln lock\n", "\(build.stderr)")
    }

    /// The command line is the user's own: a layout anywhere is still read.
    @Test func theCommandLineMayNameAnyLayout() throws {
        let f = try Fixture()
        let bake = try KilnTestSupport.kiln(["bake", "--quiet", "--base", "oci:\(f.dir("outside")):1.0", "--overlay", "\(f.dir("repo/overlays/app.conf")):/etc/app.conf",
                                             "--output", "oci:\(f.dir("baked")):x"])
        #expect(bake.status == 0, "\(bake.stderr)")
    }
}
