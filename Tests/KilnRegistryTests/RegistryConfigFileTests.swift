import KilnRegistry
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
    }

    @Test(arguments: [
        ("mirrors: {}", "c.yaml:1: unknown key 'mirrors' (known: registries)"),
        ("registries:\n  docker.io:\n    endpoit: https://x", "c.yaml:3: unknown key 'registries.docker.io.endpoit' (known: endpoint, insecure)"),
        ("registries:\n  docker.io:\n    endpoint: ftp://x", "c.yaml:3: registries.docker.io.endpoint must be an http:// or https:// URL"),
        ("registries:\n  docker.io:\n    insecure: sometimes", "c.yaml:3: registries.docker.io.insecure must be true or false"),
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
