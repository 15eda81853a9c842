import ArgumentParser
import KilnRegistry

/// `--tag-mutability` and `--tag-mutability-exclusion` for the repositories `--create-repository`
/// makes: one group for bake, build and copy, checked as ECR checks them before anything runs.
struct TagMutabilityFlags: ParsableArguments {
    @Option(help: "Tag mutability of a repository --create-repository creates.")
    var tagMutability: TagMutability.Setting = .mutable

    @Option(help: ArgumentHelp("With a _WITH_EXCLUSION --tag-mutability: a tag filter (* matches any run) whose tags follow the opposite rule; repeatable, 1 to 5.", valueName: "FILTER"))
    var tagMutabilityExclusion: [String] = []

    func validate() throws { _ = try rule() }

    /// The rule the two flags ask for.
    func rule() throws -> TagMutability { try TagMutability(setting: tagMutability, exclusions: tagMutabilityExclusion) }
}
