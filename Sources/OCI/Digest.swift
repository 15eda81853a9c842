import KilnCrypto

/// A content digest such as `sha256:3b1f…`, validated on creation.
///
/// Only `sha256` is accepted: it is the one algorithm every registry and runtime supports, and
/// accepting a name kiln cannot verify would break the rule that every byte read is checked.
public struct Digest: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The algorithm name, always `sha256`.
    public let algorithm: String
    /// The 64 lower-case hex characters of the hash.
    public let hex: String

    /// Parses `sha256:<64 lower-case hex>`.
    /// - Throws: ``OCIError/invalidDigest(_:)`` for anything else.
    public init(parsing text: String) throws {
        guard let colon = text.firstIndex(of: ":") else { throw OCIError.invalidDigest(text) }
        let algorithm = String(text[..<colon])
        let hex = String(text[text.index(after: colon)...])
        guard algorithm == "sha256" else { throw OCIError.invalidDigest(text) }
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw OCIError.invalidDigest(text)
        }
        self.algorithm = algorithm
        self.hex = hex
    }

    /// The digest of a SHA-256 hash result.
    public init(sha256 hash: [UInt8]) {
        precondition(hash.count == 32, "a SHA-256 hash has 32 bytes")
        self.algorithm = "sha256"
        self.hex = hash.hexString
    }

    /// The SHA-256 digest of `bytes`.
    public static func of<Bytes: Sequence>(_ bytes: Bytes) -> Digest where Bytes.Element == UInt8 {
        Digest(sha256: SHA256.hash(bytes))
    }

    public var description: String { "\(algorithm):\(hex)" }

    /// The path of the blob inside an OCI layout: `blobs/sha256/<hex>`.
    public var layoutPath: String { "blobs/\(algorithm)/\(hex)" }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
