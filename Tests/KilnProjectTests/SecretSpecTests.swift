import Foundation
import KilnTestSupport
import Testing

/// Spec commands refuse a secret in what the image would get (an overlay file, a spec's env, a
/// spec Dockerfile's ENV), before any output exists, and bake it once `allow-secrets:` names it.
@Suite struct SecretSpecTests {
    static let clientSecret = "9b1f-planted-client-secret-e27d"

    final class Fixture {
        let dir: TemporaryDirectory
        var root: String { dir("repo") }

        init() throws {
            dir = try TemporaryDirectory()
            try dir.write("kiln.yaml", "registries: {}\n")
            // A spec's layouts must be inside its repository: the sample base is copied in.
            try FileManager.default.createDirectory(atPath: dir("repo"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "\(repositoryRoot)/samples/base", toPath: dir("repo/base"))
            try dir.write("repo/overlays/keycloak/realm.json", """
                {
                  "realm": "um",
                  "clients": [
                    {
                      "clientId": "um-gateway",
                      "secret": "\(SecretSpecTests.clientSecret)"
                    }
                  ],
                  "users": [ { "username": "admin", "credentials": [ { "type": "password", "value": "${UM_ADMIN_PASSWORD}" } ] } ]
                }

                """)
            try writeSpec()
        }

        func writeSpec(extra: String = "") throws {
            try dir.write("repo/images/keycloak.yaml", """
                base: oci:\(dir("repo/base")):1.0
                target: oci:\(dir("repo/out"))
                overlays:
                  - from: overlays/keycloak/realm.json
                    to: /opt/keycloak/data/import/realm.json
                config:
                  env: {KC_DB: postgres}
                \(extra)
                """)
        }

        func kiln(_ arguments: [String]) throws -> ProcessResult {
            try KilnTestSupport.kiln(arguments + ["--root", root], extraEnvironment: ["KILN_CONFIG": dir("kiln.yaml")])
        }
    }

    @Test func buildAndPlanRefuseTheRealmsClientSecretUntilTheSpecAllowsIt() throws {
        let f = try Fixture()
        #expect(try f.kiln(["lock"]).status == 0)
        let build = try f.kiln(["build"])
        #expect(build.status == 1)
        #expect(build.stdout.isEmpty)
        let fingerprint = try #require(SecretSpecTests.fingerprint(in: build.stderr))
        #expect(build.stderr == "kiln: error: keycloak: overlays/keycloak/realm.json:6: a client secret (JSON key \"secret\") would be baked into /opt/keycloak/data/import/realm.json; keep it out of the image (docs/secrets.md) or allow it with allow-secrets: [\(fingerprint)]\n")
        #expect(!FileManager.default.fileExists(atPath: f.dir("repo/out")), "a refused build wrote its target")
        let plan = try f.kiln(["plan"])
        #expect(plan.status == 1)
        #expect(plan.stderr == build.stderr.replacingOccurrences(of: "error: keycloak: ", with: "error: "), "plan evaluates the same bake and refuses it the same way")

        // A spec env value is scanned too.
        try f.writeSpec(extra: "allow-secrets: [\(fingerprint)]\n")
        try f.dir.write("repo/images/keycloak.yaml", try String(contentsOfFile: "\(f.root)/images/keycloak.yaml", encoding: .utf8)
            .replacingOccurrences(of: "KC_DB: postgres", with: "KC_DB: postgres, KC_DB_PASSWORD: \(SecretSpecTests.clientSecret)"))
        let env = try f.kiln(["build"])
        #expect(env.status == 1)
        #expect(env.stderr.hasPrefix("kiln: error: keycloak: \(f.root)/images/keycloak.yaml: a password (ENV name \"KC_DB_PASSWORD\") would be set in the image's Env (KC_DB_PASSWORD);"), "\(env.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.dir("repo/out")))

        // Both findings at once: every line names the spec (a build of many specs prints all).
        try f.writeSpec(extra: "")
        try f.dir.write("repo/images/keycloak.yaml", try String(contentsOfFile: "\(f.root)/images/keycloak.yaml", encoding: .utf8)
            .replacingOccurrences(of: "KC_DB: postgres", with: "KC_DB: postgres, KC_DB_PASSWORD: \(SecretSpecTests.clientSecret)"))
        let both = try f.kiln(["build"])
        let lines = both.stderr.split(separator: "\n")
        #expect(both.status == 1 && lines.count == 2 && lines.allSatisfy { $0.hasPrefix("kiln: error: keycloak: ") }, "\(both.stderr)")

        try f.writeSpec(extra: "allow-secrets: [\(fingerprint)]\n")
        let allowed = try f.kiln(["build"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(try f.kiln(["verify"]).status == 0)
        for result in [build, plan, env, both, allowed] { #expect(!(result.stdout + result.stderr).contains(SecretSpecTests.clientSecret)) }

        try f.writeSpec(extra: "allow-secrets: [not-hex]\n")
        let bad = try f.kiln(["plan"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("allow-secrets[0]: fingerprint: 'not-…' (7 characters) is not a secret fingerprint"), "\(bad.stderr)")
    }

    @Test func specDockerfileEnvIsScanned() throws {
        let f = try Fixture()
        let hub = try RegistryServer()
        try hub.push(layout: "\(repositoryRoot)/samples/base:1.0", to: "library/keycloak:1")
        try f.dir.write("kiln.yaml", "registries:\n  docker.io:\n    endpoint: http://\(hub.host)\n")
        try f.dir.write("repo/images/keycloak/Dockerfile", """
            FROM keycloak:1
            COPY realm.json /opt/keycloak/data/import/realm.json
            ENV KC_DB_PASSWORD=\(SecretSpecTests.clientSecret)

            """)
        try f.dir.write("repo/images/keycloak/realm.json", "{\"realm\": \"um\", \"clients\": [{\"clientId\": \"a\", \"secret\": \"${A_SECRET}\"}]}\n")
        try f.dir.write("repo/images/keycloak.yaml", "dockerfile: images/keycloak/Dockerfile\ntarget: oci:\(f.dir("repo/out"))\n")
        let lock = try f.kiln(["lock"])
        #expect(lock.status == 0, "\(lock.stderr)")
        let before = hub.requests().count
        let build = try f.kiln(["build"])
        #expect(build.status == 1)
        #expect(build.stderr.hasPrefix("kiln: error: ") && build.stderr.contains("Dockerfile: a password (ENV name \"KC_DB_PASSWORD\") would be set in the image's Env (KC_DB_PASSWORD);"), "\(build.stderr)")
        #expect(!build.stderr.contains(SecretSpecTests.clientSecret))
        #expect(!FileManager.default.fileExists(atPath: f.dir("repo/out")))
        #expect(hub.requests().dropFirst(before).allSatisfy { $0.hasPrefix("GET ") || $0.hasPrefix("HEAD ") }, "only reads of the base")
    }

    static func fingerprint(in text: String) -> String? {
        guard let open = text.range(of: "allow-secrets: [", options: .backwards) else { return nil }
        return String(text[open.upperBound...].prefix(16))
    }
}
