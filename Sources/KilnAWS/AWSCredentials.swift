/// AWS credentials. The secret and the session token never appear in `description`.
package struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    package var accessKeyID: String
    package var secretAccessKey: String
    package var sessionToken: String?
    /// Where the chain found them ("environment", "profile 'ci'", …), for error messages that a
    /// CI user can act on. Not part of equality: the same keys are the same credentials.
    package var source: String

    package init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, source: String = "given") {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.source = source
    }

    package static func == (lhs: AWSCredentials, rhs: AWSCredentials) -> Bool {
        lhs.accessKeyID == rhs.accessKeyID && lhs.secretAccessKey == rhs.secretAccessKey && lhs.sessionToken == rhs.sessionToken
    }

    package var description: String { "AWS credentials for access key \(accessKeyID) from \(source)" }
}
