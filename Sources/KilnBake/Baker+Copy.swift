import KilnRecipe
import KilnRegistry
import KilnStore
import OCI

extension Baker {
    /// `kiln copy SRC DST`: the image (an index with every child, or one manifest) byte for
    /// byte, so its digest stays the same, as promoting a tested digest from a QA repository to
    /// production needs. Blobs are mounted within a registry, streamed across registries and
    /// verified on the way; the tag is written last.
    /// - Parameter platform: copy only this platform's manifest of an index (its own digest);
    ///   a single manifest must be of that platform. A docker-archive destination, which holds
    ///   one image, gets the index's only image without it.
    ///   - referrers: also copy what is attached to the image and to each manifest copied
    ///     (signatures, SBOMs, attestations: see ``ReferrersCopy``); registry to registry only.
    /// - Returns: the destination pinned to the (unchanged) digest, and how many referrers were copied.
    public func copy(from sourceReference: ImageReference, to destinationReference: ImageReference, platform: Platform? = nil, referrers: Bool = false) async throws -> (reference: String, digest: Digest, referrers: Int) {
        let destination = try store.destination(destinationReference)
        do {
            let source = try store.source(sourceReference)
            var root = try await source.resolve()
            var rootBytes = try await source.fetch(root)
            let what = "\(sourceReference)"
            var manifests: [(Descriptor, ImageManifest)] = []
            switch try ManifestKind(raw: rootBytes, descriptorMediaType: root.mediaType.isEmpty ? nil : root.mediaType, what: "manifest \(root.digest) of \(what)") {
            case .image(let manifest):
                if let platform { try await check(manifest, of: source, is: platform, what: what) }
                manifests = [(root, manifest)]
            case .index(let index):
                if let chosen = try choose(in: index, wanted: platform, for: destinationReference, what: what) {
                    // One child, copied as the root: its own digest.
                    root = chosen
                    rootBytes = try await source.fetch(chosen)
                    manifests = [(root, try ImageManifest(raw: rootBytes, descriptorMediaType: root.mediaType, what: "manifest \(root.digest) of \(what)"))]
                } else {
                    // Every child, attestations included: the index's digest covers them all.
                    for child in index.manifests {
                        guard MediaType.manifests.contains(child.mediaType) else {
                            throw StoreError.invalidReference(what, reason: "its index lists \(child.digest) of type '\(child.mediaType)'; only image manifests can be copied")
                        }
                        manifests.append((child, try ImageManifest(raw: try await source.fetch(child), descriptorMediaType: child.mediaType, what: "manifest \(child.digest) of \(what)")))
                    }
                }
            }
            // Configs are blobs of the source here: copied byte for byte like the layers.
            let isIndex = manifests.count > 1 || manifests.first?.0.digest != root.digest
            // Referrers are read (and checked) before anything is written; their blobs travel
            // with the image's.
            let subjects = [root.digest] + (isIndex ? manifests.map(\.0.digest) : [])
            let attached = referrers ? try await ReferrersCopy(store: store).read(sourceReference, destination: destinationReference, subjects: subjects) : nil
            let graph = ImageGraphWriter.Graph(
                blobs: manifests.flatMap { [$0.1.config] + $0.1.layers } + (attached?.blobs ?? []),
                children: isIndex ? manifests.map { ImageGraphWriter.Document(descriptor: $0.0, bytes: $0.1.raw) } : [],
                root: ImageGraphWriter.Document(descriptor: root, bytes: rootBytes)
            )
            try await ImageGraphWriter(destination: destination, progress: progress, jobs: transport.jobs).write(graph, from: source) {
                guard let attached, !attached.isEmpty else { return }
                // The image by digest first (a registry may want a referrer's subject present), then
                // its referrers; its tag stays the last write.
                try await destination.putManifest(rootBytes, as: root)
                try await attached.write(to: destinationReference, store: store)
            }
            return (destinationReference.pinned(root.digest), root.digest, attached?.count ?? 0)
        } catch {
            destination.abort()
            throw error
        }
    }

    /// The child of `index` to copy alone: the one of `wanted`'s platform, or for a
    /// docker-archive destination its only image; `nil` copies the whole index.
    private func choose(in index: ImageIndex, wanted: Platform?, for destination: ImageReference, what: String) throws -> Descriptor? {
        let images = index.manifests.filter(\.isBakeableImage)
        let platforms = images.map(\.platform)
        let position: Int?
        if let wanted {
            position = try DockerArchiveImage.choose(among: platforms, wanted: wanted, what: what)
        } else {
            position = try DockerArchiveImage.choose(among: platforms, for: destination, wanted: nil)
        }
        return position.map { images[$0] }
    }

    /// Refuses a single-manifest source whose config names another platform than `wanted`.
    private func check(_ manifest: ImageManifest, of source: ImageSource, is wanted: Platform, what: String) async throws {
        let config = try JSONValue(parsing: try await source.fetch(manifest.config), what: "config \(manifest.config.digest) of \(what)")
        let actual = Platform(os: config["os"]?.stringValue ?? "unknown", architecture: config["architecture"]?.stringValue ?? "unknown", variant: config["variant"]?.stringValue)
        guard wanted.matches(actual) else { throw BakeError.noImageForPlatform(what: what, requested: wanted.description, available: [actual.description]) }
    }
}

extension ImageReference {
    /// The repository or layout of this reference pinned to a digest, as text; an archive as
    /// written, followed by `@` and the digest the image has in a registry or layout.
    public func pinned(_ digest: Digest) -> String {
        if case .archive(let archive) = self { return "\(archive)@\(digest)" }
        return pinnedReference(digest).description
    }

    /// The same repository or layout, by digest. An archive has no such form (and is never
    /// read): it stays as it is.
    public func pinnedReference(_ digest: Digest) -> ImageReference {
        switch self {
        case .layout(let layout): return .layout(LayoutReference(directory: layout.directory, digest: digest))
        case .registry(let registry): return .registry(registry.with(digest: digest))
        case .archive: return self
        }
    }
}
