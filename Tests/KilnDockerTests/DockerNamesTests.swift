@testable import KilnDocker
import KilnDockerfile
import Testing

/// Names, `images` filters and formats as Docker treats them.
@Suite struct DockerNamesTests {
    @Test func namesAreShownInDockersFamiliarForm() throws {
        #expect(try DockerImageName(parsing: "cdkasset-abc").description == "cdkasset-abc:latest")
        #expect(try DockerImageName(parsing: "docker.io/library/kong:2.6.0-alpine").description == "kong:2.6.0-alpine")
        #expect(try DockerImageName(parsing: "bitnami/keycloak:22").repository == "bitnami/keycloak")
        let ecr = try DockerImageName(parsing: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-assets:0123abc")
        #expect(ecr.repository == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-assets")
        #expect(ecr.tag == "0123abc")
        #expect(throws: (any Error).self) { try DockerImageName(parsing: "Upper/Case") }
        #expect(throws: (any Error).self) { try DockerImageName(parsing: "kong@sha256:" + String(repeating: "a", count: 64)) }
    }

    /// Go's path.Match examples (its documentation and tests), as the reference= filter uses them.
    @Test func referencePatternsFollowGoPathMatch() {
        let cases: [(String, String, Bool)] = [
            ("abc", "abc", true), ("*", "abc", true), ("*c", "abc", true), ("a*", "a", true), ("a*", "abc", true),
            ("a*", "ab/c", false), ("a*/b", "abc/b", true), ("a*/b", "a/c/b", false), ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b?c*x", "abxbbxdbxebxczzx", true), ("a*b?c*x", "abxbbxdbxebxczzy", false), ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true), ("ab[e-g]", "abc", false), ("ab[^c]", "abc", false), ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true), ("a\\*b", "a*b", true), ("a\\*b", "ab", false), ("a?b", "a☺b", true), ("a?b", "a/b", false),
            ("*/*:TAG", "123.dkr.ecr.eu-west-1.amazonaws.com/repo:TAG", true), ("*/*:TAG", "cdkasset-x:TAG", false), ("[", "a", false),
        ]
        for (pattern, name, expected) in cases {
            #expect((try? GlobPattern(filepathMatch: pattern))?.matches(name) ?? false == expected, "\(pattern) ~ \(name)")
        }
    }

    @Test func formatsKnowTheFieldsTheCDKReads() throws {
        #expect(try DockerImageList.render("{{.Repository}}:{{ .Tag }}", ["Repository": "r", "Tag": "t"]) == "r:t")
        #expect(throws: DockerError.self) { try DockerImageList.render("{{json .}}", [:]) }
    }
}

extension DockerNamesTests {
    @Test func malformedPatternsAreRecognised() {
        for pattern in ["*/*:TAG", "ab[c]", "a\\*b", "[^a-c]x", "[\\]a]"] { #expect((try? GlobPattern(filepathMatch: pattern)) != nil, "\(pattern)") }
        for pattern in ["[", "a[", "ab[^c", "a\\", "[a-", "[]a]", "[-a]", "[x-]"] { #expect((try? GlobPattern(filepathMatch: pattern)) == nil, "\(pattern)") }
    }
}
