import Foundation
import KilnTestSupport
import Testing

/// The Bearer token flow end to end: a real distribution registry with `auth: token` checks
/// every token kiln brings (signature, audience, access claims) from `token_issuer.py`.
@Suite struct TokenAuthTests {
    /// Runs kiln with `password` on standard input, as `--password-stdin` reads it.
    private func kilnWithPassword(_ password: String, _ arguments: [String], environment: [String: String]) throws -> ProcessResult {
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        return try run("sh", ["-c", "printf '%s\\n' '\(password)' | '\(kilnExecutable)' \(quoted)"], environment: environment)
    }

    private func overlay(_ dir: TemporaryDirectory) throws -> String {
        try dir.write("overlay/kong.conf", "database = off\n")
        return "\(dir("overlay")):/etc/kong"
    }

    @Test func anonymousPullAuthenticatedPushAndCrossRepositoryMount() throws {
        let issuer = try TokenIssuer()
        let registry = try RegistryServer(tokenIssuer: issuer)
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("base"), work: dir)
        try registry.push(layout: "\(dir("base")):base", to: "public/base:1.0")
        let env = try isolatedDockerEnvironment(dir)
        let overlay = try overlay(dir)

        // Anonymous pull of a public base: tokens without credentials, pull only.
        var seen = try issuer.requests().count
        let pulled = try BakeJSON(run(kilnExecutable, ["bake", "--base", "\(registry.host)/public/base:1.0", "--overlay", overlay,
                                                       "--output", "oci:\(dir("layout")):v1", "--json"], environment: env))
        let anonymous = Array(try issuer.requests()[seen...])
        #expect(!anonymous.isEmpty && anonymous.allSatisfy { !$0.authorization && $0.scopes == ["repository:public/base:pull"] }, "\(anonymous)")

        // Without credentials, the registry refuses a push on the issuer's empty grant.
        let refused = try run(kilnExecutable, ["bake", "--base", "\(registry.host)/public/base:1.0", "--overlay", overlay,
                                               "--output", "\(registry.host)/ci/anonymous:1"], environment: env)
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("kiln: error: registry \(registry.host) requires credentials for ci/anonymous; none found"), "\(refused.stderr)")

        // Authenticated push into the same registry: the base layers are mounted across
        // repositories under one token that pulls the source and pushes the target.
        seen = try issuer.requests().count
        let start = registry.requests().count
        let push = try kilnWithPassword(issuer.user.password, ["bake", "--base", "\(registry.host)/public/base:1.0", "--overlay", overlay,
                                                               "--username", issuer.user.name, "--password-stdin",
                                                               "--output", "\(registry.host)/ci/app:1", "--json"], environment: env)
        let pushed = try BakeJSON(push)
        #expect(pushed.digest == pulled.digest)
        #expect(!push.stdout.contains(issuer.user.password) && !push.stderr.contains(issuer.user.password))
        #expect(push.stderr.contains(": mounted ("), "\(push.stderr)")
        let tokenRequests = Array(try issuer.requests()[seen...])
        #expect(tokenRequests.allSatisfy { $0.authorization && $0.status == 200 }, "\(tokenRequests)")
        let mount = tokenRequests.first { Set($0.scopes) == ["repository:ci/app:pull,push", "repository:public/base:pull"] }
        #expect(mount != nil, "no token request with both scopes: \(tokenRequests.map(\.path))")
        #expect(mount.map { Set($0.granted.map { "\($0.name):\($0.actions.joined(separator: ","))" }) } == ["ci/app:pull,push", "public/base:pull"])
        let registryRequests = Array(registry.requests()[start...])
        #expect(registryRequests.contains { $0.hasPrefix("POST /v2/ci/app/blobs/uploads/?mount=") && $0.hasSuffix("&from=public/base") })
        #expect(registryRequests.last == "PUT /v2/ci/app/manifests/1")

        // A new scope fetches a new token; a known one is reused, not fetched per request.
        #expect(tokenRequests.contains { $0.scopes == ["repository:public/base:pull"] })
        #expect(tokenRequests.contains { $0.scopes == ["repository:ci/app:pull,push"] })
        #expect(tokenRequests.count < registryRequests.count / 2, "\(tokenRequests.count) token requests for \(registryRequests.count) registry requests")

        let inspect = try runChecked("skopeo", ["inspect", "--format", "{{.Digest}}"] + registry.skopeoFlags(dest: nil) + ["docker://\(registry.host)/ci/app:1"]).output
        #expect(inspect == pushed.digest)
    }

    @Test func wrongPasswordIsOneClearLineAndNeverShown() throws {
        let issuer = try TokenIssuer()
        let registry = try RegistryServer(tokenIssuer: issuer)
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("base"), work: dir)
        let before = registry.requests().count
        let wrong = "not-the-pass-7391"
        let result = try kilnWithPassword(wrong, ["bake", "--base", "oci:\(dir("base")):base", "--overlay", try overlay(dir),
                                                  "--username", issuer.user.name, "--password-stdin", "--output", "\(registry.host)/ci/app:1"],
                                          environment: try isolatedDockerEnvironment(dir))
        #expect(result.status == 1)
        #expect(result.stderr == "kiln: error: registry \(registry.host) rejected the credentials from --username/--password-stdin\n")
        #expect(!result.stdout.contains(wrong) && !result.stderr.contains(wrong))
        #expect(try issuer.requests().contains { $0.authorization && $0.status == 401 })
        #expect(!registry.requests()[before...].contains { $0.hasPrefix("PUT") || $0.hasPrefix("POST") })
    }

    /// The registry is reached over HTTPS, its realm is plain HTTP: the password would travel in
    /// clear, so kiln refuses before any token request.
    @Test func plainHTTPRealmOfAnHTTPSRegistryNeverGetsThePassword() throws {
        let issuer = try TokenIssuer()
        let registry = try RegistryServer(tls: true, tokenIssuer: issuer)
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("base"), work: dir)
        let result = try kilnWithPassword(issuer.user.password, ["bake", "--base", "oci:\(dir("base")):base", "--overlay", try overlay(dir),
                                                                 "--ca-file", registry.caFile!, "--username", issuer.user.name, "--password-stdin",
                                                                 "--output", "\(registry.host)/ci/app:1"],
                                          environment: try isolatedDockerEnvironment(dir))
        #expect(result.status == 1)
        #expect(result.stderr == "kiln: error: registry \(registry.host): refused token realm \(issuer.realm): the registry is reached over HTTPS, and credentials never go over plain HTTP\n")
        let asked = try issuer.requests().map(\.path)
        #expect(asked.isEmpty, "the realm was asked for a token: \(asked)")
        #expect(!result.stdout.contains(issuer.user.password) && !result.stderr.contains(issuer.user.password))
    }
}
