import Foundation
import KilnTestSupport
import Testing

/// `kiln bake` refuses a secret in an overlay, `--env` or `--label` before anything is written
/// (no layout, no blob in a registry), prints one line per finding and no part of the secret,
/// and bakes once the finding's fingerprint is allowed.
@Suite struct SecretBakeTests {
    /// A made-up password and token only this test uses: grepped for in every output.
    static let password = "Kq7-planted-Pg-Password-4411"
    static let token = "ghp_PLANTEDplanted0123456789abcdefABCD12"

    final class Fixture {
        let dir: TemporaryDirectory
        init() throws {
            dir = try TemporaryDirectory()
            try dir.write("overlays/kong/kong.conf", "database = postgres\npg_user = kong\npg_password = \(SecretBakeTests.password)\n")
            try dir.write("overlays/kong/declarative/kong.yml", "_format_version: \"2.1\"\n")
        }

        var base: String { "oci:\(repositoryRoot)/samples/base:1.0" }

        func bake(_ extra: [String], output: String, environment: [String: String] = [:]) throws -> ProcessResult {
            try run(kilnExecutable, ["bake", "--base", base, "--overlay", "overlays/kong:/etc/kong"] + extra + ["--output", output],
                    environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }, currentDirectory: dir.path)
        }
    }

    /// The fingerprint in brackets at the end of a finding line.
    static func fingerprints(in text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            guard let open = line.range(of: "allow-secrets: [", options: .backwards) else { return nil }
            return String(line[open.upperBound...].prefix(16))
        }
    }

    @Test func overlayFindingIsRefusedBeforeTheLayoutExistsThenAllowed() throws {
        let f = try Fixture()
        let output = f.dir("out")
        let refused = try f.bake([], output: "oci:\(output):latest")
        #expect(refused.status == 1)
        #expect(refused.stdout.isEmpty)
        let fingerprint = try #require(Self.fingerprints(in: refused.stderr).first)
        #expect(refused.stderr == "kiln: error: overlays/kong/kong.conf:3: a password (key \"pg_password\") would be baked into /etc/kong/kong.conf; keep it out of the image (docs/secrets.md) or allow it with allow-secrets: [\(fingerprint)]\n")
        #expect(!refused.stderr.contains(Self.password) && !refused.stderr.contains("Kq7"))
        #expect(!FileManager.default.fileExists(atPath: output), "a refused bake created the layout")

        // An existing layout is left exactly as it was.
        let earlier = try f.bake(["--allow-secret", fingerprint], output: "oci:\(output):earlier")
        #expect(earlier.status == 0, "\(earlier.stderr)")
        let before = LayoutReader(output).fingerprint()
        try f.dir.write("overlays/kong/kong.conf", "pg_password = \(Self.password)-rotated\n")
        let again = try f.bake(["--allow-secret", fingerprint], output: "oci:\(output):latest")
        #expect(again.status == 1, "a changed secret has a new fingerprint")
        #expect(LayoutReader(output).fingerprint() == before)

        // Allowed by flag, by KILN_ALLOW_SECRETS, by an inline comment; warned about.
        let newFingerprint = try #require(Self.fingerprints(in: again.stderr).first)
        #expect(newFingerprint != fingerprint)
        let byFlag = try f.bake(["--allow-secret", newFingerprint.uppercased()], output: "oci:\(output):flag")
        #expect(byFlag.status == 0, "\(byFlag.stderr)")
        let byEnvironment = try f.bake([], output: "oci:\(output):env", environment: ["KILN_ALLOW_SECRETS": "0123456789abcdef,\(newFingerprint)"])
        #expect(byEnvironment.status == 0, "\(byEnvironment.stderr)")
        #expect(byEnvironment.stdout == byFlag.stdout, "allowing changes nothing in the image")
        let warned = try f.bake(["--secrets", "warn"], output: "oci:\(output):warned")
        #expect(warned.status == 0)
        #expect(warned.stderr.hasPrefix("kiln: warning: overlays/kong/kong.conf:1: a password"), "\(warned.stderr)")
        try f.dir.write("overlays/kong/kong.conf", "pg_password = \(Self.password)  # kiln:allow-secret (throwaway test database)\n")
        let inline = try f.bake([], output: "oci:\(output):inline")
        #expect(inline.status == 0, "\(inline.stderr)")
        for result in [refused, earlier, again, byFlag, byEnvironment, warned, inline] {
            #expect(!(result.stdout + result.stderr).contains(Self.password))
        }
        let badFingerprint = try f.bake(["--allow-secret", "nope"], output: "oci:\(output):bad")
        #expect(badFingerprint.status == 1)
        #expect(badFingerprint.stderr == "kiln: error: --allow-secret: 'nope' is not a secret fingerprint (16 hex digits, as a finding prints it)\n")
        // The token itself pasted where its fingerprint goes (it once came back whole, 40
        // characters, in the error), and terminal escapes: 4 characters, escaped, and a length.
        let token = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
        let pasted = try f.bake([], output: "oci:\(output):bad", environment: ["KILN_ALLOW_SECRETS": "0123456789abcdef,\(token)"])
        #expect(pasted.status == 1)
        #expect(pasted.stderr == "kiln: error: KILN_ALLOW_SECRETS: 'ghp_…' (40 characters) is not a secret fingerprint (16 hex digits, as a finding prints it)\n")
        let escapes = try f.bake(["--allow-secret", "\u{1B}]0;x\u{07}"], output: "oci:\(output):bad")
        #expect(escapes.stderr == "kiln: error: --allow-secret: '\\u{1b}]0;…' (6 characters) is not a secret fingerprint (16 hex digits, as a finding prints it)\n")
        let typo = try f.bake(["--allow-secret", "0123456789abcde"], output: "oci:\(output):bad")
        #expect(typo.stderr == "kiln: error: --allow-secret: '0123456789abcde' is not a secret fingerprint (16 hex digits, as a finding prints it)\n")
    }

    @Test func envAndLabelValuesAndEveryFindingAreListed() throws {
        let f = try Fixture()
        let output = f.dir("out")
        let refused = try f.bake(["--env", "KONG_PG_PASSWORD=\(Self.password)", "--env", "KONG_PG_HOST=db", "--label", "ci.token=\(Self.token)"],
                                 output: "oci:\(output):latest")
        #expect(refused.status == 1)
        let lines = refused.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(refused.stderr)")
        #expect(lines.allSatisfy { $0.hasPrefix("kiln: error: ") })
        #expect(lines.contains { $0.hasPrefix("kiln: error: --env KONG_PG_PASSWORD: a password (ENV name \"KONG_PG_PASSWORD\") would be set in the image's Env (KONG_PG_PASSWORD);") })
        #expect(lines.contains { $0.hasPrefix("kiln: error: --label ci.token: a GitHub token would be set in the image's Labels (ci.token);") })
        #expect(!refused.stderr.contains(Self.password) && !refused.stderr.contains("PLANTED"))
        #expect(!FileManager.default.fileExists(atPath: output))
        // Each finding allowed by its fingerprint: the bake goes through.
        let allowed = Self.fingerprints(in: refused.stderr)
        let baked = try f.bake(["--env", "KONG_PG_PASSWORD=\(Self.password)", "--label", "ci.token=\(Self.token)"] + allowed.flatMap { ["--allow-secret", $0] },
                               output: "oci:\(output):latest")
        #expect(baked.status == 0, "\(baked.stderr)")
    }

    @Test func registryOutputReceivesNothing() throws {
        let f = try Fixture()
        let registry = try RegistryServer()
        let refused = try f.bake(["--env", "DB_URL=postgres://app:\(Self.password)@db/app"], output: "\(registry.host)/um/gateway:latest")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("a password in a URL would be set in the image's Env (DB_URL)"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(Self.password))
        let writes = registry.requests().filter { !$0.hasPrefix("GET ") && !$0.hasPrefix("HEAD ") }
        #expect(writes.isEmpty, "the registry was written to: \(writes)")
        let logs = (try? String(contentsOfFile: registry.directory("access.log"), encoding: .utf8)) ?? ""
        #expect(!logs.contains(Self.password))
    }

    /// An overlay larger than the new layer's memory spool (16 MiB: it spills into a nameless
    /// file) and with more files than the scan reads ahead of the layer (1,024), all clean but
    /// the last one the layer comes to, whose secret is found while the layer is being built.
    final class LargeOverlay {
        let dir: TemporaryDirectory
        /// TMPDIR of every bake here: where the spool's file is made and must not stay.
        var temporary: String { dir("tmp") }

        init() throws {
            dir = try TemporaryDirectory()
            try FileManager.default.createDirectory(atPath: dir("tmp"), withIntermediateDirectories: true)
            let line = "upstream_keepalive_pool_size = 60\n"
            let page = String(repeating: line, count: (1 << 20) / line.utf8.count)
            for number in 0..<18 { try dir.write("big/data/page\(number).conf", "# page \(number)\n" + page) }
            for number in 0..<1100 { try dir.write("big/small/file\(number).conf", "worker_processes = \(number)\n") }
            try dir.write("big/zz/last.conf", "database = postgres\n")
        }

        func plantSecret() throws { try dir.write("big/zz/last.conf", "database = postgres\npg_password = \(SecretBakeTests.password)\n") }

        func bake(_ extra: [String], output: String) throws -> ProcessResult {
            try run(kilnExecutable, ["bake", "--base", "oci:\(repositoryRoot)/samples/base:1.0", "--overlay", "big:/etc/app"] + extra + ["--output", output],
                    environment: ProcessInfo.processInfo.environment.merging(["TMPDIR": temporary]) { $1 }, currentDirectory: dir.path)
        }

        /// What TMPDIR holds (nothing, after any bake).
        func leftInTemporary() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: temporary) }
    }

    @Test func spooledLayerIsTheStreamedLayerAndAFindingLeavesNoBlobTemporaryOrSpool() throws {
        let f = try LargeOverlay()
        let output = f.dir("out")
        // The layer built beside the scan (spilled to a file) is the layer `--secrets off`
        // streams into the layout: same blob, same image.
        let scanned = try f.bake([], output: "oci:\(output):scanned")
        #expect(scanned.status == 0, "\(scanned.stderr)")
        #expect(try f.leftInTemporary().isEmpty, "a spool file outlived the bake")
        let streamed = try f.bake(["--secrets", "off"], output: "oci:\(output):streamed")
        #expect(streamed.status == 0, "\(streamed.stderr)")
        #expect(scanned.output.hasPrefix("oci:") && scanned.output.split(separator: "@").last == streamed.output.split(separator: "@").last)
        let before = LayoutReader(output).fingerprint()
        #expect(before.keys.contains { $0.hasPrefix("blobs/sha256/") })

        // A secret in the last file: refused with the one line, the layout exactly as it was
        // (no new blob, no temporary file), nothing left in TMPDIR.
        try f.plantSecret()
        let refused = try f.bake([], output: "oci:\(output):latest")
        #expect(refused.status == 1)
        #expect(refused.stdout.isEmpty)
        let fingerprint = try #require(Self.fingerprints(in: refused.stderr).first)
        #expect(refused.stderr == "kiln: error: big/zz/last.conf:2: a password (key \"pg_password\") would be baked into /etc/app/zz/last.conf; keep it out of the image (docs/secrets.md) or allow it with allow-secrets: [\(fingerprint)]\n")
        #expect(LayoutReader(output).fingerprint() == before, "a refused bake changed the layout")
        #expect(try f.leftInTemporary().isEmpty, "a spool file outlived the refused bake")
        // Into a layout not there yet: not even the directory is made.
        let fresh = try f.bake([], output: "oci:\(f.dir("fresh")):latest")
        #expect(fresh.status == 1)
        #expect(!FileManager.default.fileExists(atPath: f.dir("fresh")))
        // Allowed: baked, and again nothing left behind.
        let allowed = try f.bake(["--allow-secret", fingerprint], output: "oci:\(output):allowed")
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(try f.leftInTemporary().isEmpty)
        for result in [scanned, streamed, refused, fresh, allowed] { #expect(!(result.stdout + result.stderr).contains(Self.password)) }
    }

    @Test func registryGetsNoUploadWhenAFileFindingComesWhileTheLayerIsBuilt() throws {
        let f = try LargeOverlay()
        let registry = try RegistryServer()
        try f.plantSecret()
        let refused = try f.bake([], output: "\(registry.host)/um/app:latest")
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("kiln: error: big/zz/last.conf:2: a password (key \"pg_password\") would be baked into /etc/app/zz/last.conf;"), "\(refused.stderr)")
        let writes = registry.requests().filter { !$0.hasPrefix("GET ") && !$0.hasPrefix("HEAD ") }
        #expect(writes.isEmpty, "the registry was written to: \(writes)")
        // Its storage holds no blob and no upload session.
        let storage = registry.directory("data")
        let stored = FileManager.default.enumerator(atPath: storage)?.allObjects as? [String] ?? []
        #expect(!stored.contains { $0.contains("_uploads") || $0.contains("blobs/sha256/") }, "\(stored)")
        #expect(try f.leftInTemporary().isEmpty)
        let logs = (try? String(contentsOfFile: registry.directory("access.log"), encoding: .utf8)) ?? ""
        #expect(!logs.contains(Self.password) && !refused.stderr.contains(Self.password))
    }
}
