import Foundation
import KilnTestSupport
import Testing

/// A registry reached over plain HTTP (loopback, or `--insecure`) that names a plain-HTTP token
/// realm on another host: the password would cross the network in clear to a host the user
/// never allowed plain HTTP to. Refused before any token request, unless that host is marked
/// insecure too.
@Suite struct PlainRealmHostTests {
    private func kilnWithPassword(_ password: String, _ arguments: [String], environment: [String: String]) throws -> ProcessResult {
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        return try run("sh", ["-c", "printf '%s\\n' '\(password)' | '\(kilnExecutable)' \(quoted)"], environment: environment)
    }

    @Test func aPlainRealmOnAnotherHostGetsNoPasswordUnlessMarkedInsecure() throws {
        let issuer = try TokenIssuer()
        // `.invalid` never resolves (RFC 6761): a realm kiln tried to reach fails differently.
        let realmHost = "kiln-realm.invalid:\(issuer.port)"
        let realm = "http://\(realmHost)/token"
        let registry = try RegistryServer(tokenIssuer: issuer, tokenRealm: realm)
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("base"), work: dir)
        try dir.write("overlay/kong.conf", "database = off\n")
        let common = ["bake", "--base", "oci:\(dir("base")):base", "--overlay", "\(dir("overlay")):/etc/kong",
                      "--username", issuer.user.name, "--password-stdin", "--output", "\(registry.host)/ci/app:1"]
        let environment = try isolatedDockerEnvironment(dir)

        let refused = try kilnWithPassword(issuer.user.password, common, environment: environment)
        #expect(refused.status == 1)
        #expect(refused.stderr == "kiln: error: registry \(registry.host): refused token realm \(realm): plain HTTP to another host, which is not marked insecure (--insecure \(realmHost) allows it)\n", "\(refused.stderr)")
        #expect(!refused.stderr.contains(issuer.user.password))

        // Marked insecure: kiln goes on to ask that realm (which does not resolve here).
        let allowed = try kilnWithPassword(issuer.user.password, common + ["--insecure", realmHost], environment: environment)
        #expect(allowed.status == 1)
        #expect(!allowed.stderr.contains("refused token realm") && allowed.stderr.contains("kiln-realm.invalid"), "\(allowed.stderr)")
        #expect(allowed.stderr.split(separator: "\n").count == 1 && !allowed.stderr.contains(issuer.user.password), "\(allowed.stderr)")
    }
}
