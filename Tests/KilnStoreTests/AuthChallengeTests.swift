import KilnStore
import Testing

@Suite struct AuthChallengeTests {
    @Test func parsesDockerHubBearerChallenge() throws {
        let challenge = try #require(AuthChallenge(header: #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/kong:pull""#))
        #expect(challenge.scheme == .bearer)
        #expect(challenge.realm == "https://auth.docker.io/token")
        #expect(challenge.service == "registry.docker.io")
        #expect(challenge.parameters["scope"] == "repository:library/kong:pull")
    }

    @Test func parsesBasicWithSpacesCommasAndEscapes() throws {
        let basic = try #require(AuthChallenge(header: #"basic realm="ECR, eu-west-1 \"prod\"""#))
        #expect(basic.scheme == .basic)
        #expect(basic.realm == #"ECR, eu-west-1 "prod""#)
        let unquoted = try #require(AuthChallenge(header: "Bearer realm=https://ghcr.io/token, service=ghcr.io"))
        #expect(unquoted.realm == "https://ghcr.io/token" && unquoted.service == "ghcr.io")
    }

    @Test func ignoresUnknownSchemes() {
        #expect(AuthChallenge(header: #"Negotiate abc"#) == nil)
        #expect(AuthChallenge(header: "") == nil)
    }
}
