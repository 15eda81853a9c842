import Foundation
import KilnStore

/// Where a registry host's credentials come from: the one place kiln chooses them. The sources
/// are asked in this order, and the first that answers wins:
///
/// 1. ``flags``: `--username` with `--password-stdin`, for the one registry they were given for
///    (the output registry of `kiln bake`, `copy`, `build`);
/// 2. ``loginFile``: what `kiln docker login` stored (`--config DIR`'s config.json, else kiln's
///    own auth.json), for `kiln docker` only, exact host names;
/// 3. ``ecr``: the provider for ECR hosts (`KilnAWS.ECRCredentials`: the AWS credential chain and
///    `GetAuthorizationToken`); it answers for ECR hosts alone, and an ECR host is never looked
///    up further;
/// 4. ``dockerConfig``: Docker's and podman's config (`auths`, `credHelpers`, `credsStore` in
///    `$REGISTRY_AUTH_FILE` and `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`);
///    none with `kiln docker --config DIR`.
///
/// No source found: anonymous. The CLI composes this once (`TransportFlags.options`), for its
/// own commands and for `kiln docker`. Credentials go only to the host they were found for and
/// to token realms ``CredentialBoundary`` accepts.
public struct RegistryCredentials: CredentialProvider {
    /// `--username`/`--password-stdin`: a credential for exactly one registry.
    public var flags: (registry: String, credential: Credential)?
    /// A Docker-format login file consulted before anything else the user has.
    public var loginFile: String?
    /// The provider of ECR hosts' credentials: nil for any other host.
    public var ecr: CredentialProvider?
    public var dockerConfig: DockerConfigCredentials

    /// What `--username`/`--password-stdin` name as the source of their credential.
    public static let flagsSource = "--username/--password-stdin"

    public init(
        flags: (registry: String, credential: Credential)? = nil,
        loginFile: String? = nil,
        ecr: CredentialProvider? = nil,
        dockerConfig: DockerConfigCredentials = DockerConfigCredentials()
    ) {
        self.flags = flags
        self.loginFile = loginFile
        self.ecr = ecr
        self.dockerConfig = dockerConfig
    }

    public func credential(for registry: String) async throws -> Credential? {
        if let flags, flags.registry == registry { return flags.credential }
        if let loginFile, FileIO.exists(loginFile), let found = try DockerConfigCredentials(files: [loginFile]).lookUp(registry) { return found }
        if let found = try await ecr?.credential(for: registry) { return found }
        return try dockerConfig.lookUp(registry)
    }

    /// The places looked in, in the order above.
    public var searchedLocations: [String] {
        (flags == nil ? [] : [Self.flagsSource]) + (loginFile.map { [$0] } ?? [])
            + (ecr?.searchedLocations ?? []) + dockerConfig.searchedLocations
    }
}
