import OCI

/// An image archive: one tar file that kiln writes (it never reads one) for a developer to load
/// and run locally before pushing.
///
/// - `docker-archive:FILE[:NAME:TAG]`: what `docker load` and `podman load` read (`manifest.json`,
///   `repositories`, blobs); `NAME:TAG` becomes the image's name there. `FILE` has no `:`, as in
///   skopeo's syntax: the first `:` starts `NAME:TAG` (`NAME` may have a port).
/// - `oci-archive:FILE[:TAG]`: an OCI image layout in a tar; `TAG` is the
///   `org.opencontainers.image.ref.name` of its `index.json` entry. A `:` splits off a tag only
///   when what follows is a valid tag, as with `oci:DIR[:TAG]`.
public struct ArchiveReference: Equatable, Sendable, CustomStringConvertible {
    public enum Format: String, Sendable, CaseIterable {
        case docker = "docker-archive"
        case oci = "oci-archive"

        /// The transport prefix, `docker-archive:` or `oci-archive:`.
        public var prefix: String { rawValue + ":" }
    }

    public var format: Format
    /// The archive file.
    public var path: String
    /// docker-archive only: the repository name the image is loaded under (`app`,
    /// `localhost:5000/team/app`), as written; `nil` leaves the image unnamed.
    public var name: String?
    /// docker-archive: the tag of `name`; oci-archive: the `index.json` entry's ref name.
    public var tag: String?

    public init(format: Format, path: String, name: String? = nil, tag: String? = nil) {
        self.format = format
        self.path = path
        self.name = name
        self.tag = tag
    }

    /// Parses `docker-archive:…` or `oci-archive:…`.
    /// - Throws: ``StoreError/invalidReference(_:reason:)`` naming the text and the rule broken.
    public init(parsing text: String) throws {
        guard let format = Format.allCases.first(where: { text.hasPrefix($0.prefix) }) else {
            throw StoreError.invalidReference(text, reason: "not an archive (docker-archive:FILE[:NAME:TAG] or oci-archive:FILE[:TAG])")
        }
        let rest = String(text.dropFirst(format.prefix.count))
        func fail(_ reason: String) -> StoreError { .invalidReference(text, reason: reason) }
        switch format {
        case .docker:
            guard let colon = rest.firstIndex(of: ":") else {
                guard !rest.isEmpty else { throw fail("the archive file name is empty") }
                self.init(format: .docker, path: rest)
                return
            }
            let path = String(rest[..<colon])
            guard !path.isEmpty else { throw fail("the archive file name is empty") }
            let (name, tag) = try Self.nameAndTag(String(rest[rest.index(after: colon)...]), fail: fail)
            self.init(format: .docker, path: path, name: name, tag: tag)
        case .oci:
            var path = rest
            var tag: String?
            if let colon = rest.lastIndex(of: ":") {
                let candidate = String(rest[rest.index(after: colon)...])
                if LayoutReference.isValidTag(candidate) {
                    tag = candidate
                    path = String(rest[..<colon])
                } else if !candidate.contains("/") {
                    throw fail("'\(candidate)' is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})")
                }
            }
            guard !path.isEmpty else { throw fail("the archive file name is empty") }
            self.init(format: .oci, path: path, tag: tag)
        }
    }

    /// Splits docker-archive's `NAME:TAG`: a repository name as registries have them, and a tag.
    private static func nameAndTag(_ text: String, fail: (String) -> StoreError) throws -> (String, String) {
        let shape = "'\(text)' is not NAME:TAG (a repository name and a tag, e.g. app:dev; the file name may not contain ':')"
        guard let colon = text.lastIndex(of: ":"), !text[colon...].contains("/"), !text.contains("@"), !text.contains("://") else {
            throw fail(shape)
        }
        let name = String(text[..<colon])
        let tag = String(text[text.index(after: colon)...])
        guard LayoutReference.isValidTag(tag) else { throw fail("'\(tag)' is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})") }
        // A name with a tag of its own (`a:b` of `a:b:c`) is a file name with a ':'.
        if let nameColon = name.lastIndex(of: ":"), !name[nameColon...].contains("/") { throw fail(shape) }
        do { _ = try RegistryReference(parsing: name) } catch let error as StoreError {
            guard case .invalidReference(_, let reason) = error else { throw error }
            throw fail("'\(name)' is not a repository name: \(reason)")
        }
        return (name, tag)
    }

    /// docker-archive's `NAME:TAG` texts for the reference's tag and `additionalTags`.
    public func repoTags(additionalTags: [String] = []) -> [String] {
        guard let name else { return [] }
        return ([tag].compactMap { $0 } + additionalTags).map { "\(name):\($0)" }
    }

    public var description: String {
        var text = format.prefix + path
        switch format {
        case .docker: if let name, let tag { text += ":\(name):\(tag)" }
        case .oci: if let tag { text += ":\(tag)" }
        }
        return text
    }
}
