import ArgumentParser
import Foundation
import KilnRegistry

/// `--create-repository` and the settings of the ECR repository it makes (`--tag-mutability`,
/// `--tag-mutability-exclusion`, `--kms-key`): one group for bake, build and copy.
struct RepositoryCreationFlags: ParsableArguments {
    @Flag(help: "Create the destination's ECR repository when it does not exist.")
    var createRepository = false

    @OptionGroup var tagMutability: TagMutabilityFlags

    @Option(help: ArgumentHelp("KMS key for a repository --create-repository creates (default: AES-256).", valueName: "ARN"))
    var kmsKey: String?

    func validate() throws {
        try tagMutability.checkGoesWithCreation(createRepository, kmsKey: kmsKey)
        // An empty key would reach CreateRepository as `"kmsKey": ""`, which AWS refuses only
        // after the run has started (or a stand-in takes as the default key): say it now.
        if let kmsKey, kmsKey.trimmingCharacters(in: .whitespaces).isEmpty || kmsKey.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw ValidationError("--kms-key needs a KMS key ARN, key ID or alias (got '\(String(kmsKey.unicodeScalars.prefix(40).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) }))'); leave it out for AES-256")
        }
    }

    /// What `--create-repository` asks for; `nil` without it.
    func creation() throws -> RepositoryCreation? {
        createRepository ? RepositoryCreation(tagMutability: try tagMutability.rule(), kmsKey: kmsKey) : nil
    }
}
