import OCI

/// Problems with a bake request as a whole. Each names the culprit in one line.
public enum BakeError: Error, Equatable, CustomStringConvertible {
    case unsupportedCompression(String)
    case malformedConfig(what: String, reason: String)
    case invalidSourceDateEpoch(String)
    case createRepositoryNeedsECR(String)
    case differsFromExpected(built: Digest, expected: Digest)
    case treeNotLocked(Digest)
    case oneImageNeeded(output: String, available: [String])

    public var description: String {
        switch self {
        case .unsupportedCompression(let message):
            return message
        case .malformedConfig(let what, let reason):
            return "\(what) is malformed: \(reason)"
        case .differsFromExpected(let built, let expected):
            return "the bake gave \(built) but the plan says \(expected); nothing was tagged (does kiln.lock's pinned reference match its digest? run kiln lock --check)"
        case .createRepositoryNeedsECR(let output):
            return "--create-repository needs an ECR output logged into with AWS credentials (not --username); \(output) is not one"
        case .treeNotLocked(let manifest):
            return "the lock has no skeleton (directories and symlinks) of base manifest \(manifest); run kiln lock"
        case .oneImageNeeded(let output, let available):
            return "\(output) holds one image, and there are \(available.count) platforms (\(available.joined(separator: ", "))): choose one with --platform"
        case .invalidSourceDateEpoch(let text):
            return "SOURCE_DATE_EPOCH '\(text)' must be a non-negative whole number of seconds"
        }
    }
}
