import KilnRegistry
import KilnStore

/// What `kiln bake` does with an ECR output before writing anything: make sure the repository
/// exists (creating it with `--create-repository`) and learn whether its tags are immutable.
package struct ECRRepositoryCheck: DestinationPreparation {
    private let credentials: ECRCredentials

    package init(credentials: ECRCredentials) {
        self.credentials = credentials
    }

    /// - Returns: the repository's tag rule; `nil` when `reference` is not on ECR.
    /// - Throws: a clear error naming the repository and the flag when it does not exist, no
    ///   creation template makes ECR create it on push, and `create` is `nil`.
    package func prepare(_ reference: RegistryReference, create: RepositoryCreation?, note: (String) -> Void = { _ in }) async throws -> TagMutability? {
        guard let host = ECRHost(reference.registry) else { return nil }
        let client = try await credentials.ecrClient(for: host)
        if let mutability = try await client.tagMutability(of: reference.repository) {
            return mutability
        }
        guard let create else {
            // A creation template with CREATE_ON_PUSH makes ECR create it at the first push.
            // Credentials that may not read the templates get the plain error.
            let templates = (try? await client.creationTemplates()) ?? []
            if let template = ECRCreationTemplate.applying(to: reference.repository, in: templates), template.createsOnPush {
                note("ECR repository \(reference.repository) does not exist yet; ECR creates it on this push from the repository creation template '\(template.prefix)' (CREATE_ON_PUSH, tags \(template.tagMutability))")
                return template.tagMutability
            }
            throw AWSError.repositoryMissing(repository: reference.repository, account: host.account, region: host.region)
        }
        // Two jobs may race to create it: the loser's RepositoryAlreadyExistsException is fine.
        _ = try await client.createRepository(reference.repository, tagMutability: create.tagMutability, kmsKey: create.kmsKey)
        return try await client.tagMutability(of: reference.repository) ?? create.tagMutability
    }

    /// The pipeline's step: an ECR output exists (or is created, or ECR creates it on push) and
    /// its tag rules are applied to the image, before anything is written.
    package func prepare(_ image: RegistryImage, create: RepositoryCreation?) async throws -> Bool {
        let logger = image.transport.options.logger
        guard let mutability = try await prepare(image.reference, create: create, note: { logger.notice("\($0)") }) else { return false }
        image.tagMutability = mutability
        return true
    }
}
