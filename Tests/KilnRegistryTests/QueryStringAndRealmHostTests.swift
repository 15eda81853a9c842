@testable import KilnRegistry
import Testing

@Suite struct QueryStringAndRealmHostTests {
    @Test func queryValuesCannotAddParameters() {
        #expect(QueryString.encode("x&from=evil&mount=sha256:0") == "x%26from%3Devil%26mount%3Dsha256:0")
        #expect(QueryString.encode("svc/one") == "svc/one")
        #expect(QueryString.encode("a b+c#d?e%f") == "a%20b%2Bc%23d%3Fe%25f")
        #expect(QueryString.encode("é\n") == "%C3%A9%0A")
        #expect(QueryString.make([("mount", "sha256:ab"), ("from", "a&b")]) == "mount=sha256:ab&from=a%26b")
    }

    @Test func aPlainRealmOnAnotherHostNeedsThatHostMarkedInsecure() throws {
        let base = "http://registry.internal:5000"
        // Its own host (any port), loopback: allowed.
        #expect(try CredentialBoundary.tokenRealm("http://registry.internal:5001/token", registry: "registry.internal:5000", base: base).port == 5001)
        #expect(try CredentialBoundary.tokenRealm("http://127.0.0.1:9/token", registry: "registry.internal:5000", base: base).port == 9)
        // Another host over plain HTTP: refused, unless marked insecure (with or without port).
        #expect {
            try CredentialBoundary.tokenRealm("http://auth.example/token", registry: "registry.internal:5000", base: base, insecureHosts: ["registry.internal:5000"])
        } throws: { "\($0)" == "registry registry.internal:5000: refused token realm http://auth.example/token: plain HTTP to another host, which is not marked insecure (--insecure auth.example:80 allows it)" }
        #expect(try CredentialBoundary.tokenRealm("http://auth.example/token", registry: "r", base: base, insecureHosts: ["auth.example"]).host == "auth.example")
        #expect(try CredentialBoundary.tokenRealm("http://auth.example:8080/token", registry: "r", base: base, insecureHosts: ["auth.example:8080"]).port == 8080)
        // HTTPS realms anywhere stay allowed.
        #expect(try CredentialBoundary.tokenRealm("https://auth.example/token", registry: "r", base: base).host == "auth.example")
    }
}
