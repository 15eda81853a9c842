import Foundation
import KilnTestSupport
import Testing

/// Inputs a hostile registry, a malicious pull request or a careless teammate produces: each
/// gives one error line and a non-zero exit, never a trap, a hang or a lost tag.
@Suite struct HardeningTests {
    /// A base layout (umoci) and an overlay file.
    final class Fixture {
        let dir: TemporaryDirectory
        init() throws {
            dir = try TemporaryDirectory()
            try PeerImages.makeOCIBase(at: dir("base"), work: dir)
            try dir.write("app.conf", "x=1\n")
        }

        func bake(_ extra: [String], output: String? = nil) throws -> ProcessResult {
            try kiln(["bake", "--quiet", "--base", "oci:\(dir("base")):base", "--overlay", "\(dir("app.conf")):/etc/app.conf"] + extra
                     + ["--output", output ?? "oci:\(dir("out")):x"])
        }
    }

    /// Exactly one `kiln: error:` line holding every fragment, exit 1, nothing on stdout.
    static func expectOneError(_ result: ProcessResult, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 1, "exit \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "\(result.stdout)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("kiln: error: "), "\(result.stderr)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(result.stderr.contains(fragment), "'\(fragment)' missing from: \(result.stderr)", sourceLocation: sourceLocation)
        }
    }

    @Test func portAboveRangeIsOneErrorLineNotATrap() throws {
        let f = try Fixture()
        for reference in ["127.0.0.1:99999/app:1", "docker://localhost:65536/app", "127.0.0.1:0/app"] {
            let started = Date()
            Self.expectOneError(try kiln(["bake", "--base", reference, "--overlay", "\(f.dir("app.conf")):/etc/a", "--output", "oci:\(f.dir("o")):x"]),
                                ["not a valid port (1 to 65535)"])
            Self.expectOneError(try f.bake([], output: reference), ["not a valid port"])
            #expect(Date().timeIntervalSince(started) < 5)
        }
        // Endpoints with such ports: UntrustedURLTests.
        #expect(!FileManager.default.fileExists(atPath: f.dir("out")))
    }

    @Test func unknownTransportsAreNamedAtOnce() throws {
        let f = try Fixture()
        for (output, transport) in [("dockerd:/x", "dockerd:"), ("foo:", "foo:"), ("docker-daemon:app:1", "docker-daemon:"),
                                    ("dir:\(f.dir("x"))", "dir:"), ("containers-storage:app", "containers-storage:")] {
            let started = Date()
            Self.expectOneError(try f.bake([], output: output), ["unknown transport '\(transport)'", "oci:DIR[:TAG]", "docker://HOST/REPO[:TAG]"])
            #expect(Date().timeIntervalSince(started) < 5, "\(output) took \(Date().timeIntervalSince(started)) s")
        }
        // Registry names with a tag or a port are not transports.
        #expect(try f.bake([], output: "oci:\(f.dir("ok")):x").status == 0)
    }

    @Test func missingOutputDirectoriesAreCreatedAndRelativeWorkdirRefused() throws {
        let f = try Fixture()
        let deep = f.dir("a/b/c")
        let made = try f.bake([], output: "oci:\(deep):tag")
        #expect(made.status == 0, "\(made.stderr)")
        let validate = try run("oci-image-tool", ["validate", "--type", "image", "--ref", "name=tag", deep])
        #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")

        Self.expectOneError(try f.bake(["--workdir", "app"], output: "oci:\(f.dir("w/x/y")):tag"), ["--workdir must be an absolute path", "'app'"])
        #expect(!FileManager.default.fileExists(atPath: f.dir("w")))
    }

    @Test func whiteoutNamesAsDestinationAreRefused() throws {
        let f = try Fixture()
        for destination in ["/etc/.wh.hello", "/.wh..wh..opq", "/etc/.wh.d/file"] {
            Self.expectOneError(try kiln(["bake", "--base", "oci:\(f.dir("base")):base", "--overlay", "\(f.dir("app.conf")):\(destination)",
                                          "--output", "oci:\(f.dir("out")):x"]), ["starts with '.wh.'"])
        }
        Self.expectOneError(try kiln(["bake", "--base", "oci:\(f.dir("base")):base", "--remove", "/etc/.wh.d/x",
                                      "--output", "oci:\(f.dir("out")):x"]), ["starts with '.wh.'"])
        #expect(!FileManager.default.fileExists(atPath: f.dir("out")))
    }

    /// A FIFO where a regular file belongs must be refused, not read forever.
    @Test func fifosInABaseLayoutOrAnOverlayDoNotHang() throws {
        let f = try Fixture()
        let index = LayoutReader(f.dir("base"))
        let manifestDigest = try #require(try index.entry(tag: "base")["digest"] as? String)
        let manifest = try index.json(manifestDigest)
        let layer = try #require(((manifest["layers"] as? [[String: Any]])?.first?["digest"] as? String))

        // A layer blob replaced by a FIFO.
        let blobPath = f.dir("base/blobs/sha256/\(layer.dropFirst(7))")
        try FileManager.default.moveItem(atPath: blobPath, toPath: blobPath + ".away")
        #expect(mkfifo(blobPath, 0o644) == 0)
        let started = Date()
        Self.expectOneError(try f.bake([]), ["not a regular file", String(layer.dropFirst(7))])
        #expect(Date().timeIntervalSince(started) < 10)
        try FileManager.default.removeItem(atPath: blobPath)
        try FileManager.default.moveItem(atPath: blobPath + ".away", toPath: blobPath)

        // index.json replaced by a FIFO.
        let indexPath = f.dir("base/index.json")
        try FileManager.default.moveItem(atPath: indexPath, toPath: indexPath + ".away")
        #expect(mkfifo(indexPath, 0o644) == 0)
        Self.expectOneError(try f.bake([]), ["index.json"])
        try FileManager.default.removeItem(atPath: indexPath)
        try FileManager.default.moveItem(atPath: indexPath + ".away", toPath: indexPath)

        // An overlay that is a FIFO, and a tree holding one.
        #expect(mkfifo(f.dir("pipe"), 0o644) == 0)
        Self.expectOneError(try kiln(["bake", "--base", "oci:\(f.dir("base")):base", "--overlay", "\(f.dir("pipe")):/etc/p", "--output", "oci:\(f.dir("out")):x"]), ["FIFO"])
        try FileManager.default.createDirectory(atPath: f.dir("tree"), withIntermediateDirectories: true)
        #expect(mkfifo(f.dir("tree/pipe"), 0o644) == 0)
        Self.expectOneError(try kiln(["bake", "--base", "oci:\(f.dir("base")):base", "--overlay", "\(f.dir("tree")):/etc/t", "--output", "oci:\(f.dir("out")):x"]), ["FIFO"])
        #expect(try f.bake([]).status == 0, "the restored base bakes again")
    }

    /// An archive output (bake, copy) at a FIFO, a device or a link is refused with one line
    /// and left as it is: the archive is renamed over FILE last, which would replace the node
    /// (the FIFO a reader waits on, `/dev/null` as root, the link's file left stale).
    @Test func archiveOutputsReplaceOnlyRegularFiles() throws {
        let f = try Fixture()
        #expect(mkfifo(f.dir("pipe.tar"), 0o644) == 0)
        try f.dir.write("kept.tar", "kept\n")
        try FileManager.default.createSymbolicLink(atPath: f.dir("link.tar"), withDestinationPath: f.dir("kept.tar"))
        for path in [f.dir("pipe.tar"), f.dir("link.tar"), "/dev/null"] {
            for format in ["docker-archive", "oci-archive"] {
                Self.expectOneError(try f.bake([], output: "\(format):\(path)"), [path, "is not a regular file"])
                Self.expectOneError(try kiln(["copy", "--quiet", "oci:\(f.dir("base")):base", "\(format):\(path)"]), [path, "is not a regular file"])
            }
        }
        var info = stat()
        #expect(lstat(f.dir("pipe.tar"), &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO)
        #expect(lstat(f.dir("link.tar"), &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK)
        #expect(try String(contentsOfFile: f.dir("kept.tar"), encoding: .utf8) == "kept\n")
        #expect(stat("/dev/null", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
        // A regular file is replaced (the archive a user writes again).
        #expect(try f.bake([], output: "docker-archive:\(f.dir("kept.tar"))").status == 0)
    }

    /// Two kiln processes baking different tags into one layout at once: every tag survives.
    @Test func concurrentBakesIntoOneLayoutKeepEveryTag() throws {
        let f = try Fixture()
        try f.dir.write("other.conf", "y=2\n")
        for round in 1...30 {
            let output = f.dir("shared")
            let processes = ["r\(round)-a", "r\(round)-b"].enumerated().map { index, tag -> Process in
                let process = Process()
                process.executableURL = URL(fileURLWithPath: kilnExecutable)
                process.arguments = ["bake", "--quiet", "--base", "oci:\(f.dir("base")):base",
                                     "--overlay", "\(f.dir(index == 0 ? "app.conf" : "other.conf")):/etc/app.conf",
                                     "--env", "ROUND=\(round)", "--output", "oci:\(output):\(tag)"]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                return process
            }
            for process in processes { try process.run() }
            for process in processes { process.waitUntilExit() }
            #expect(processes.allSatisfy { $0.terminationStatus == 0 }, "round \(round)")
            let tags = Set(((try LayoutReader(output).index()["manifests"] as? [[String: Any]]) ?? []).compactMap {
                ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"]
            })
            #expect(tags.isSuperset(of: ["r\(round)-a", "r\(round)-b"]), "round \(round): \(tags.sorted())")
        }
        // An independent reader finds every tag's image whole (skopeo reads each blob it names).
        for tag in ["r1-a", "r15-b", "r30-a", "r30-b"] {
            let copy = try run("skopeo", ["copy", "--quiet", "oci:\(f.dir("shared")):\(tag)", "dir:\(f.dir("copy-\(tag)"))"])
            #expect(copy.status == 0, "\(tag): \(copy.stderr)")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: f.dir("shared/blobs/sha256")).filter { $0.hasPrefix(".kiln-tmp") }
        #expect(leftovers.isEmpty)
    }

    /// kill -9 in the middle of a bake: the registry spool file never had a name, and the
    /// layout's temporary file is swept by the next run (its writer's lock died with it).
    @Test func killedRunsLeaveNoSpoolAndTheirLayoutTemporariesAreSwept() throws {
        let f = try Fixture()
        let registry = try RegistryServer()
        try FileManager.default.createDirectory(atPath: f.dir("tmp"), withIntermediateDirectories: true)
        // 64 MiB of random bytes through zlib's deflate (not the default stored gzip, which
        // writes that in a fraction of a second): seconds, time enough to kill the run mid-layer.
        try runChecked("sh", ["-c", "head -c 67108864 /dev/urandom > '\(f.dir("big.bin"))'"])
        for output in ["oci:\(f.dir("out")):x", "\(registry.host)/killed/app:x"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: kilnExecutable)
            process.arguments = ["bake", "--quiet", "--base", "oci:\(f.dir("base")):base", "--overlay", "\(f.dir("big.bin")):/opt/big.bin",
                                 "--compression", "gzip", "--output", output]
            var environment = ProcessInfo.processInfo.environment
            environment["TMPDIR"] = f.dir("tmp")
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: 1.0)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "\(output): the run ended before it was killed")
            #expect(try FileManager.default.contentsOfDirectory(atPath: f.dir("tmp")).isEmpty, "\(output): a spool file outlived the run")
        }
        let blobs = f.dir("out/blobs/sha256")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: blobs).filter { $0.hasPrefix(".kiln-tmp-") }
        #expect(!leftovers.isEmpty, "the killed layout write left its temporary file (the sweep has something to do)")
        // Age them past the sweep's grace period, as if the kill were a minute ago.
        for name in leftovers { try runChecked("touch", ["-d", "1 minute ago", "\(blobs)/\(name)"]) }
        #expect(try f.bake([], output: "oci:\(f.dir("out")):after").status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: blobs).filter { $0.hasPrefix(".kiln-tmp-") }.isEmpty)
    }
}

/// `--ca-file` applies to the AWS calls of a run too (they share the run's HTTP client): an
/// ECR API endpoint behind a private CA is reached with the flag and refused without it.
@Suite struct AWSCertificateTests {
    @Test func awsCallsTrustTheCAFileOfTheRun() throws {
        let tls = try RegistryServer(tls: true)
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("base"), work: dir)
        try dir.write("app.conf", "x=1\n")
        let environment = ["AWS_ENDPOINT_URL_ECR": "https://\(tls.host)", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                           "AWS_SECRET_ACCESS_KEY": "not-a-secret", "AWS_REGION": "eu-west-1", "AWS_CONFIG_FILE": dir("none"),
                           "AWS_SHARED_CREDENTIALS_FILE": dir("none"), "AWS_EC2_METADATA_DISABLED": "true"]
        let arguments = ["bake", "--quiet", "--base", "oci:\(dir("base")):base", "--overlay", "\(dir("app.conf")):/etc/app.conf",
                         "--output", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1"]
        let without = try kiln(arguments, extraEnvironment: environment)
        #expect(without.status == 1)
        #expect(without.stderr.contains("TLS handshake failed"), "\(without.stderr)")
        // With the CA the TLS handshake succeeds: the registry standing in for the API answers
        // (no such repository: it is not ECR), and that answer is now the error.
        let with = try kiln(arguments + ["--ca-file", try #require(tls.caFile)], extraEnvironment: environment)
        #expect(with.status == 1)
        #expect(!with.stderr.contains("TLS") && with.stderr.contains("ECR repository app does not exist"), "\(with.stderr)")
    }
}
