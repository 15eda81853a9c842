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

    /// `Basic base64(user:secret)`.
    var basicAuthorization: String {
        "Basic " + Data("\(username):\(secret)".utf8).base64EncodedString()
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
