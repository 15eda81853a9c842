import OCI

/// Failures of the spec-driven commands that are not a spec's or a transport's.
public enum ProjectError: Error, Equatable, CustomStringConvertible {
    case buildDiffersFromPlan(image: String, built: Digest, planned: Digest)
    case notPushed(image: String, reference: String)
    case mismatch(image: String, differences: [String])

    public var description: String {
        switch self {
        case .buildDiffersFromPlan(let image, let built, let planned):
            return "\(image): the build gave \(built) but the plan says \(planned)"
        case .notPushed(let image, let reference):
            return "\(image): \(reference) is not there (not built yet?)"
        case .mismatch(let image, let differences):
            return "\(image): the target differs from the spec and lock:\n" + differences.map { "  \($0)" }.joined(separator: "\n")
        }
    }
}
