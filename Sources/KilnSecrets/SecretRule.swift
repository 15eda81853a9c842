/// What kind of secret a finding is: kiln's own rules (docs/secrets.md lists them).
///
/// The raw value names the rule in a finding's fingerprint: it must never change once released.
public enum SecretRule: String, Sendable, CaseIterable {
    /// `-----BEGIN … PRIVATE KEY-----` (PEM, PKCS#1/#8, EC, DSA, OpenSSH, PGP, SSH2).
    case privateKey = "private-key"
    /// A PuTTY `.ppk` file (`PuTTY-User-Key-File-N`).
    case puttyKey = "putty-key"
    /// A PKCS#12 or Java (JKS, JCEKS) key store, recognised by its first bytes.
    case keyStore = "key-store"
    /// An AWS access key id (`AKIA…`, `ASIA…`) with a secret access key within a few lines.
    case awsAccessKey = "aws-access-key"
    case githubToken = "github-token"
    case gitlabToken = "gitlab-token"
    case slackToken = "slack-token"
    case slackWebhook = "slack-webhook"
    case stripeKey = "stripe-key"
    case googleAPIKey = "google-api-key"
    case googleClientSecret = "google-client-secret"
    case npmToken = "npm-token"
    case pypiToken = "pypi-token"
    case jwt = "jwt"
    /// `scheme://user:password@host`.
    case urlPassword = "url-password"
    /// The value of a key whose name says it is secret (`password`, `client_secret`, …).
    case namedValue = "named-value"
}

/// One secret found in a file or a config value. Holds the SHA-256 of the secret, never the
/// secret itself.
public struct SecretFinding: Sendable, Equatable {
    /// 1-based line of the input where the secret starts (0 for a file-wide finding).
    public var line: Int
    public var rule: SecretRule
    /// What was found, in words, without the secret: `a password (key "pg_password")`.
    public var what: String
    /// SHA-256 of the secret's bytes.
    public var secretDigest: [UInt8]
    /// Whether the line carries an inline `kiln:allow-secret` comment.
    public var allowedInline: Bool

    public init(line: Int, rule: SecretRule, what: String, secretDigest: [UInt8], allowedInline: Bool = false) {
        self.line = line
        self.rule = rule
        self.what = what
        self.secretDigest = secretDigest
        self.allowedInline = allowedInline
    }
}
