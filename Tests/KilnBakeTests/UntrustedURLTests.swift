import Foundation
import KilnTestSupport
import Testing

/// URLs a registry names (token realms, upload locations, redirects) are untrusted: kiln checks
/// them before it connects, keeps credentials and blobs on the registry's origin, and never
/// prints the user info of an endpoint.
@Suite struct UntrustedURLTests {
    /// `kiln bake` of the demo base to `output`, with a password on standard input.
    private func pushWithPassword(_ password: String, output: String, environment: [String: String]) throws -> ProcessResult {
        try run("sh", ["-c", "printf '%s\\n' '\(password)' | '\(kilnExecutable)' bake --base '\(Demo.base)' --overlay '\(repositoryRoot)/overlays/gateway/kong.conf:/etc/kong/kong.conf' --username ci --password-stdin --output '\(output)'"],
                environment: environment)
    }

    @Test(arguments: [
        ("http+unix://%2Frun%2Fdocker.sock/token", "scheme 'http+unix' (only http and https are allowed)"),
        ("ftp://127.0.0.1/token", "scheme 'ftp' (only http and https are allowed)"),
        ("http://127.0.0.1:99999/token", "port '99999' (must be 1 to 65535)"),
        ("http:///token", "no host"),
    ])
    func refusedTokenRealmIsOneLineAndNoRequest(realm: String, reason: String) throws {
        let registry = try HostileRegistry(challenge: #"Bearer realm="\#(realm)",service="hostile""#)
        let dir = try TemporaryDirectory()
        let result = try kiln(["digest", "\(registry.host)/a/b:1"], extraEnvironment: try isolatedDockerEnvironment(dir))
        #expect(result.status == 1)
        #expect(result.stderr == "kiln: error: registry \(registry.host): refused token realm \(realm): \(reason)\n")
        #expect(registry.requests() == ["GET /v2/ none"])
    }

    @Test func uploadLocationOnAnotherOriginGetsNeitherBlobNorCredentials() throws {
        let elsewhere = try HostileRegistry()
        let registry = try HostileRegistry(uploadLocation: "http://127.0.0.1:\(elsewhere.port)/upload/1")
        let dir = try TemporaryDirectory()
        let result = try pushWithPassword("upl0ad-pass", output: "\(registry.host)/um/app:1", environment: try isolatedDockerEnvironment(dir))
        #expect(result.status == 1)
        let lastLine = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(lastLine == "kiln: error: registry \(registry.host): refused upload location http://127.0.0.1:\(elsewhere.port)/upload/1: not on the registry's origin http://\(registry.host); kiln sends blobs and credentials only there", "\(result.stderr)")
        #expect(elsewhere.requests().isEmpty, "\(elsewhere.requests())")
        #expect(!result.stderr.contains("upl0ad-pass"))
    }

    @Test(arguments: [
        ("http://127.0.0.1:70000/upload", "port '70000' (must be 1 to 65535)"),
        ("http+unix://%2Frun%2Fdocker.sock/upload", "scheme 'http+unix' (only http and https are allowed)"),
        ("ftp://127.0.0.1/upload", "scheme 'ftp' (only http and https are allowed)"),
    ])
    func malformedUploadLocationIsRefusedWithoutATrap(location: String, reason: String) throws {
        let registry = try HostileRegistry(uploadLocation: location)
        let dir = try TemporaryDirectory()
        let result = try pushWithPassword("pw", output: "\(registry.host)/um/app:1", environment: try isolatedDockerEnvironment(dir))
        #expect(result.status == 1)
        let lastLine = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(lastLine == "kiln: error: registry \(registry.host): refused upload location \(location): \(reason)", "\(result.stderr)")
    }

    @Test func redirectWithAPortAbove65535IsAnErrorNotATrap() throws {
        let registry = try RegistryServer()
        let dir = try TemporaryDirectory()
        try PeerImages.pushBase(to: registry, work: dir)
        let front = try FaultProxy(upstream: registry, faults: ["--redirect-blobs", "http://127.0.0.1:99999"])
        try dir.write("overlay/kong.conf", "x\n")
        let result = try kiln(["bake", "--base", "\(registry.host)/base/app:1.0", "--overlay", "\(dir("overlay")):/etc/kong",
                               "--registry-endpoint", "\(registry.host)=\(front.url)", "--output", "oci:\(dir("out")):x"],
                              extraEnvironment: try isolatedDockerEnvironment(dir))
        #expect(result.status == 1)
        let lastLine = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(lastLine.hasPrefix("kiln: error: registry \(registry.host): refused redirect http://127.0.0.1:99999/v2/base/app/blobs/sha256:"), "\(result.stderr)")
        #expect(lastLine.hasSuffix(": port '99999' (must be 1 to 65535)"))
    }

    @Test func endpointUserinfoIsNeverPrinted() throws {
        let dir = try TemporaryDirectory()
        var env = try isolatedDockerEnvironment(dir)
        // A mirror that answers 503: notes while retrying, then the final error, both name the URL.
        let mirror = try HostileRegistry(pingStatus: 503)
        let flag = try run(kilnExecutable, ["digest", "--registry-endpoint", "mirror.test=http://ci:hunter2-secret@\(mirror.host)", "mirror.test/a/b:1"], environment: env)
        #expect(flag.status == 1)
        #expect(flag.stderr.contains("kiln: note: mirror.test: GET http://***@\(mirror.host)/v2/: HTTP 503; retrying in "), "\(flag.stderr)")
        #expect(flag.stderr.hasSuffix("kiln: error: registry mirror.test: GET http://***@\(mirror.host)/v2/ failed after 5 attempts (last: HTTP 503)\n"), "\(flag.stderr)")
        #expect(!flag.stderr.contains("hunter2") && !flag.stdout.contains("hunter2"))
        // The same endpoint from the config file.
        try dir.write("kiln.yaml", "registries:\n  mirror.test:\n    endpoint: http://ci:hunter2-secret@\(mirror.host)\n")
        env["KILN_CONFIG"] = dir("kiln.yaml")
        let file = try run(kilnExecutable, ["digest", "mirror.test/a/b:1"], environment: env)
        #expect(file.status == 1)
        #expect(file.stderr.contains("GET http://***@\(mirror.host)/v2/"), "\(file.stderr)")
        #expect(!file.stderr.contains("hunter2") && !file.stdout.contains("hunter2"), "\(file.stderr)")
        // An endpoint with a port out of range: refused, not a trap, and still no password.
        let port = try run(kilnExecutable, ["digest", "--registry-endpoint", "mirror.test=http://ci:hunter2-secret@127.0.0.1:99999", "mirror.test/a/b:1"], environment: env)
        #expect(port.stderr == "kiln: error: registry mirror.test: refused endpoint http://***@127.0.0.1:99999: port '99999' (must be 1 to 65535)\n")
        // A malformed flag's usage error.
        let malformed = try run(kilnExecutable, ["digest", "--registry-endpoint", "http://ci:hunter2-secret@127.0.0.1:5000", "mirror.test/a/b:1"], environment: env)
        #expect(malformed.status != 0)
        #expect(!malformed.stderr.contains("hunter2"), "\(malformed.stderr)")
    }
}
