/// An image platform such as `linux/amd64` or `linux/arm64/v8`.
public struct Platform: Hashable, Sendable, Codable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Parses `os/arch[/variant]`.
    /// - Throws: ``OCIError/invalidPlatform(_:)`` for any other shape.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let wellFormed = (2...3).contains(parts.count) && parts.allSatisfy { part in
            !part.isEmpty && part.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) }
        }
        guard wellFormed else { throw OCIError.invalidPlatform(text) }
        self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }

    public var description: String {
        variant.map { "\(os)/\(architecture)/\($0)" } ?? "\(os)/\(architecture)"
    }

    /// Whether an image of platform `candidate` satisfies a request for `self`.
    ///
    /// A request without a variant matches any variant; `arm64` with no variant and `arm64/v8` are
    /// treated as the same, as container runtimes do.
    public func matches(_ candidate: Platform) -> Bool {
        guard os == candidate.os, architecture == candidate.architecture else { return false }
        guard let wanted = variant else { return true }
        let actual = candidate.variant ?? (candidate.architecture == "arm64" ? "v8" : nil)
        return wanted == actual
    }

    private enum CodingKeys: String, CodingKey {
        case os
        case architecture
        case variant
    }
}
