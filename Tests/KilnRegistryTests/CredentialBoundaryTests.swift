@testable import KilnRegistry
import Testing

/// The rules for where a registry may lead kiln's requests (and credentials), and the checks
/// on URLs that come from the wire.
@Suite struct CredentialBoundaryTests {
    @Test(arguments: [
        ("https://auth.docker.io/token", "https://auth.docker.io"),
        ("HTTP://Registry.Example:80/v2/", "http://registry.example"),
        ("https://h:8443/x?y=1", "https://h:8443"),
        ("http://user:pw@127.0.0.1:5000/v2/", "http://127.0.0.1:5000"),
        ("http://[::1]:5000/v2/", "http://[::1]:5000"),
        // Whatever the user info holds, kiln and the HTTP client agree on the host.
        ("http://evil.example\\@good.example/token", "http://good.example"),
        ("http://a@b@good.example/token", "http://good.example"),
    ])
    func parsesOriginsWithoutUserinfoOrDefaultPorts(_ url: String, origin: String) throws {
        #expect(try RegistryURL(parsing: url).origin == origin)
    }

    @Test(arguments: [
        ("http+unix://%2Ftmp%2Fdocker.sock/token", RegistryURL.Problem.scheme("http+unix")),
        ("ftp://127.0.0.1/token", .scheme("ftp")),
        ("file:///etc/passwd", .scheme("file")),
        ("/token", .notAbsolute),
        ("http:///token", .noHost),
        ("http://127.0.0.1:99999/token", .port("99999")),
        ("http://127.0.0.1:65536/", .port("65536")),
        ("http://127.0.0.1:0/", .port("0")),
        ("http://127.0.0.1:/", .port("")),
        ("http://127.0.0.1:-1/", .port("-1")),
        ("http://127.0.0.1:18446744073709551617/", .port("18446744073709551617")),
        ("http://[::1]:70000/", .port("70000")),
        ("http://a b/", .controlCharacters),
        ("http://a\r\nb/", .controlCharacters),
        ("http://good.example:80:81/", .ambiguous),
        ("http://[::1/", .noHost),
    ])
    func refusesWhatTheHTTPClientMustNeverSee(_ url: String, problem: RegistryURL.Problem) {
        #expect(throws: problem) { try RegistryURL(parsing: url) }
    }

    @Test func tokenRealmRules() throws {
        // Docker Hub: an https realm on another host is the realm that registry named.
        #expect(try CredentialBoundary.tokenRealm("https://auth.docker.io/token", registry: "docker.io", base: "https://registry-1.docker.io").host == "auth.docker.io")
        // A plain-HTTP registry may name a plain-HTTP realm (a loopback test registry does).
        #expect(try CredentialBoundary.tokenRealm("http://127.0.0.1:5001/token", registry: "127.0.0.1:5000", base: "http://127.0.0.1:5000").port == 5001)
        #expect {
            try CredentialBoundary.tokenRealm("http://127.0.0.1:5001/token", registry: "r:443", base: "https://r")
        } throws: { "\($0)" == "registry r:443: refused token realm http://127.0.0.1:5001/token: the registry is reached over HTTPS, and credentials never go over plain HTTP" }
        #expect {
            try CredentialBoundary.tokenRealm("http+unix://%2Frun%2Fdocker.sock/token", registry: "r", base: "http://r")
        } throws: { "\($0)" == "registry r: refused token realm http+unix://%2Frun%2Fdocker.sock/token: scheme 'http+unix' (only http and https are allowed)" }
        #expect(throws: RegistryError.invalidResponse(host: "r", reason: "Bearer challenge without a realm")) {
            try CredentialBoundary.tokenRealm(nil, registry: "r", base: "https://r")
        }
    }

    @Test func uploadLocationsStayOnTheRegistrysOrigin() throws {
        let base = "https://r.example:5000"
        #expect(try CredentialBoundary.uploadLocation("/v2/a/blobs/uploads/1?_state=x", registry: "r", base: base) == "https://r.example:5000/v2/a/blobs/uploads/1?_state=x")
        #expect(try CredentialBoundary.uploadLocation("https://R.example:5000/v2/a/blobs/uploads/1", registry: "r", base: base) == "https://R.example:5000/v2/a/blobs/uploads/1")
        #expect(try CredentialBoundary.uploadLocation("https://r:443/u", registry: "r", base: "https://r") == "https://r:443/u")
        for other in ["https://evil.example/u", "http://r.example:5000/u", "https://r.example:5001/u", "http+unix://%2Fs/u", "https://r.example:99999/u"] {
            #expect(throws: RegistryError.self) { try CredentialBoundary.uploadLocation(other, registry: "r", base: base) }
        }
    }

    @Test func redirectsOffTheOriginAreFollowedWithoutCredentials() throws {
        #expect(try CredentialBoundary.redirect("/v2/x", registry: "r", base: "https://r").sameOrigin)
        #expect(try !CredentialBoundary.redirect("https://cdn.example/x", registry: "r", base: "https://r").sameOrigin)
        #expect(throws: RegistryError.self) { try CredentialBoundary.redirect("https://cdn.example:65536/x", registry: "r", base: "https://r") }
    }

    @Test(arguments: [
        ("GET http://user:hunter2@mirror:5000/v2/", "GET http://***@mirror:5000/v2/"),
        ("a https://tok@h and http://u:p@x?q=1@2 b", "a https://***@h and http://***@x?q=1@2 b"),
        ("http://mirror/v2/x@sha256:abc", "http://mirror/v2/x@sha256:abc"),
        ("no url here, user@host", "no url here, user@host"),
        ("docker.io=http://u:p%40ss@m", "docker.io=http://***@m"),
    ])
    func redactsUserinfoInAnyMessage(_ text: String, redacted: String) {
        #expect(text.redactingUserinfo == redacted)
    }

    @Test func errorsNeverShowUserinfo() {
        let error = RegistryError.retriesExhausted(host: "m", action: "GET http://ci:s3cret@m/v2/", attempts: 5, last: "connection refused")
        #expect("\(error)" == "registry m: GET http://***@m/v2/ failed after 5 attempts (last: connection refused)")
    }
}
