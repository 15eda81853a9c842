import OCI

/// Where an image lives: an OCI image layout on disk or a registry.
public enum ImageReference: Equatable, Sendable, CustomStringConvertible {
    case layout(LayoutReference)
    case registry(RegistryReference)

    /// Parses `oci:DIR[:TAG|@DIGEST]`, `docker://HOST/REPO[:TAG|@DIGEST]` or a bare registry
    /// reference (`kong:2.6.0-alpine`, `ghcr.io/org/app@sha256:…`).
    /// - Throws: ``StoreError/invalidReference(_:reason:)`` naming the text.
    public init(parsing text: String) throws {
        if text.hasPrefix("oci:") {
            self = .layout(try LayoutReference(parsing: text))
        } else if let scheme = text.range(of: "://"), !text.hasPrefix("docker://") {
            throw StoreError.invalidReference(text, reason: "unknown transport '\(text[..<scheme.lowerBound])'; use oci:DIR[:TAG] or docker://HOST/REPO[:TAG]")
        } else {
            self = .registry(try RegistryReference(parsing: text))
        }
    }

    public var description: String {
        switch self {
        case .layout(let layout): return layout.description
        case .registry(let registry): return registry.description
        }
    }
}

/// An image in an OCI image layout: `oci:DIR`, `oci:DIR:TAG` or `oci:DIR@sha256:…`.
public struct LayoutReference: Equatable, Sendable, CustomStringConvertible {
    public var directory: String
    public var tag: String?
    public var digest: Digest?

    public init(directory: String, tag: String? = nil, digest: Digest? = nil) {
        self.directory = directory
        self.tag = tag
        self.digest = digest
    }

    /// Parses the text after `oci:`. A `:` splits off a tag only when what follows is a valid tag,
    /// so directories with colons in their names still work.
    public init(parsing text: String) throws {
        var rest = String(text.dropFirst("oci:".count))
        var digest: Digest?
        if let at = rest.lastIndex(of: "@") {
            let digestText = String(rest[rest.index(after: at)...])
            do { digest = try Digest(parsing: digestText) } catch {
                throw StoreError.invalidReference(text, reason: "'\(digestText)' is not a valid sha256 digest")
            }
            rest = String(rest[..<at])
        }
        var tag: String?
        if digest == nil, let colon = rest.lastIndex(of: ":") {
            let candidate = String(rest[rest.index(after: colon)...])
            if LayoutReference.isValidTag(candidate) {
                tag = candidate
                rest = String(rest[..<colon])
            } else if !candidate.contains("/") {
                throw StoreError.invalidReference(text, reason: "'\(candidate)' is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})")
            }
        }
        guard !rest.isEmpty else { throw StoreError.invalidReference(text, reason: "the layout directory is empty") }
        self.init(directory: rest, tag: tag, digest: digest)
    }

    /// The tag grammar of the OCI distribution spec.
    public static func isValidTag(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 128 else { return false }
        func word(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95 }
        return word(first) && bytes.dropFirst().allSatisfy { word($0) || $0 == 46 || $0 == 45 }
    }

    public var description: String {
        if let digest { return "oci:\(directory)@\(digest)" }
        if let tag { return "oci:\(directory):\(tag)" }
        return "oci:\(directory)"
    }
}
