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
}
