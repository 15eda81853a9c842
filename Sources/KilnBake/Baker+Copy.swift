import KilnRegistry
import KilnStore
import OCI

extension Baker {
    /// `kiln copy SRC DST`: the image (an index with every child, or one manifest) byte for
    /// byte, so its digest stays the same, as promoting a tested digest from a QA repository to
    /// production needs. Blobs are mounted within a registry, streamed across registries and
    /// verified on the way; the tag is written last.
    /// - Returns: the destination pinned to the (unchanged) digest.
    public func copy(from sourceReference: ImageReference, to destinationReference: ImageReference) async throws -> (reference: String, digest: Digest) {
        let destination = try store.destination(destinationReference)
        do {
            let source = try store.source(sourceReference)
            let root = try await source.resolve()
            let rootBytes = try await source.fetch(root)
            let what = "\(sourceReference)"
            var manifests: [(Descriptor, ImageManifest)] = []
            switch try ManifestKind(raw: rootBytes, descriptorMediaType: root.mediaType.isEmpty ? nil : root.mediaType, what: "manifest \(root.digest) of \(what)") {
            case .image(let manifest):
                manifests = [(root, manifest)]
            case .index(let index):
                // Every child, attestations included: the index's digest covers them all.
                for child in index.manifests {
                    guard MediaType.manifests.contains(child.mediaType) else {
                        throw StoreError.invalidReference(what, reason: "its index lists \(child.digest) of type '\(child.mediaType)'; only image manifests can be copied")
                    }
                    manifests.append((child, try ImageManifest(raw: try await source.fetch(child), descriptorMediaType: child.mediaType, what: "manifest \(child.digest) of \(what)")))
                }
            }
            // Configs are blobs of the source here: copied byte for byte like the layers.
            let isIndex = manifests.count > 1 || manifests.first?.0.digest != root.digest
            let graph = ImageGraphWriter.Graph(
                blobs: manifests.flatMap { [$0.1.config] + $0.1.layers },
                children: isIndex ? manifests.map { ImageGraphWriter.Document(descriptor: $0.0, bytes: $0.1.raw) } : [],
                root: ImageGraphWriter.Document(descriptor: root, bytes: rootBytes)
            )
            try await ImageGraphWriter(destination: destination, progress: progress, jobs: transport.jobs).write(graph, from: source)
            return (destinationReference.pinned(root.digest), root.digest)
        } catch {
            destination.abort()
            throw error
        }
    }
}

extension ImageReference {
    /// The repository or layout of this reference pinned to a digest, as text.
    public func pinned(_ digest: Digest) -> String { pinnedReference(digest).description }

    /// The same repository or layout, by digest.
    public func pinnedReference(_ digest: Digest) -> ImageReference {
        switch self {
        case .layout(let layout): return .layout(LayoutReference(directory: layout.directory, digest: digest))
        case .registry(let registry): return .registry(registry.with(digest: digest))
        }
    }
}
