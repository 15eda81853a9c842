import OCI

/// Failures of the spec-driven commands that are not a spec's or a transport's.
package enum ProjectError: Error, Equatable, CustomStringConvertible {
    /// The bake gave another digest than the plan: it would mean the registry served other
    /// bytes for the locked base than the lock holds, which digest checks rule out.
    case buildDiffersFromPlan(image: String, built: Digest, planned: Digest)

    package var description: String {
        switch self {
        case .buildDiffersFromPlan(let image, let built, let planned):
            return "\(image): the build gave \(built) but the plan says \(planned)"
        }
    }
}
