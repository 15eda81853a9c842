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
    ///   - createRepository: create the destination's ECR repository when it does not exist
    ///     (the destination is prepared as a bake's is: see ``ImageGraphWriter``).
    /// - Returns: the destination pinned to the (unchanged) digest, and how many referrers were copied.
    public func copy(from sourceReference: ImageReference, to destinationReference: ImageReference, platform: Platform? = nil, referrers: Bool = false, createRepository: RepositoryCreation? = nil) async throws -> (reference: String, digest: Digest, referrers: Int) {
        let copied = try await copy(from: sourceReference, to: [destinationReference], platform: platform, referrers: referrers, createRepository: createRepository)
        if let failure = copied.outputs[0].failure { throw failure }
        return (copied.outputs[0].reference.pinned(copied.digest), copied.digest, copied.referrers)
    }

    /// `kiln copy SRC DST DST…`: the same image to several destinations at once (promotion to
    /// every account and region): each blob read from the source once for all of them, each
    /// destination tagged after its own upload; one that fails does not stop the others.
    /// Archives, which hold a platform's image of their own choosing, are copied to alone.
    /// - Returns: the (unchanged) digest, the referrers copied per registry destination, and
    ///   each destination's result.
    package func copy(from sourceReference: ImageReference, to destinationReferences: [ImageReference], platform: Platform? = nil, referrers: Bool = false, createRepository: RepositoryCreation? = nil) async throws -> (digest: Digest, referrers: Int, outputs: [ImageGraphWriter.TargetResult]) {
        if destinationReferences.count > 1, let archive = destinationReferences.first(where: { if case .archive = $0 { true } else { false } }) {
            throw StoreError.invalidReference("\(archive)", reason: "an archive holds one image: copy to it alone")
        }
        let destinationReference = destinationReferences[0]
        // One destination: the single write (its --create-repository must apply to it).
        let writer = destinationReferences.count == 1
            ? try ImageGraphWriter(store: store, to: destinationReference, create: createRepository, progress: progress)
            : try ImageGraphWriter(store: store, to: destinationReferences, create: createRepository, progress: progress)
        let source = try store.source(sourceReference)
        let graph = try await ImageGraph.read(from: source, what: "\(sourceReference)")
        var root = graph.root
        var rootBytes = graph.rootBytes
        var manifests: [(Descriptor, ImageManifest)] = []
        if let manifest = graph.manifest {
            // A single manifest must be of the platform asked for.
            if let platform { _ = try await graph.image(for: platform) }
            manifests = [(root, manifest)]
        } else if let chosen = try await chosenImage(of: graph, wanted: platform, for: destinationReference) {
            // One child, copied as the root: its own digest.
            root = chosen.descriptor
            rootBytes = chosen.manifest.raw
            manifests = [(root, chosen.manifest)]
        } else {
            // Every child, attestations included: the index's digest covers them all.
            for child in graph.index?.manifests ?? [] {
                guard MediaType.manifests.contains(child.mediaType) else {
                    throw StoreError.invalidReference("\(sourceReference)", reason: "its index lists \(child.digest) of type '\(child.mediaType)'; only image manifests can be copied")
                }
                manifests.append((child, try await graph.childManifest(child)))
            }
        }
        // Configs are blobs of the source here: copied byte for byte like the layers.
        let isIndex = manifests.count > 1 || manifests.first?.0.digest != root.digest
        // Referrers are read (and checked) before anything is written; their blobs travel
        // with the image's.
        let subjects = [root.digest] + (isIndex ? manifests.map(\.0.digest) : [])
        let toRegistry = destinationReferences.first { (try? store.registryImage($0)) != nil } ?? destinationReference
        let attached = referrers ? try await ReferrersCopy(store: store).read(sourceReference, destination: toRegistry, subjects: subjects) : nil
        let copied = ImageGraphWriter.Graph(
            blobs: manifests.flatMap { [$0.1.config] + $0.1.layers } + (attached?.blobs ?? []),
            children: isIndex ? manifests.map { ImageGraphWriter.Document(descriptor: $0.0, bytes: $0.1.raw) } : [],
            root: ImageGraphWriter.Document(descriptor: root, bytes: rootBytes)
        )
        let session = store
        let outputs: [ImageGraphWriter.TargetResult]
        do {
            outputs = try await writer.writeAll(from: source, { _ in (copied, ()) }) { [rootBytes, root] target in
            guard let attached, !attached.isEmpty, try session.registryImage(target.reference) != nil else { return }
            // The image by digest first (a registry may want a referrer's subject present), then
            // its referrers; its tag stays the last write.
            try await target.destination.putManifest(rootBytes, as: root)
            try await attached.write(to: target.reference, store: session)
            }.1
        } catch let failed as ImageGraphWriter.TargetsFailed {
            outputs = failed.results
        }
        return (root.digest, attached?.count ?? 0, outputs)
    }

    /// The child of an index to copy alone: the one of `wanted`'s platform (``ImageGraph``'s
    /// rule), or for a docker-archive destination its only image; `nil` copies the whole index.
    private func chosenImage(of graph: ImageGraph, wanted: Platform?, for destination: ImageReference) async throws -> ImageGraph.Image? {
        if let wanted { return try await graph.image(for: wanted) }
        guard case .archive(let archive) = destination, archive.format == .docker else { return nil }
        let images = try await graph.allImages()
        return try DockerArchiveImage.choose(among: images.map(\.platform), for: destination, wanted: nil).map { images[$0] }
    }
}
