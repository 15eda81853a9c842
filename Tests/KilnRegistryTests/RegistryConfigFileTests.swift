import Foundation
import KilnRegistry
import KilnStore
import Testing

@Suite struct RegistryConfigFileTests {
    @Test func readsEndpointsAndInsecureHosts() throws {
        let config = try RegistryConfigFile.parse("""
            registries:
              docker.io:
                endpoint: https://mirror.example.org
              registry.internal:5000:
                insecure: true
                endpoint: http://10.0.0.5:5000
              ghcr.io:
                insecure: false
            """, path: "c.yaml")
        #expect(config.endpoints == ["docker.io": "https://mirror.example.org", "registry.internal:5000": "http://10.0.0.5:5000"])
        #expect(config.insecureHosts == ["registry.internal:5000"])
        #expect(try RegistryConfigFile.parse("", path: "c.yaml") == RegistryConfigFile())
        let profiles = try RegistryConfigFile.parse("registries:\n  111111111111.dkr.ecr.eu-west-1.amazonaws.com: {aws-profile: acceptance}\n", path: "c.yaml")
        #expect(profiles.awsProfiles == ["111111111111.dkr.ecr.eu-west-1.amazonaws.com": "acceptance"])
    }

    @Test(arguments: [
        ("mirrors: {}", "c.yaml:1: unknown key 'mirrors' (known: registries)"),
        ("registries:\n  docker.io:\n    endpoit: https://x", "c.yaml:3: unknown key 'registries.docker.io.endpoit' (known: endpoint, insecure, mirrors, pull-from-mirror, aws-profile)"),
        ("registries:\n  docker.io:\n    mirrors: ecr.example/docker-hub", "c.yaml:3: registries.docker.io.mirrors must be a list of mappings with a 'location'"),
        ("registries:\n  docker.io:\n    mirrors: [ecr.example]", "c.yaml:3: each entry of registries.docker.io.mirrors must be a mapping with a 'location'"),
        ("registries:\n  docker.io:\n    mirrors:\n      - insecure: true", "c.yaml:4: an entry of registries.docker.io.mirrors has no 'location'"),
        ("registries:\n  docker.io:\n    mirrors:\n      - location: https://ecr.example/docker-hub", "c.yaml:4: registries.docker.io.mirrors.location: 'https://ecr.example/docker-hub' must be HOST[:PORT][/PATH], without a scheme"),
        ("registries:\n  docker.io:\n    mirrors:\n      - location: ecr.example:99999/x", "c.yaml:4: registries.docker.io.mirrors.location: '99999' is not a valid port (1 to 65535)"),
        ("registries:\n  docker.io:\n    mirrors:\n      - location: ecr.example/Docker-Hub", "c.yaml:4: registries.docker.io.mirrors.location: 'Docker-Hub' in 'ecr.example/Docker-Hub' is not a valid repository path component (lower-case letters, digits, and . _ - separators)"),
        ("registries:\n  docker.io:\n    mirrors:\n      - location: ecr.example//x", "c.yaml:4: registries.docker.io.mirrors.location: '' in 'ecr.example//x' is not a valid repository path component (lower-case letters, digits, and . _ - separators)"),
        ("registries:\n  docker.io:\n    mirrors:\n      - location: [a]", "c.yaml:4: registries.docker.io.mirrors.location must be HOST[:PORT][/PATH]"),
        ("registries:\n  docker.io:\n    mirrors:\n      - location: m.example\n        insecure: maybe", "c.yaml:5: registries.docker.io.mirrors.insecure must be true or false"),
        ("registries:\n  docker.io:\n    mirrors:\n      - location: m.example\n        prefix: x", "c.yaml:5: unknown key 'registries.docker.io.mirrors.prefix' (known: location, insecure)"),
        ("registries:\n  docker.io:\n    pull-from-mirror: digest", "c.yaml:3: registries.docker.io.pull-from-mirror must be one of all, digest-only, tag-only"),
        ("registries:\n  docker.io:\n    endpoint: ftp://x", "c.yaml:3: registries.docker.io.endpoint must be an http:// or https:// URL"),
        ("registries:\n  docker.io:\n    insecure: sometimes", "c.yaml:3: registries.docker.io.insecure must be true or false"),
        ("registries:\n  1.dkr.ecr.eu-west-1.amazonaws.com:\n    aws-profile: [prod]", "c.yaml:3: registries.1.dkr.ecr.eu-west-1.amazonaws.com.aws-profile must be a profile name of the AWS config files"),
        ("registries:\n  1.dkr.ecr.eu-west-1.amazonaws.com:\n    aws-profile: 'a b'", "c.yaml:3: registries.1.dkr.ecr.eu-west-1.amazonaws.com.aws-profile must be a profile name of the AWS config files"),
        ("registries: [a, b]", "c.yaml:1: 'registries' must map registry names to settings"),
        ("registries: {a: [\n", "c.yaml: not valid YAML"),
    ])
    func namesFileLineAndKey(_ text: String, message: String) {
        do {
            _ = try RegistryConfigFile.parse(text, path: "c.yaml")
            Issue.record("expected an error for \(text)")
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test func readsMirrorsWithPrefixesAndTheirPolicy() throws {
        let config = try RegistryConfigFile.parse("""
            registries:
              docker.io:
                mirrors:
                  - location: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub
                  - location: mirror.internal:5000
                    insecure: true
                  - location: "[::1]:5001/cache/hub"
                pull-from-mirror: digest-only
              ghcr.io:
                pull-from-mirror: tag-only
            """, path: "c.yaml")
        let hub = try #require(config.mirrors["docker.io"])
        #expect(hub.policy == .digestOnly)
        #expect(hub.mirrors == [RegistryMirror(host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", prefix: "docker-hub"),
                                RegistryMirror(host: "mirror.internal:5000"), RegistryMirror(host: "[::1]:5001", prefix: "cache/hub")])
        #expect(config.mirrors["ghcr.io"] == RegistryMirrors(mirrors: [], policy: .tagOnly))
        // A mirror's insecure setting is its host's (sessions are per host).
        #expect(config.insecureHosts == ["mirror.internal:5000"])
        #expect(config.endpoints.isEmpty)
    }

    @Test func aMirrorServesTheRepositoryUnderItsPrefixAndThePolicyPicksReferences() throws {
        let kong = try RegistryReference(parsing: "kong:2.6.0-alpine")
        let pinned = try RegistryReference(parsing: "kong:2.6.0-alpine@sha256:" + String(repeating: "a", count: 64))
        let ecr = try RegistryMirror(location: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub")
        #expect(ecr.reference(for: kong).description == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/kong:2.6.0-alpine")
        #expect(ecr.reference(for: pinned).description == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/kong:2.6.0-alpine@sha256:" + String(repeating: "a", count: 64))
        #expect(try RegistryMirror(location: "localhost:5000").reference(for: kong).description == "localhost:5000/library/kong:2.6.0-alpine")
        #expect(RegistryMirrors(mirrors: [ecr], policy: .all).mirrors(for: kong) == [ecr])
        #expect(RegistryMirrors(mirrors: [ecr], policy: .all).mirrors(for: pinned) == [ecr])
        #expect(RegistryMirrors(mirrors: [ecr], policy: .digestOnly).mirrors(for: kong).isEmpty)
        #expect(RegistryMirrors(mirrors: [ecr], policy: .digestOnly).mirrors(for: pinned) == [ecr])
        #expect(RegistryMirrors(mirrors: [ecr], policy: .tagOnly).mirrors(for: kong) == [ecr])
        #expect(RegistryMirrors(mirrors: [ecr], policy: .tagOnly).mirrors(for: pinned).isEmpty)
    }

    /// The config examples of the README and docs/ci-and-iac.md parse as documented.
    @Test func documentedExamplesParse() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        func yaml(in file: String, after marker: String, indent: Int = 0) throws -> String {
            let text = try String(contentsOfFile: "\(root)/\(file)", encoding: .utf8)
            let start = try #require(text.range(of: marker), "\(file) lacks \(marker)")
            let open = try #require(text.range(of: "```yaml\n", range: start.upperBound..<text.endIndex))
            let close = try #require(text.range(of: "```", range: open.upperBound..<text.endIndex))
            // The README's block is indented under a list item.
            return text[open.upperBound..<close.lowerBound].split(separator: "\n").map { String($0.dropFirst(indent)) }.joined(separator: "\n")
        }
        let readme = try RegistryConfigFile.parse(try yaml(in: "README.md", after: "live in `$KILN_CONFIG`", indent: 2), path: "README.md")
        #expect(readme.mirrors["docker.io"]?.mirrors.map(\.location) == ["123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub", "mirror.internal:5000"])
        #expect(readme.mirrors["docker.io"]?.policy == .digestOnly)
        #expect(readme.insecureHosts == ["mirror.internal:5000", "registry.internal:5000"])
        #expect(readme.endpoints == ["quay.io": "https://quay-cache.example.org"])
        let ci = try RegistryConfigFile.parse(try yaml(in: "docs/ci-and-iac.md", after: "## Docker Hub rate limits"), path: "ci-and-iac.md")
        #expect(ci.mirrors["docker.io"] == RegistryMirrors(mirrors: [RegistryMirror(host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", prefix: "docker-hub")], policy: .digestOnly))
    }

    @Test func missingExplicitFileIsAnError() {
        #expect(throws: RegistryError.self) { try RegistryConfigFile.load(environment: ["KILN_CONFIG": "/nonexistent/kiln.yaml"]) }
        #expect((try? RegistryConfigFile.load(environment: ["HOME": "/nonexistent"])) == RegistryConfigFile())
    }
}

@Suite struct AuthAndRetryTests {
    @Test func retryAfterIsHonouredAndBackoffGrows() {
        let policy = RetryPolicy(attempts: 5, baseDelay: 0.25, maxDelay: 8)
        #expect(policy.delay(afterAttempt: 1, retryAfter: "3") == 3)
        #expect(policy.delay(afterAttempt: 1, retryAfter: "120") == 30)
        for attempt in 1...6 {
            let ceiling = min(8, 0.25 * Double(1 << (attempt - 1)))
            let delay = policy.delay(afterAttempt: attempt, retryAfter: nil)
            #expect(delay >= ceiling / 2 && delay <= ceiling)
        }
    }

    @Test func credentialDescriptionNeverShowsTheSecret() {
        let credential = Credential(username: "ci", secret: "hunter2", source: "~/.docker/config.json")
        #expect(!"\(credential)".contains("hunter2"))
        #expect(!String(reflecting: RegistryError.credentialsRejected(host: "h", source: credential.source)).contains("hunter2"))
    }
}
