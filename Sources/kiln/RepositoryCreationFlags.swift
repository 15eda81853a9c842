import ArgumentParser
import KilnRegistry

/// `--create-repository` and the settings of the ECR repository it makes (`--tag-mutability`,
/// `--tag-mutability-exclusion`, `--kms-key`): one group for bake and copy.
struct RepositoryCreationFlags: ParsableArguments {
    @Flag(help: "Create the destination's ECR repository when it does not exist.")
    var createRepository = false

    @OptionGroup var tagMutability: TagMutabilityFlags

    @Option(help: ArgumentHelp("KMS key for a repository --create-repository creates (default: AES-256).", valueName: "ARN"))
    var kmsKey: String?

    func validate() throws { try tagMutability.checkGoesWithCreation(createRepository, kmsKey: kmsKey) }

    /// What `--create-repository` asks for; `nil` without it.
    func creation() throws -> RepositoryCreation? {
        createRepository ? RepositoryCreation(tagMutability: try tagMutability.rule(), kmsKey: kmsKey) : nil
    }
}
