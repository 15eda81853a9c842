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

    /// - Parameter profiles: registry host -> AWS profile (`registries.HOST.aws-profile`); other
    ///   hosts use the whole chain.
    /// - Throws: ``AWSError/profileMapping(_:)`` when a host is no ECR host (its profile would
    ///   be ignored: the user believes that registry reached with it) or two hosts of one ECR
    ///   registry (standard, FIPS, dual-stack) name different profiles (which one applied
    ///   would depend on the order a dictionary happens to iterate in).
    package init(environment: [String: String] = ProcessInfo.processInfo.environment, profiles: [String: String] = [:]) throws(AWSError) {
        self.environment = environment
        // Keyed by the registry's identity: its dual-stack and FIPS hosts use the same profile.
        var byIdentity: [String: (host: String, profile: String)] = [:]
        for (registry, profile) in profiles.sorted(by: { $0.key < $1.key }) {
            guard let host = ECRHost(registry) else {
                throw .profileMapping("registries.\(registry).aws-profile: \(registry) is not an ECR registry host (ACCOUNT.dkr.ecr.REGION.amazonaws.com, or its FIPS, dual-stack or China form); an AWS profile reaches nothing else")
            }
            if let other = byIdentity[host.registryIdentity], other.profile != profile {
                throw .profileMapping("registries.\(other.host).aws-profile '\(other.profile)' and registries.\(registry).aws-profile '\(profile)' name two profiles for one ECR registry (account \(host.account) in \(host.region)); give its hosts one profile")
            }
            byIdentity[host.registryIdentity] = (registry, profile)
        }
        self.profiles = byIdentity.mapValues(\.profile)
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
        return ECRClient(region: host.region, endpoint: endpoint, credentials: credentials, registryID: host.account)
    }
}
