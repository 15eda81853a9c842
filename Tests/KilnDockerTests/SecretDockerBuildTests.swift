import Foundation
import KilnTestSupport
import Testing

/// `kiln docker build` (what the AWS CDK runs) refuses a secret in a COPY'd file, in a file ADD
/// unpacks, or in an ENV or LABEL, before its store is touched; `KILN_ALLOW_SECRETS` (the CDK
/// passes no flags) or `--allow-secret` bakes it.
@Suite struct SecretDockerBuildTests {
    static let password = "Zx3-planted-docker-Password-901"

    final class Fixture {
        let hub: RegistryServer
        let dir: TemporaryDirectory

        init() throws {
            hub = try RegistryServer()
            dir = try TemporaryDirectory()
            try hub.push(layout: "\(repositoryRoot)/samples/base:1.0", to: "library/kong:1")
            try dir.write("kiln.yaml", "registries:\n  docker.io:\n    endpoint: http://\(hub.host)\n")
            try FileManager.default.createDirectory(atPath: dir("bin"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: dir("bin/kiln-docker"), withDestinationPath: kilnExecutable)
            try dir.write("context/Dockerfile", "FROM kong:1\nCOPY kong.conf /etc/kong/\nADD conf.tar /etc/app/\nENV KONG_DATABASE=off\n")
            try dir.write("context/kong.conf", "database = off\npg_password = \(SecretDockerBuildTests.password)\n")
            try dir.write("tar/app/settings.ini", "[db]\nuser = app\n")
            try run("tar", ["-cf", dir("context/conf.tar"), "-C", dir("tar/app"), "settings.ini"])
        }

        func docker(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ProcessResult {
            let environment = ProcessInfo.processInfo.environment.merging([
                "KILN_CONFIG": dir("kiln.yaml"), "KILN_DOCKER_STORE": dir("store"), "HOME": dir("home"), "DOCKER_CONFIG": dir("docker"),
            ]) { $1 }.merging(extra) { $1 }
            return try run(dir("bin/kiln-docker"), arguments, environment: environment, currentDirectory: dir("context"))
        }

        /// Every path below the store with its size: what a refused build must not change.
        func storeListing() -> [String] {
            guard let enumerator = FileManager.default.enumerator(atPath: dir("store")) else { return [] }
            return enumerator.compactMap { $0 as? String }.sorted()
        }
    }

    @Test func copiedFileAddedArchiveAndEnvAreRefusedThenAllowed() throws {
        let f = try Fixture()
        let refused = try f.docker(["build", "--tag", "cdkasset-secret", "."])
        #expect(refused.status == 1)
        #expect(refused.stdout.isEmpty)
        let fingerprint = try #require(SecretSpecTests_fingerprint(refused.stderr))
        #expect(refused.stderr == "kiln: error: kong.conf:2: a password (key \"pg_password\") would be baked into /etc/kong/kong.conf; keep it out of the image (docs/secrets.md) or allow it with allow-secrets: [\(fingerprint)]\n")
        #expect(f.storeListing().filter { !$0.hasPrefix(".") }.allSatisfy { !$0.contains("blobs/sha256/") }, "a refused build wrote blobs: \(f.storeListing())")
        #expect(try f.docker(["images", "--format", "{{.Repository}}"]).output.isEmpty, "a refused build left a name")

        // In an archive ADD unpacks, named by the archive; in an ENV value, named by the Dockerfile.
        try f.dir.write("tar/app/settings.ini", "[db]\nuser = app\npassword = \(SecretDockerBuildTests.password)\n")
        try run("tar", ["-cf", f.dir("context/conf.tar"), "-C", f.dir("tar/app"), "settings.ini"])
        try f.dir.write("context/Dockerfile", "FROM kong:1\nCOPY kong.conf /etc/kong/\nADD conf.tar /etc/app/\nENV KONG_PG_PASSWORD=\(SecretDockerBuildTests.password)\n")
        let three = try f.docker(["build", "--tag", "cdkasset-secret", "--allow-secret", fingerprint, "."])
        #expect(three.status == 1)
        let lines = three.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(three.stderr)")
        #expect(lines.contains { $0.contains("conf.tar!/settings.ini:3: a password (key \"password\") would be baked into /etc/app/settings.ini;") }, "\(three.stderr)")
        #expect(lines.contains { $0.hasPrefix("kiln: error: Dockerfile: a password (ENV name \"KONG_PG_PASSWORD\") would be set in the image's Env (KONG_PG_PASSWORD);") }, "\(three.stderr)")

        // The CDK route: fingerprints from the environment.
        let all = [fingerprint] + lines.compactMap(SecretSpecTests_fingerprint)
        let built = try f.docker(["build", "--tag", "cdkasset-secret", "."], environment: ["KILN_ALLOW_SECRETS": all.joined(separator: ",")])
        #expect(built.status == 0, "\(built.stderr)")
        #expect(built.output.hasPrefix("sha256:"))
        for result in [refused, three, built] { #expect(!(result.stdout + result.stderr).contains(SecretDockerBuildTests.password)) }
    }
}

private func SecretSpecTests_fingerprint(_ text: String) -> String? {
    guard let open = text.range(of: "allow-secrets: [", options: .backwards) else { return nil }
    return String(text[open.upperBound...].prefix(16))
}
