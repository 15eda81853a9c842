import ArgumentParser
import KilnRegistry

/// `--tag-mutability` and `--tag-mutability-exclusion` for the repositories `--create-repository`
/// makes: one group for bake, build and copy, checked as ECR checks them before anything runs.
struct TagMutabilityFlags: ParsableArguments {
    @Option(help: "Tag mutability of a repository --create-repository creates (default: MUTABLE).")
    var tagMutability: TagMutability.Setting?

    @Option(help: ArgumentHelp("With a _WITH_EXCLUSION --tag-mutability: a tag filter (* matches any run) whose tags follow the opposite rule; repeatable, 1 to 5.", valueName: "FILTER"))
    var tagMutabilityExclusion: [String] = []

    func validate() throws { _ = try rule() }

    /// The rule the two flags ask for.
    func rule() throws -> TagMutability { try TagMutability(setting: tagMutability ?? .mutable, exclusions: tagMutabilityExclusion) }

    /// These flags (and `--kms-key`) only shape a repository `--create-repository` creates:
    /// without it they would be ignored, and a repository the user believes immutable or
    /// KMS-encrypted would be pushed to as it is.
    func checkGoesWithCreation(_ createRepository: Bool, kmsKey: String? = nil) throws {
        guard !createRepository else { return }
        let given = [tagMutability != nil ? "--tag-mutability" : nil, tagMutabilityExclusion.isEmpty ? nil : "--tag-mutability-exclusion",
                     kmsKey != nil ? "--kms-key" : nil].compactMap { $0 }
        guard given.isEmpty else { throw ValidationError("\(given.joined(separator: ", ")) only go\(given.count == 1 ? "es" : "") with --create-repository") }
    }
}
