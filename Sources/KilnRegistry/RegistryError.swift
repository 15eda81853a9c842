/// Registry failures a CI user can act on. Never carries a secret.
public enum RegistryError: Error, Equatable, CustomStringConvertible {
    case unreachable(host: String, reason: String)
    case notARegistry(host: String, status: Int)
    case authenticationRequired(host: String, repository: String, lookedIn: [String])
    case credentialsRejected(host: String, source: String)
    case denied(host: String, repository: String, action: String, message: String)
    case repositoryNotFound(host: String, repository: String)
    case manifestNotFound(reference: String)
    case blobNotFound(host: String, repository: String, digest: String)
    case unexpectedStatus(host: String, action: String, status: Int, message: String)
    case digestMismatch(reference: String, expected: String, actual: String)
    case manifestTooLarge(reference: String)
    case invalidResponse(host: String, reason: String)
    case insecureRefused(host: String)
    case credentialHelper(helper: String, reason: String)
    case invalidConfig(path: String, reason: String)
    case retriesExhausted(host: String, action: String, attempts: Int, last: String)
    /// A body that kept failing (cut off, timed out, stalled), named: which blob or document.
    case transferFailed(host: String, what: String, attempts: Int, last: String)
    case immutableTag(reference: String, current: String, new: String, reason: String)
    /// A URL the registry named (token realm, redirect, upload location) that kiln will not
    /// send a request to; `role` names which, `url` is shown without user info.
    case refusedURL(host: String, role: String, url: String, reason: String)

    /// Without any URL's user info: an endpoint may carry a password, and messages are printed.
    public var description: String { message.redactingUserinfo }

    private var message: String {
        switch self {
        case .unreachable(let host, let reason):
            return "cannot reach registry \(host): \(reason)"
        case .notARegistry(let host, let status):
            return "\(host) does not answer the registry API (GET /v2/ gave HTTP \(status))"
        case .authenticationRequired(let host, let repository, let lookedIn):
            return "registry \(host) requires credentials for \(repository); none found (looked in: \(lookedIn.joined(separator: ", ")))"
        case .credentialsRejected(let host, let source):
            return "registry \(host) rejected the credentials from \(source)"
        case .denied(let host, let repository, let action, let message):
            return "registry \(host) denied \(action) on \(repository)\(message.isEmpty ? "" : ": \(message)")"
        case .repositoryNotFound(let host, let repository):
            return "repository \(repository) does not exist on \(host)"
        case .manifestNotFound(let reference):
            return "\(reference) not found"
        case .blobNotFound(let host, let repository, let digest):
            return "blob \(digest) not found in \(host)/\(repository)"
        case .unexpectedStatus(let host, let action, let status, let message):
            return "registry \(host) answered HTTP \(status) to \(action)\(message.isEmpty ? "" : ": \(message)")"
        case .digestMismatch(let reference, let expected, let actual):
            return "\(reference): content hashes to \(actual), but the registry announced \(expected)"
        case .manifestTooLarge(let reference):
            return "\(reference): manifest larger than 4 MiB refused"
        case .invalidResponse(let host, let reason):
            return "registry \(host) sent an invalid response: \(reason)"
        case .insecureRefused(let host):
            return "registry \(host) does not speak HTTPS; pass --insecure \(host) to allow plain HTTP"
        case .credentialHelper(let helper, let reason):
            return "credential helper docker-credential-\(helper) failed: \(reason)"
        case .invalidConfig(let path, let reason):
            return "\(path): \(reason)"
        case .immutableTag(let reference, let current, let new, let reason):
            return "\(reference) already holds \(current) and \(reason); not replacing it with \(new) (use a new tag)"
        case .refusedURL(let host, let role, let url, let reason):
            return "registry \(host): refused \(role) \(Self.printable(url)): \(reason)"
        case .transferFailed(let host, let what, let attempts, let last):
            return "registry \(host): \(what) failed\(attempts > 1 ? " after \(attempts) attempts" : "") (last: \(last))"
        case .retriesExhausted(let host, let action, let attempts, let last):
            return "registry \(host): \(action) failed after \(attempts) attempts (last: \(last))"
        }
    }

    /// A URL from the wire as one short line: control characters dropped, at most 200 characters.
    static func printable(_ url: String) -> String {
        let visible = String(String.UnicodeScalarView(url.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }))
        return visible.count > 200 ? String(visible.prefix(200)) + "…" : visible
    }
}
