/// AWS failures a CI user can act on. Never carries a secret.
package enum AWSError: Error, Equatable, CustomStringConvertible {
    case noCredentials(lookedIn: [String])
    case credentialProcess(profile: String, reason: String)
    case invalidProfile(profile: String, reason: String)
    case api(action: String, code: String, message: String)
    case accessDenied(action: String, message: String)
    case expiredToken(action: String)
    case rejectedCredentials(action: String, source: String, reason: String)
    case wrongRegion(action: String, message: String)
    case containerCredentials(endpoint: String, reason: String)
    case noRegion(host: String)
    case unreachable(endpoint: String, reason: String)
    case repositoryMissing(repository: String, account: String, region: String)
    /// kiln's config maps registries to AWS profiles in a way that cannot be followed.
    case profileMapping(String)
    /// Credentials whose key ID or session token cannot be sent (never shown).
    case unusableCredentials(source: String)

    package var description: String {
        switch self {
        case .noCredentials(let lookedIn):
            return "no AWS credentials found (looked in: \(lookedIn.joined(separator: "; ")))"
        case .credentialProcess(let profile, let reason):
            return "credential_process of AWS profile '\(profile)' failed: \(reason)"
        case .invalidProfile(let profile, let reason):
            return "AWS profile '\(profile)': \(reason)"
        case .api(let action, let code, let message):
            return "AWS \(action) failed: \(code)\(message.isEmpty ? "" : ": \(message)")"
        case .accessDenied(let action, let message):
            return "AWS denied \(action)\(message.isEmpty ? "" : ": \(message)") (check the IAM policy of these credentials)"
        case .expiredToken(let action):
            return "AWS \(action) failed: the credentials' session token has expired; refresh them"
        case .rejectedCredentials(let action, let source, let reason):
            return "AWS rejected the credentials from \(source) for \(action): \(reason)"
        case .wrongRegion(let action, let message):
            return "AWS \(action) was sent to the wrong region: \(message) (check the region in the ECR host name and AWS_ENDPOINT_URL_ECR)"
        case .containerCredentials(let endpoint, let reason):
            return "ECS container credentials from \(endpoint) failed: \(reason)"
        case .noRegion(let host):
            return "no AWS region for \(host): set AWS_REGION"
        case .unreachable(let endpoint, let reason):
            return "cannot reach \(endpoint): \(reason)"
        case .profileMapping(let reason):
            return reason
        case .unusableCredentials(let source):
            return "the AWS credentials from \(source) have an access key ID or session token that is empty or holds a blank, control or non-ASCII character (not shown); check what produced them"
        case .repositoryMissing(let repository, let account, let region):
            return "ECR repository \(repository) does not exist in registry \(account) in region \(region) (check the account and region in the host name); create it or pass --create-repository"
        }
    }
}
