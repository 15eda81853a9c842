import Foundation

/// `Tests/Fixtures/token_issuer.py` on 127.0.0.1: signs the JWTs a distribution registry with
/// `auth: token` checks itself (pull on public/* for anyone, pull and push for `user`), and
/// logs every token request. Stopped when released.
public final class TokenIssuer: @unchecked Sendable {
    public let port: Int
    public let directory: TemporaryDirectory
    public let user: (name: String, password: String)
    public let service = "kiln-test-registry"
    public let issuer = "kiln-test-issuer"
    private let process: Process

    /// One logged token request.
    public struct Request: Decodable, Sendable {
        public struct Access: Decodable, Sendable {
            public var type: String
            public var name: String
            public var actions: [String]
        }
        /// Path and query as received, e.g. `/token?service=…&scope=…`.
        public var path: String
        /// Whether the request carried an Authorization header.
        public var authorization: Bool
        public var scopes: [String]
        public var granted: [Access]
        public var status: Int
    }

    public init(user: (String, String) = ("ci", "token-s3cret")) throws {
        directory = try TemporaryDirectory("kiln-token-issuer")
        self.user = user
        _ = FileManager.default.createFile(atPath: directory("requests.log"), contents: nil)
        (process, port) = try startPythonFixture("token_issuer.py", ["--service", service, "--issuer", issuer, "--user", "\(user.0):\(user.1)",
                                                                   "--cert-out", directory("issuer.crt"), "--log", directory("requests.log")],
                                                  what: "the token issuer (pyjwt and cryptography installed?)")
    }

    /// The realm the registry names: plain HTTP on loopback.
    public var realm: String { "http://127.0.0.1:\(port)/token" }

    /// The certificate whose key signs the tokens (the registry's `rootcertbundle`).
    public var certificateFile: String { directory("issuer.crt") }

    /// Every token request so far, oldest first.
    public func requests() throws -> [Request] {
        let text = try String(contentsOfFile: directory("requests.log"), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    deinit {
        // SIGKILL: a child may have inherited a mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
