import ArgumentParser
import KilnLayer

/// Flag values with a fixed set of choices: ArgumentParser lists them in `--help` and in
/// completions, and refuses anything else in one line.
extension LayerCompression: ExpressibleByArgument {}

/// `--tag-mutability` of repositories `--create-repository` makes (ECR's two settings).
enum TagMutability: String, CaseIterable, ExpressibleByArgument {
    case mutable = "MUTABLE"
    case immutable = "IMMUTABLE"
}
