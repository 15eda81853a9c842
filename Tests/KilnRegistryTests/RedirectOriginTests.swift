@testable import KilnRegistry
import Testing

@Suite struct RedirectOriginTests {
    @Test func redirectOriginsAreComparedBySchemeHostAndPort() {
        #expect(RegistrySession.origin(of: "https://registry-1.docker.io/v2/x") == "https://registry-1.docker.io")
        #expect(RegistrySession.origin(of: "http://127.0.0.1:5000/v2/") != RegistrySession.origin(of: "http://localhost:5000/v2/"))
        #expect(RegistrySession.resolve("/v2/x/blobs/uploads/1", against: "https://h:1") == "https://h:1/v2/x/blobs/uploads/1")
        #expect(RegistrySession.resolve("https://cdn/x", against: "https://h") == "https://cdn/x")
    }
}
