/// How to create a registry repository that does not exist yet (`--create-repository`).
public struct RepositoryCreation: Sendable, Equatable {
    /// `MUTABLE` or `IMMUTABLE`.
    public var tagMutability: String
    /// A KMS key for the repository's encryption; `nil` is the registry's default.
    public var kmsKey: String?

    public init(tagMutability: String = "MUTABLE", kmsKey: String? = nil) {
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
