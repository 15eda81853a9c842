import Foundation
import KilnTestSupport
import OCI
import Testing

/// Every bad input gives one `kiln: error:` line naming the culprit, exit status 1, and leaves
/// the output layout exactly as it was (absent, or with its earlier contents).
@Suite struct BadInputTests {
    /// A base (umoci), an overlay, and an output layout that already holds an earlier image.
    final class Fixture {
        let dir: TemporaryDirectory
        var base: String { dir("base") }
        var output: String { dir("out") }

        init() throws {
            dir = try TemporaryDirectory()
            try PeerImages.makeOCIBase(at: dir("base"), work: dir)
            try dir.write("overlay/app.conf", "x=1\n")
            let first = try kiln(["bake", "--base", "oci:\(dir("base")):base", "--overlay", "\(dir("overlay")):/etc/app", "--output", "oci:\(dir("out")):earlier"])
            guard first.status == 0 else { throw TestFailure("set-up bake failed: \(first.stderr)") }
        }

        /// Runs a bake that must fail and checks the error shape and that nothing changed.
        func expectFailure(_ arguments: [String], mentions fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
            let before = LayoutReader(output).fingerprint()
            let fresh = dir("fresh-\(UUID().uuidString)")
            for target in ["oci:\(output):new", "oci:\(fresh):new"] {
                let result = try kiln(arguments + ["--output", target])
                #expect(result.status == 1, "exit status \(result.status)", sourceLocation: sourceLocation)
                #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
                // One error line, last; anything before it is a progress line ("<12 hex>: written (…)").
                let lines = result.stderr.split(separator: "\n")
                let errors = lines.filter { $0.hasPrefix("kiln: error: ") }
                #expect(errors.count == 1 && lines.last == errors.first, "expected one error line, got: \(result.stderr)", sourceLocation: sourceLocation)
                #expect(lines.dropLast().allSatisfy { $0.range(of: "^[0-9a-f]{12}: ", options: .regularExpression) != nil }, "\(result.stderr)", sourceLocation: sourceLocation)
                for fragment in fragments {
                    #expect(errors.first?.contains(fragment) == true, "'\(fragment)' missing from: \(result.stderr)", sourceLocation: sourceLocation)
                }
            }
            #expect(LayoutReader(output).fingerprint() == before, "the existing output layout changed", sourceLocation: sourceLocation)
            #expect(!FileManager.default.fileExists(atPath: fresh), "a new output layout was left behind", sourceLocation: sourceLocation)
        }

        func bake(_ overlay: String, base: String? = nil) -> [String] {
            ["bake", "--base", base ?? "oci:\(self.base):base", "--overlay", overlay]
        }
    }

    @Test func missingOverlaySource() throws {
        let f = try Fixture()
        try f.expectFailure(f.bake("\(f.dir("nope")):/etc/x"), mentions: ["overlay source '\(f.dir("nope"))' does not exist"])
    }

    @Test func destinationNotAbsolute() throws {
        let f = try Fixture()
        try f.expectFailure(f.bake("\(f.dir("overlay")):etc/app"), mentions: ["'etc/app' must be an absolute path"])
        try f.expectFailure(f.bake("\(f.dir("overlay")):/etc/../../x"), mentions: ["'/etc/../../x'", "'..' is not allowed"])
    }

    @Test func escapingSymlink() throws {
        let f = try Fixture()
        try FileManager.default.createSymbolicLink(atPath: f.dir("overlay/shadow"), withDestinationPath: "/etc/shadow")
        try f.expectFailure(f.bake("\(f.dir("overlay")):/etc/app"), mentions: ["symlink '\(f.dir("overlay/shadow"))'", "'/etc/shadow'"])
    }

    @Test func deviceFile() throws {
        let f = try Fixture()
        try f.expectFailure(f.bake("/dev/null:/etc/null"), mentions: ["'/dev/null' is a character device"])
    }

    @Test func unreadableFile() throws {
        let f = try Fixture()
        try f.dir.write("secret/token", "s3cr3t", mode: 0o000)
        if getuid() == 0 {
            // Root reads anything: run kiln as nobody so the permission bits count.
            try runChecked("chmod", ["-R", "a+rX", f.base, f.dir("overlay")])
            try runChecked("chmod", ["a+rx", f.dir.path, f.dir("secret")])
            try runChecked("chmod", ["0000", f.dir("secret/token")])
            let result = try run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", kilnExecutable,
                                             "bake", "--base", "oci:\(f.base):base", "--overlay", "\(f.dir("secret")):/etc/secret",
                                             "--output", "oci:\(f.dir("fresh")):new"])
            #expect(result.status == 1)
            #expect(result.stderr == "kiln: error: cannot read '\(f.dir("secret/token"))': Permission denied\n")
            #expect(!FileManager.default.fileExists(atPath: f.dir("fresh")))
        } else {
            try f.expectFailure(f.bake("\(f.dir("secret")):/etc/secret"), mentions: ["cannot read '\(f.dir("secret/token"))': Permission denied"])
        }
    }

    @Test func malformedBaseLayout() throws {
        let f = try Fixture()
        try FileManager.default.createDirectory(atPath: f.dir("notalayout"), withIntermediateDirectories: true)
        try f.expectFailure(f.bake("\(f.dir("overlay")):/etc/app", base: "oci:\(f.dir("notalayout")):x"), mentions: ["'\(f.dir("notalayout"))' is not a usable OCI image layout: no oci-layout file"])
        try Data("{\"schemaVersion\":2,".utf8).write(to: URL(fileURLWithPath: "\(f.base)/index.json"))
        try f.expectFailure(f.bake("\(f.dir("overlay")):/etc/app"), mentions: ["\(f.base)/index.json is malformed: not valid JSON"])
    }

    @Test func unknownTag() throws {
        let f = try Fixture()
        try f.expectFailure(f.bake("\(f.dir("overlay")):/etc/app", base: "oci:\(f.base):nope"), mentions: ["has no image tagged 'nope' (tags: base)"])
    }

    /// Replaces what the base's tag points at by `document`, stored under its true digest.
    private func pointBase(_ f: Fixture, at document: String, mediaType: String = MediaType.ociManifest) throws -> String {
        let bytes = Array(document.utf8)
        let digest = Digest.of(bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: "\(f.base)/\(digest.layoutPath)"))
        let index = #"{"schemaVersion":2,"manifests":[{"mediaType":"\#(mediaType)","digest":"\#(digest)","size":\#(bytes.count),"annotations":{"org.opencontainers.image.ref.name":"base"}}]}"#
        try Data(index.utf8).write(to: URL(fileURLWithPath: "\(f.base)/index.json"))
        return digest.description
    }

    @Test func malformedManifest() throws {
        let f = try Fixture()
        let digest = try pointBase(f, at: #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#)
        try f.expectFailure(f.bake("\(f.dir("overlay")):/etc/app"), mentions: ["manifest \(digest)", "missing field 'config'"])
        let notJSON = try pointBase(f, at: "<html>oops</html>")
        try f.expectFailure(f.bake("\(f.dir("overlay")):/etc/app"), mentions: ["manifest \(notJSON)", "malformed"])
    }

    @Test func schema1AndUnknownMediaTypes() throws {
        let f = try Fixture()
        _ = try pointBase(f, at: #"{"schemaVersion":1,"name":"library/kong","tag":"0.1","fsLayers":[]}"#, mediaType: "application/vnd.docker.distribution.manifest.v1+prettyjws")
        try f.expectFailure(f.bake("\(f.dir("overlay")):/etc/app"), mentions: ["Docker schema 1 manifest"])
        let layer = "sha256:" + String(repeating: "a", count: 64)
        let config = "sha256:" + String(repeating: "b", count: 64)
        _ = try pointBase(f, at: #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(config)","size":2},"layers":[{"mediaType":"application/x-rar","digest":"\#(layer)","size":1}]}"#)
        try f.expectFailure(f.bake("\(f.dir("overlay")):/etc/app"), mentions: ["layer \(layer)", "unsupported media type 'application/x-rar'"])
    }

    /// A base's documents name text the error shows (a media type, a digest):
    /// a hostile one puts terminal escapes and 100 KB in it. The error line shows a bounded
    /// excerpt with the escapes spelled out (it once carried the raw 100 KB, escapes and all).
    @Test func documentTextInErrorsIsEscapedAndBounded() throws {
        let f = try Fixture()
        let hostile = "application/\u{1B}]0;owned\u{07}\u{1B}[2J" + String(repeating: "A", count: 100_000)
        let hostileJSON = #"application/\u001b]0;owned\u0007\u001b[2J"# + String(repeating: "A", count: 100_000)
        let layer = "sha256:" + String(repeating: "a", count: 64)
        let config = "sha256:" + String(repeating: "b", count: 64)
        let head = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(config)","size":2},"layers":"#
        for (document, fragment) in [
            (head + #"[{"mediaType":"\#(hostileJSON)","digest":"\#(layer)","size":1}]}"#, "unsupported media type 'application/\\u{1b}]0;owned\\u{7}\\u{1b}[2JAAAA"),
            (head + #"[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:\#(hostileJSON)","size":1}]}"#, "invalid digest 'sha256:application/\\u{1b}]0;owned"),
        ] {
            _ = try pointBase(f, at: document)
            try f.expectFailure(f.bake("\(f.dir("overlay")):/etc/app"), mentions: [fragment])
            let result = try kiln(f.bake("\(f.dir("overlay")):/etc/app") + ["--output", "oci:\(f.dir("scratch")):x"])
            #expect(result.stderr.utf8.count < 1000, "\(result.stderr.prefix(300))")
            #expect(!result.stderr.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
            #expect(!result.stderr.contains(hostile.prefix(20)))
        }
    }

    @Test func blobNotMatchingItsDigest() throws {
        let f = try Fixture()
        let reader = LayoutReader(f.base)
        let manifest = try reader.json(try reader.entry(tag: "base")["digest"] as? String ?? "")
        // A base layer whose bytes no longer match its name: found while copying, after the new
        // layer and earlier blobs were written, so this exercises the clean-up.
        let layer = (manifest["layers"] as? [[String: Any]])?.last?["digest"] as? String ?? ""
        let layerPath = "\(f.base)/blobs/sha256/\(layer.dropFirst(7))"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: layerPath))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: layerPath))
        try FileManager.default.removeItem(atPath: f.output)
        let fresh = try kiln(f.bake("\(f.dir("overlay")):/etc/app") + ["--output", "oci:\(f.output):new"])
        #expect(fresh.status == 1)
        let errorLine = fresh.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(errorLine.hasPrefix("kiln: error: blob \(layer) in OCI layout '\(f.base)' does not match its digest"), "\(fresh.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.output))

        // A config that does not match its name.
        let config = (manifest["config"] as? [String: Any])?["digest"] as? String ?? ""
        try Data("{}".utf8).write(to: URL(fileURLWithPath: "\(f.base)/blobs/sha256/\(config.dropFirst(7))"))
        let result = try kiln(f.bake("\(f.dir("overlay")):/etc/app") + ["--output", "oci:\(f.output):new"])
        #expect(result.stderr.hasPrefix("kiln: error: blob \(config) in OCI layout '\(f.base)' does not match its digest"))
    }

    @Test func corruptLayerLeavesAnExistingLayoutUntouched() throws {
        let f = try Fixture()
        // A second base (its own layer: different content) whose layer is corrupt, baked into the
        // layout that already holds "earlier".
        try PeerImages.makeOCIBase(at: f.dir("base2"), architecture: "arm64", work: f.dir)
        let reader = LayoutReader(f.dir("base2"))
        let manifest = try reader.json(try reader.entry(tag: "base")["digest"] as? String ?? "")
        let layer = (manifest["layers"] as? [[String: Any]])?.last?["digest"] as? String ?? ""
        try Data("tampered".utf8).write(to: URL(fileURLWithPath: "\(f.dir("base2"))/blobs/sha256/\(layer.dropFirst(7))"))
        try f.expectFailure(["bake", "--base", "oci:\(f.dir("base2")):base", "--overlay", "\(f.dir("overlay")):/etc/app", "--env", "NEW=1"],
                            mentions: ["blob \(layer)", "does not match its digest"])
    }

    @Test func badFlagValues() throws {
        let f = try Fixture()
        let overlay = f.bake("\(f.dir("overlay")):/etc/app")
        try f.expectFailure(overlay + ["--env", "=oops"], mentions: ["--env '=oops' must have the form KEY=VALUE"])
        try f.expectFailure(overlay + ["--cmd", "kong start"], mentions: ["--cmd 'kong start' must be a JSON array of strings"])
        try f.expectFailure(overlay + ["--platform", "amd64"], mentions: ["invalid platform 'amd64'"])
        try f.expectFailure(overlay + ["--owner", "kong:x:y"], mentions: ["invalid owner 'kong:x:y'"])
        try f.expectFailure(overlay + ["--owner", "nobody:0"], mentions: ["user 'nobody' of owner 'nobody:0' is not in the base's /etc/passwd"])
        try f.expectFailure(overlay + ["--create-repository"], mentions: ["--create-repository needs an ECR output"])
        try f.expectFailure(overlay + ["--platform", "linux/arm64"], mentions: ["no image for platform linux/arm64 (there are: linux/amd64)"])
        try f.expectFailure(["bake", "--base", "Kong:2.6.0-alpine", "--overlay", "\(f.dir("overlay")):/etc/app"],
                            mentions: ["invalid image reference 'Kong:2.6.0-alpine'", "'Kong' is not a valid repository path component"])
        try f.expectFailure(["bake", "--base", "s3://bucket/kong", "--overlay", "\(f.dir("overlay")):/etc/app"],
                            mentions: ["invalid image reference 's3://bucket/kong'", "unknown transport 's3'"])
        try f.expectFailure(["bake", "--base", "kong@sha256:abc", "--overlay", "\(f.dir("overlay")):/etc/app"],
                            mentions: ["'sha256:abc' is not a valid sha256 digest"])
    }

    @Test func outputIntoAnUnrelatedDirectoryIsRefused() throws {
        let f = try Fixture()
        try f.dir.write("documents/thesis.txt", "precious")
        let result = try kiln(f.bake("\(f.dir("overlay")):/etc/app") + ["--output", "oci:\(f.dir("documents")):x"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("is not empty and has no oci-layout file"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.dir("documents")) == ["thesis.txt"])
    }
}
