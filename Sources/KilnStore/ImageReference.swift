import OCI

/// Where an image lives: an OCI image layout on disk or a registry; or, as an output only, an
/// image archive file.
public enum ImageReference: Equatable, Sendable, CustomStringConvertible {
    case layout(LayoutReference)
    case registry(RegistryReference)
    /// `docker-archive:FILE[:NAME:TAG]` or `oci-archive:FILE[:TAG]`: written, never read.
    case archive(ArchiveReference)

    /// Parses `oci:DIR[:TAG|@DIGEST]`, `docker://HOST/REPO[:TAG|@DIGEST]`, a bare registry
    /// reference (`kong:2.6.0-alpine`, `ghcr.io/org/app@sha256:…`), `docker-archive:FILE[:NAME:TAG]`
    /// or `oci-archive:FILE[:TAG]`.
    /// - Throws: ``StoreError/invalidReference(_:reason:)`` naming the text.
    public init(parsing text: String) throws {
        if text.hasPrefix("oci:") {
            self = .layout(try LayoutReference(parsing: text))
        } else if ArchiveReference.Format.allCases.contains(where: { text.hasPrefix($0.prefix) }) {
            self = .archive(try ArchiveReference(parsing: text))
        } else if let scheme = text.range(of: "://"), !text.hasPrefix("docker://") {
            throw StoreError.invalidReference(text, reason: "unknown transport '\(text[..<scheme.lowerBound])'; \(Self.knownForms)")
        } else if !text.hasPrefix("docker://"), let transport = Self.unknownTransport(in: text) {
            throw StoreError.invalidReference(text, reason: "unknown transport '\(transport):'; \(Self.knownForms)")
        } else {
            self = .registry(try RegistryReference(parsing: text))
        }
    }

    static let knownForms = "use oci:DIR[:TAG], docker://HOST/REPO[:TAG], HOST/REPO[:TAG], or for outputs docker-archive:FILE[:NAME:TAG] or oci-archive:FILE[:TAG]"

    /// `WORD:` followed by nothing or by a path (`dockerd:/x`, `foo:`, `docker-daemon:app`)
    /// names a transport kiln does not have; `kong:2.6`, `localhost:5000/app` are registry names.
    static func unknownTransport(in text: String) -> Substring? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let prefix = text[..<colon]
        let rest = text[text.index(after: colon)...]
        guard let first = prefix.first, first.isLetter, first.isASCII, !prefix.contains("/"), !prefix.contains(".") else { return nil }
        // skopeo's and podman's transport names, which a user may well try.
        if ["docker-daemon", "containers-storage", "dir", "ostree", "sif"].contains(prefix) { return prefix }
        if rest.isEmpty || rest.hasPrefix("/") || rest.hasPrefix(".") || rest.hasPrefix("~") { return prefix }
        // A port: digits up to the next "/".
        let portPart = rest.prefix(while: { $0 != "/" })
        if portPart.count < rest.count, portPart.allSatisfy({ $0.isASCII && $0.isNumber }) { return nil }
        // A tag (`name:tag`) is a registry reference; anything else with a '/' after the colon
        // or a '.'-free word before it is a transport name.
        if !rest.contains("/"), LayoutReference.isValidTag(String(rest.split(separator: "@").first ?? "")) { return nil }
        return prefix
    }

    public var description: String {
        switch self {
        case .layout(let layout): return layout.description
        case .registry(let registry): return registry.description
        case .archive(let archive): return archive.description
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
