import ArgumentParser
import KilnLayer
import KilnRegistry

/// Flag values with a fixed set of choices: ArgumentParser lists them in `--help` and in
/// completions, and refuses anything else in one line.
extension LayerCompression: ExpressibleByArgument {}

/// `--tag-mutability` of repositories `--create-repository` makes (ECR's four settings).
extension TagMutability.Setting: ExpressibleByArgument {}

extension TagMutability {
    /// `--tag-mutability` with its `--tag-mutability-exclusion` filters, checked as ECR checks
    /// them: the `_WITH_EXCLUSION` settings need 1 to 5 filters of 1-128 `[0-9a-zA-Z._*-]`,
    /// the others take none.
    init(setting: Setting, exclusions: [String]) throws {
        if setting.takesExclusions {
            guard (1...Self.maximumExclusions).contains(exclusions.count) else {
                throw ValidationError("--tag-mutability \(setting.rawValue) needs 1 to \(Self.maximumExclusions) --tag-mutability-exclusion filters (got \(exclusions.count))")
            }
        } else if !exclusions.isEmpty {
            throw ValidationError("--tag-mutability-exclusion needs --tag-mutability MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION")
        }
        for filter in exclusions where !Self.isValidExclusion(filter) {
            throw ValidationError("--tag-mutability-exclusion '\(filter.prefix(64))': a filter is 1 to 128 of the characters 0-9 a-z A-Z . _ - and * (any run)")
        }
        self.init(setting, exclusions: exclusions)
    }
}
