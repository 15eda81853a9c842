import Foundation
import KilnRegistry

/// Registry credentials for ECR hosts from the AWS credential chain and `GetAuthorizationToken`;
/// nil for every other host (``RegistryCredentials`` asks the next source). Tokens are kept until half their
/// lifetime, so one run fetches one per registry.
// Sendable: `cache` and `awsCredentials` are read and written only under `lock`.
package final class ECRCredentials: CredentialProvider, @unchecked Sendable {
    private let environment: [String: String]
    private let lock = NSLock()
    private var cache: [String: (credential: Credential, renewAfter: Date)] = [:]
    /// The chain's answer, kept for the run: web identity and `credential_process` are not
    /// asked again for the repository check and the token, nor by images built in parallel
    /// (they await the one lookup in flight).
    /// Per profile (`""`: the chain as it is), so each account's role is assumed once a run.
    private var awsCredentials: [String: Task<AWSCredentials, Error>] = [:]
    /// ECR registry identity -> the AWS profile its account is reached with (`registries.HOST.aws-profile`).
    private let profiles: [String: String]

    /// - Parameter profiles: registry host -> AWS profile; other hosts use the whole chain.
    package init(environment: [String: String] = ProcessInfo.processInfo.environment, profiles: [String: String] = [:]) {
        self.environment = environment
        // Keyed by the registry's identity: its dual-stack and FIPS hosts use the same profile.
        var byIdentity: [String: String] = [:]
        for (registry, profile) in profiles { if let host = ECRHost(registry) { byIdentity[host.registryIdentity] = profile } }
        self.profiles = byIdentity
    }

    package var searchedLocations: [String] { AWSCredentialChain(environment: environment).searchedLocations }

    package func credential(for registry: String) async throws -> Credential? {
        guard let host = ECRHost(registry) else { return nil }
        if let cached = lock.withLock({ cache[registry] }), cached.renewAfter > Date() { return cached.credential }
        let client = try await ecrClient(for: host)
        let token = try await client.authorizationToken()
        let credential = Credential(username: token.username, secret: token.password, source: "ECR GetAuthorizationToken (\(host.region))")
        // Half the lifetime; a token already "expired" by its own clock (moto's) serves this run.
        let lifetime = token.expiresAt.map { $0.timeIntervalSinceNow } ?? 0
        lock.withLock { cache[registry] = (credential, Date().addingTimeInterval(max(60, lifetime / 2))) }
        return credential
    }

    /// An API client for the registry's region and account.
    package func ecrClient(for host: ECRHost) async throws -> ECRClient {
        let environment = environment
        let profile = profiles[host.registryIdentity]
        let lookup = lock.withLock {
            if let running = awsCredentials[profile ?? ""] { return running }
            let started = Task { try await AWSCredentialChain(environment: environment, profile: profile).resolve() }
            awsCredentials[profile ?? ""] = started
            return started
        }
        let credentials = try await lookup.value
        let endpoint = environment["AWS_ENDPOINT_URL_ECR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["AWS_ENDPOINT_URL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? host.apiEndpoint
        return ECRClient(region: host.region, endpoint: endpoint, credentials: credentials)
    }
}
