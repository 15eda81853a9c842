import OCI

/// Pinning a reference to a digest. Two rules, because they answer two questions:
/// - ``ImageReference/pinnedReference(_:)``: where to read or print an image by its digest
///   alone (`registry/repo@sha256:…`, `oci:DIR@sha256:…`): a bake's and a copy's result, a
///   target read back by `verify`.
/// - ``ImageReference/pinnedKeepingTag(_:)``: a base pinned the way `kiln.lock` records it
///   (`registry/repo:tag@sha256:…`): the tag stays, as the `base.name` annotation names it.
/// A layout reference loses its tag in both: a layout is read by digest alone.
extension ImageReference {
    /// The same repository or layout, by digest alone (a registry tag is dropped). An archive
    /// has no such form (and is never read): it stays as it is.
    public func pinnedReference(_ digest: Digest) -> ImageReference {
        switch self {
        case .layout(let layout): return .layout(LayoutReference(directory: layout.directory, digest: digest))
        case .registry(let registry): return .registry(registry.with(digest: digest))
        case .archive: return self
        }
    }

    /// ``pinnedReference(_:)`` as text; an archive as written, followed by `@` and the digest
    /// the image has in a registry or layout.
    public func pinned(_ digest: Digest) -> String {
        if case .archive(let archive) = self { return "\(archive)@\(digest)" }
        return pinnedReference(digest).description
    }

    /// A base pinned to `digest` keeping its registry tag: what `kiln.lock` records as
    /// `pinned`.
    /// - Throws: ``StoreError/archiveIsOutputOnly(_:)`` for an archive: it is never a base.
    public func pinnedKeepingTag(_ digest: Digest) throws -> ImageReference {
        switch self {
        case .layout: return pinnedReference(digest)
        case .registry(let registry): return .registry(registry.pinnedKeepingTag(digest))
        case .archive: throw StoreError.archiveIsOutputOnly(description)
        }
    }
}

extension RegistryReference {
    /// This repository and tag pinned to `digest` (``ImageReference/pinnedKeepingTag(_:)``).
    public func pinnedKeepingTag(_ digest: Digest) -> RegistryReference {
        RegistryReference(registry: registry, repository: repository, tag: tag, digest: digest)
    }
}
