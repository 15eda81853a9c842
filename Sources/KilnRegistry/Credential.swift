import Foundation

/// A user name and secret for one registry, with where they came from (for error messages).
/// The secret never appears in `description`.
public struct Credential: Sendable, Equatable, CustomStringConvertible {
    public var username: String
    public var secret: String
    /// Where kiln found them, e.g. "~/.docker/config.json" or "docker-credential-ecr-login".
    public var source: String

    public init(username: String, secret: String, source: String) {
        self.username = username
        self.secret = secret
        self.source = source
    }

    /// HTTP Basic authentication's token, `base64(user:secret)`: the `Authorization: Basic`
    /// header's value and the `auth` entry of Docker's config files. The one place it is made.
    public var basicToken: String {
        Data("\(username):\(secret)".utf8).base64EncodedString()
    }

    /// `Basic base64(user:secret)`.
    var basicAuthorization: String { "Basic " + basicToken }

    /// The credential a ``basicToken`` encodes (split at the first `:`, as Basic authentication
    /// does); nil when it is not base64 of UTF-8 `user:secret`.
    public init?(basicToken: String, source: String) {
        guard let decoded = Data(base64Encoded: basicToken).flatMap({ String(data: $0, encoding: .utf8) }),
              let colon = decoded.firstIndex(of: ":") else { return nil }
        self.init(username: String(decoded[..<colon]), secret: String(decoded[decoded.index(after: colon)...]), source: source)
    }

    public var description: String { "credentials from \(source)" }
}

/// Finds credentials for a registry host.
public protocol CredentialProvider: Sendable {
    /// Credentials for `registry` (as written in references: `docker.io`, `localhost:5000`).
    func credential(for registry: String) async throws -> Credential?
    /// The places looked in, for the "none found" error.
    var searchedLocations: [String] { get }
}
