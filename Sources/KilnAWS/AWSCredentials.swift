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

    /// Refuses credentials that cannot go into a request's headers: an access key ID or session
    /// token with a blank, control or non-ASCII character (a `credential_process` printing
    /// `"AKID\r\nX-Header: …"`), which the HTTP client would refuse, quoting it. Neither is shown.
    package func checkSendable() throws(AWSError) {
        let visible = { (text: String) in !text.isEmpty && text.utf8.allSatisfy { (0x21...0x7E).contains($0) } }
        guard visible(accessKeyID), sessionToken.map(visible) ?? true else {
            throw .unusableCredentials(source: source)
        }
    }
}
