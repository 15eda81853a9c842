import KilnStore

/// A pull-through mirror of a registry, as in containers-registries.conf(5)'s
/// `[[registry.mirror]]`: `location` is `HOST[:PORT][/PATH]`, and an image
/// `REGISTRY/REPO` is read from the mirror as `HOST/PATH/REPO` (an ECR pull-through cache
/// rule serves `docker.io/library/kong` as `ACCOUNT.dkr.ecr.REGION.amazonaws.com/docker-hub/library/kong`).
public struct RegistryMirror: Equatable, Sendable {
    /// The mirror's registry name (`HOST[:PORT]`): its session, credentials and `insecure`
    /// setting are looked up under this name, never under the mirrored registry's.
    public var host: String
    /// The repository prefix (`docker-hub`), or empty.
    public var prefix: String

    public init(host: String, prefix: String = "") {
        self.host = host
        self.prefix = prefix
    }

    /// Parses `HOST[:PORT][/PATH]` (no scheme), or says what is wrong with it.
    public init(location: String) throws(MirrorLocationError) {
        guard !location.contains("://") else { throw MirrorLocationError("'\(location)' must be HOST[:PORT][/PATH], without a scheme") }
        let parts = location.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let host = parts.first, !host.isEmpty else { throw MirrorLocationError("'\(location)' has no host") }
        if let problem = RegistryReference.problem(withHost: host) { throw MirrorLocationError(problem) }
        let path = Array(parts.dropFirst())
        for component in path where !RegistryReference.isValidPathComponent(component) {
            throw MirrorLocationError("'\(component)' in '\(location)' is not a valid repository path component (lower-case letters, digits, and . _ - separators)")
        }
        self.init(host: host, prefix: path.joined(separator: "/"))
    }

    /// `HOST[:PORT][/PATH]`, as written in the config file.
    public var location: String { prefix.isEmpty ? host : "\(host)/\(prefix)" }

    /// Where the mirror serves `reference`: same tag and digest, the repository under the prefix.
    public func reference(for reference: RegistryReference) -> RegistryReference {
        RegistryReference(registry: host, repository: prefix.isEmpty ? reference.repository : "\(prefix)/\(reference.repository)",
                          tag: reference.tag, digest: reference.digest)
    }
}

/// Why a mirror location was refused.
public struct MirrorLocationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Which references a registry's mirrors serve (registries.conf's `pull-from-mirror`).
public enum MirrorPolicy: String, Equatable, Sendable, CaseIterable {
    /// References by tag and by digest; a tag is still resolved at the registry itself while it
    /// answers (``MirroredSource``), documents and blobs come by digest through the mirrors.
    case all
    /// References by digest only: a tag is resolved at the registry itself, so a mirror whose
    /// tags lag or lie cannot choose the image; everything `kiln build` reads from the lock is
    /// by digest and goes through the mirrors.
    case digestOnly = "digest-only"
    /// References by tag only, tags resolved by the mirrors.
    case tagOnly = "tag-only"
}

/// A registry's mirrors, tried in order before the registry itself.
public struct RegistryMirrors: Equatable, Sendable {
    public var mirrors: [RegistryMirror]
    public var policy: MirrorPolicy

    public init(mirrors: [RegistryMirror] = [], policy: MirrorPolicy = .all) {
        self.mirrors = mirrors
        self.policy = policy
    }

    /// The mirrors to try for `reference` (none: read from the registry itself).
    public func mirrors(for reference: RegistryReference) -> [RegistryMirror] {
        switch policy {
        case .all: return mirrors
        case .digestOnly: return reference.digest == nil ? [] : mirrors
        case .tagOnly: return reference.digest == nil ? mirrors : []
        }
    }
}
