import KilnRegistry
import KilnStore

/// What `kiln bake` does with an ECR output before writing anything: make sure the repository
/// exists (creating it with `--create-repository`) and learn whether its tags are immutable.
package struct ECRRepositoryCheck: DestinationPreparation {
    private let credentials: ECRCredentials

    package init(credentials: ECRCredentials) {
        self.credentials = credentials
    }

    /// - Returns: whether the repository's tags are immutable; `nil` when `reference` is not on ECR.
    /// - Throws: a clear error naming the repository and the flag when it does not exist and
    ///   `create` is `nil`.
    package func prepare(_ reference: RegistryReference, create: RepositoryCreation?) async throws -> Bool? {
        guard let host = ECRHost(reference.registry) else { return nil }
        let client = try await credentials.ecrClient(for: host)
        if let mutability = try await client.tagMutability(of: reference.repository) {
            return mutability == "IMMUTABLE"
        }
        guard let create else {
            throw AWSError.repositoryMissing(repository: reference.repository, account: host.account, region: host.region)
        }
        // Two jobs may race to create it: the loser's RepositoryAlreadyExistsException is fine.
        _ = try await client.createRepository(reference.repository, tagMutability: create.tagMutability, kmsKey: create.kmsKey)
        return try await client.tagMutability(of: reference.repository).map { $0 == "IMMUTABLE" } ?? (create.tagMutability == "IMMUTABLE")
    }

    /// The pipeline's step: an ECR output exists (or is created) and its tag rules are applied
    /// to the image, before anything is written.
    package func prepare(_ image: RegistryImage, create: RepositoryCreation?) async throws -> Bool {
        guard let immutable = try await prepare(image.reference, create: create) else { return false }
        image.tagsAreImmutable = immutable
        return true
    }
}
