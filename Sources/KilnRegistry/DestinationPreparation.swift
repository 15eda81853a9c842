/// How to create a registry repository that does not exist yet (`--create-repository`).
public struct RepositoryCreation: Sendable, Equatable {
    /// ECR's setting and, for the `_WITH_EXCLUSION` ones, its wildcard exclusion filters.
    public var tagMutability: TagMutability
    /// A KMS key for the repository's encryption; `nil` is the registry's default.
    public var kmsKey: String?

    public init(tagMutability: TagMutability = .mutable, kmsKey: String? = nil) {
        self.tagMutability = tagMutability
        self.kmsKey = kmsKey
    }
}

/// A step that runs at a registry destination before a byte is written: the ECR layer makes
/// sure the repository exists (or creates it) and learns whether its tags are immutable. The
/// bake pipeline calls whichever preparation the run was given and knows nothing of ECR.
public protocol DestinationPreparation: Sendable {
    /// Prepares `image` when this preparation knows its registry.
    /// - Returns: whether it did (false: not its kind of registry; nothing was done).
    func prepare(_ image: RegistryImage, create: RepositoryCreation?) async throws -> Bool
}
