import OCI

/// Problems with a bake request as a whole. Each names the culprit in one line.
public enum BakeError: Error, Equatable, CustomStringConvertible {
    case invalidKeyValue(flag: String, text: String)
    case invalidJSONArray(flag: String, text: String)
    case noMatchingPlatform(requested: String, available: [String])
    case platformMismatch(requested: String, actual: String)
    case unsupportedCompression(String)
    case malformedConfig(what: String, reason: String)
    case invalidSourceDateEpoch(String)
    case createRepositoryNeedsECR(String)
    case differsFromExpected(built: Digest, expected: Digest)
    case treeNotLocked(Digest)
    case oneImageNeeded(output: String, available: [String])
    case noImageForPlatform(what: String, requested: String, available: [String])
    case platformAmbiguous(what: String, requested: String, matching: [String])

    public var description: String {
        switch self {
        case .invalidKeyValue(let flag, let text):
            return "\(flag) '\(text)' must have the form KEY=VALUE with a non-empty KEY"
        case .invalidJSONArray(let flag, let text):
            return "\(flag) '\(text)' must be a JSON array of strings, e.g. [\"kong\",\"docker-start\"]"
        case .noMatchingPlatform(let requested, let available):
            return "the base has no image for platform \(requested) (it has: \(available.isEmpty ? "none" : available.joined(separator: ", ")))"
        case .platformMismatch(let requested, let actual):
            return "the base is a single \(actual) image; it has no \(requested) image"
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
        case .noImageForPlatform(let what, let requested, let available):
            return "\(what): no image for platform \(requested) (there are: \(available.isEmpty ? "none" : available.joined(separator: ", ")))"
        case .platformAmbiguous(let what, let requested, let matching):
            return "\(what): \(matching.count) images for platform \(requested) (\(matching.joined(separator: ", "))): name the variant"
        case .invalidSourceDateEpoch(let text):
            return "SOURCE_DATE_EPOCH '\(text)' must be a non-negative whole number of seconds"
        }
    }
}
