import KilnLayer
import KilnRegistry
import KilnStore
import Logging
import OCI
import KilnRecipe

/// The bake pipeline: resolve the base, build the layer, derive config and manifests, write.
///
/// Every input error is found before the destination is touched; anything written before a
/// later failure is removed again, and the tag is written last.
public struct Baker {
    let store: ImageSession
    let progress: TransferProgress
    var transport: TransportOptions { store.options }
    var logger: Logger { transport.logger }

    /// - Parameters:
    ///   - store: the run's images (layouts, and registries over one HTTP client).
    ///   - progress: where blob transfers are reported.
    public init(store: ImageSession = ImageSession(), progress: TransferProgress = TransferProgress(mode: .quiet)) {
        self.store = store
        self.progress = progress
    }

    /// Bakes the request.
    /// - Returns: the derived image's digest, media type, platforms and layer.
    /// - Throws: a one-line error naming the culprit; the destination is left as it was.
    public func bake(_ request: BakeRequest) async throws -> BakeResult {
        try await bake(request, into: nil)
    }

    /// Bakes into `destination` instead of the one `request.output` names (`kiln docker`'s
    /// store, which keeps the base's layers in their registry); `request.output` still names
    /// the result.
    /// - Parameter beforeTagging: runs inside the write, once everything but the tags is
    ///   written (``ImageGraphWriter``'s `beforeTagging`): what must be in place before the
    ///   image is visible under a tag, i.e. its provenance. A failure there fails the bake, and
    ///   no tag is written.
    ///   With several destinations it runs at each (``Untagged/reference`` says which), at once.
    package func bake(_ request: BakeRequest, into chosen: ImageDestination? = nil, beforeTagging: @escaping @Sendable (Untagged) async throws -> Void = { _ in }) async throws -> BakeResult {
        try await bake(request, into: chosen, beside: {}, beforeTagging: { untagged, _ in try await beforeTagging(untagged) })
    }

    /// Bakes with work of the caller's running beside the image's own writes.
    /// - Parameters:
    ///   - beside: started once the destination is prepared and the derived documents matched
    ///     the request's expected digest, it runs while the blobs and documents are written
    ///     (`kiln build` pushes the provenance's blobs and artifacts there); cancelled when the
    ///     bake fails, awaited before `beforeTagging`, which gets what it returned. Its failure
    ///     fails the bake.
    ///   - beforeTagging: as in ``bake(_:into:beforeTagging:)``.
    package func bake<Beside: Sendable>(_ request: BakeRequest, into chosen: ImageDestination? = nil, beside: @escaping @Sendable () async throws -> Beside,
                                        beforeTagging: @escaping @Sendable (Untagged, Beside) async throws -> Void) async throws -> BakeResult {
        var source = try store.source(request.base)
        if let locked = request.lockedBase { source = LockedBaseSource(documents: locked, blobs: source) }
        let base = try await BaseImage.load(from: source, reference: request.base.description, platforms: request.platforms, logger: logger)
        // The layers the skeleton read downloads, kept for the copy below (gone when the bake
        // returns). Only from a registry (a layout or archive is read again for free), and not
        // for a chosen destination (`kiln docker`'s store leaves a registry's layers there).
        let spool = source.registryReference != nil && chosen == nil ? BaseLayerSpool() : nil
        let entries = try await layerEntries(request, base: base, locked: request.lockedBase, from: source, spool: spool)
        // Checked before anything is written (the derivation would find it only afterwards).
        if request.addsLayer { for image in base.images { _ = try Derivation.layerMediaType(of: image.manifest, request: request) } }
        let archiveImage = try DockerArchiveImage.choose(among: base.images.map(\.platform), for: request.output, wanted: request.archivePlatform)
        // Secrets in what the bake adds: refused before the destination exists. The layer is
        // built beside the scan into a spool, drained into the destination below, once every
        // file passed (the rest of the layer flows on as it is built).
        let scan = startScan(request, entries: entries, keeping: true)
        defer { scan?.stop() }
        var digests: [FileSource: [UInt8]] = [:]
        if let scan { digests = try await passScan(scan, request, entries: entries) }

        let writer = request.otherOutputs.isEmpty && !request.isOneOfSeveralTargets
            ? try ImageGraphWriter(store: store, to: request.output, destination: chosen, create: request.createRepository, progress: progress)
            : try ImageGraphWriter(store: store, to: [request.output] + request.otherOutputs, create: request.createRepository, progress: progress)
        // The result is known once the documents are derived; `beforeTagging` gets it then.
        let staged = StagedResult()
        let running = BesideTask<Beside>()
        defer { running.task?.cancel() }
        // Prepared first (an ECR repository exists, its tag rules), then the layer is built into
        // the destinations (once, for all) and the documents derived; removed again from a
        // destination where anything fails.
        let (_, written) = try await writer.writeAll(from: spool?.reading(before: source) ?? source, { destination -> (ImageGraphWriter.Graph, Void) in
            let layers = try await writeLayers(request, entries: entries, scan: scan, into: destination)
            // The derived documents, checked against the plan before any base blob is copied.
            let derived = try Derivation.derive(base, layers: layers, request: request, baseName: request.baseNameAnnotation(default: source.imageName))
            if let expected = request.expectedDigest, expected != derived.root.digest {
                throw BakeError.differsFromExpected(built: derived.root.digest, expected: expected)
            }
            running.task = Task { try await beside() }
            if let chosen = archiveImage {
                // Only that image's blobs are copied; its manifest is the root the archive holds.
                let image = derived.images[chosen]
                let graph = ImageGraphWriter.Graph(
                    blobs: base.images[chosen].manifest.layers,
                    documents: [.init(descriptor: image.config, bytes: image.configBytes)],
                    root: .init(descriptor: image.manifest, bytes: image.manifestBytes),
                    additionalTags: request.additionalTags
                )
                staged.result = try await makeResult(request, derived: derived, layers: layers, platforms: [image.platform], source: source, entries: entries, digests: digests)
                staged.root = graph.root
                return (graph, ())
            }
            let graph = ImageGraphWriter.Graph(
                blobs: base.images.flatMap(\.manifest.layers),
                documents: derived.images.map { .init(descriptor: $0.config, bytes: $0.configBytes) },
                children: derived.isIndex ? derived.images.map { .init(descriptor: $0.manifest, bytes: $0.manifestBytes) } : [],
                root: .init(descriptor: derived.root, bytes: derived.rootBytes),
                additionalTags: request.additionalTags
            )
            staged.result = try await makeResult(request, derived: derived, layers: layers, platforms: base.images.map(\.platform), source: source, entries: entries, digests: digests)
            staged.root = graph.root
            return (graph, ())
        }, beforeTagging: { target in
            guard let task = running.task else { preconditionFailure("the bake's work beside was not started") }
            try await beforeTagging(staged.untagged(at: target), try await task.value)
        })
        guard var result = staged.result else { preconditionFailure("a bake's result is read before its documents were derived") }
        // One destination: its failure is the bake's (the result of several names each).
        if request.otherOutputs.isEmpty && !request.isOneOfSeveralTargets, let failure = written[0].failure { throw failure }
        result.outputs = written.map { BakeResult.Output(reference: $0.reference.pinned(result.digest), failure: $0.failure.map { "\($0)" }) }
        return result
    }

    /// A bake written but for its tags, at one of its destinations: what `beforeTagging` gets.
    package struct Untagged {
        /// The result the bake returns (its ``BakeResult/provenanceFacts`` when the request
        /// records them).
        package var result: BakeResult
        /// The destination this is (one of a spec's several targets, or the only one).
        package let reference: ImageReference
        let root: ImageGraphWriter.Document
        let destination: ImageDestination

        /// Writes the root by its digest, untagged: for a registry that wants a referrer's
        /// subject present before the referrer (distribution-spec 1.1 says it must not, and
        /// some do), as `kiln copy` does before its referrers.
        package func writeRootByDigest() async throws {
            try await destination.putManifest(root.bytes, as: root.descriptor)
        }
    }

    /// What the bake returns, its provenance facts included when the request records them.
    private func makeResult(_ request: BakeRequest, derived: Derivation, layers: [BuiltLayer]?, platforms: [Platform], source: ImageSource,
                        entries: LayerEntries?, digests: [FileSource: [UInt8]]) async throws -> BakeResult {
        var result = BakeResult(reference: request.output.pinned(derived.root.digest), digest: derived.root.digest, mediaType: derived.root.mediaType, platforms: platforms, layer: layers?.first)
        if request.recordsProvenanceFacts {
            var manifests = derived.isIndex ? derived.images.map(\.manifest) : []
            for index in manifests.indices { manifests[index].platform = derived.images[index].platform }
            let base: Descriptor
            if let locked = request.lockedBase?.root { base = locked } else { base = try await source.resolve() }
            result.provenanceFacts = ProvenanceFacts(base: base, root: derived.root, platformManifests: manifests,
                                                     overlayFiles: try OverlayFile.list(entries?.distinct ?? [], known: digests))
        }
        return result
    }

    /// The task a bake runs beside its writes, started in the write's stage, awaited before its
    /// tags.
    // Sendable: `task` is set once in the write's stage, before any `beforeTagging` reads it.
    private final class BesideTask<Value: Sendable>: @unchecked Sendable {
        var task: Task<Value, any Error>?
    }

    /// The result of a bake, set where the write derives it and read after the write (and by
    /// its `beforeTagging`): the two closures of one write share it, one after the other.
    // Sendable: written only in the write's stage, which ends before `beforeTagging` runs.
    private final class StagedResult: @unchecked Sendable {
        var result: BakeResult?
        var root: ImageGraphWriter.Document?

        /// Read only after the write's stage returned, which sets both.
        func untagged(at target: ImageGraphWriter.Target) -> Untagged {
            guard let result, let root else { preconditionFailure("a bake's result is read before its documents were derived") }
            return Untagged(result: result, reference: target.reference, root: root, destination: target.destination)
        }
    }

    /// Writes the new layer(s) into the destinations (one per distinct skeleton placement), once
    /// however many destinations there are: drained from their spools when the scan builds them
    /// (``startScan(_:entries:keeping:)``; called only after the scan passed), else (`--secrets
    /// off`) built straight into the destinations' blob writers, each file hashed by the layer
    /// itself.
    /// - Returns: the layer of each platform image; `nil` for a config-only bake.
    private func writeLayers(_ request: BakeRequest, entries: LayerEntries?, scan: ScanRun?, into destination: ImageGraphWriter.Staging) async throws -> [BuiltLayer]? {
        guard let entries else { return nil }
        var built: [BuiltLayer] = []
        for (number, distinct) in entries.distinct.enumerated() {
            let writer = try destination.makeBlobWriter()
            do {
                let layer: BuiltLayer
                if let scan {
                    layer = try scan.spools[number].drain { try writer.write($0) }
                } else {
                    layer = try LayerBuilder(compression: request.compression, entryTimes: request.entryTimes).build(distinct) { try writer.write($0) }
                }
                let descriptor = Descriptor(mediaType: "", digest: layer.digest, size: layer.size)
                try await writer.commit(as: descriptor)
                progress.finished(descriptor, .written)
                built.append(layer)
            } catch {
                writer.cancel()
                throw error
            }
        }
        return entries.ofImage.map { built[$0] }
    }

    /// The new layer's entries for each platform image, placed against that image's skeleton.
    /// `nil` for a config-only bake.
    private func layerEntries(_ request: BakeRequest, base: BaseImage, locked: BaseSnapshot?, from source: ImageSource, spool: BaseLayerSpool?) async throws -> LayerEntries? {
        guard request.addsLayer else { return nil }
        return try LayerEntries(request, trees: try await baseTrees(of: base, locked: locked?.trees, from: source, reference: request.base.description, spool: spool))
    }

    /// Each platform image's skeleton, in `base.images`' order: the lock's when it has it, else
    /// read from the base's layers through `source` (or the cache), each manifest's once. The
    /// one lookup of bake, lock and plan (provenance takes the plan's).
    /// - Parameters:
    ///   - source: `nil` (plan, provenance): a skeleton the lock lacks is an error.
    ///   - spool: where a bake keeps the layers read here for its copy; `nil` (lock) keeps none.
    func baseTrees(of base: BaseImage, locked: [Digest: BaseTree]?, from source: ImageSource?, reference: String, spool: BaseLayerSpool? = nil) async throws -> [BaseTree] {
        let loader = BaseTreeLoader(cache: .default, jobs: transport.jobs, spool: spool)
        var read: [Digest: BaseTree] = locked ?? [:]
        var trees: [BaseTree] = []
        for image in base.images {
            let digest = image.descriptor.digest
            if let tree = read[digest] {
                trees.append(tree)
                continue
            }
            guard let source else { throw BakeError.treeNotLocked(digest) }
            let tree = try await loader.tree(of: image.manifest, from: source, reference: reference)
            read[digest] = tree
            trees.append(tree)
        }
        return trees
    }

    /// Reads the base the way a bake does and keeps every document it read (`kiln lock`).
    /// - Returns: the snapshot and the base pinned to the digest it resolved to.
    public func snapshot(of reference: ImageReference, platforms: PlatformSelection) async throws -> (snapshot: BaseSnapshot, pinned: ImageReference) {
        let source = RecordingSource(try store.source(reference))
        let base = try await BaseImage.load(from: source, reference: reference.description, platforms: platforms, logger: logger)
        let read = try await baseTrees(of: base, locked: nil, from: source, reference: reference.description)
        let trees = Dictionary(zip(base.images.map(\.descriptor.digest), read)) { first, _ in first }
        let root = try await source.resolve()
        return (BaseSnapshot(root: root, documents: source.documents, imageName: source.imageName, trees: trees), try reference.pinnedKeepingTag(root.digest))
    }

    /// What a bake of `request` would produce, computed from the base's documents and
    /// skeletons alone (a lock's snapshot), with no network: the layer is built and hashed but
    /// written nowhere.
    /// - Returns: the derivation, the (first) new layer, and the overlay files it carries with
    ///   the digests the secret scan read (what a provenance statement lists).
    public func plan(_ request: BakeRequest, base snapshot: BaseSnapshot) async throws -> (derivation: Derivation, layer: BuiltLayer?, overlayFiles: [OverlayFile]) {
        let base = try await BaseImage.load(from: snapshot.source, reference: request.base.description, platforms: request.platforms, logger: logger)
        var layers: [BuiltLayer]?
        var files: [OverlayFile] = []
        if request.addsLayer {
            let entries = try LayerEntries(request, trees: try await baseTrees(of: base, locked: snapshot.trees, from: nil, reference: request.base.description))
            // The layer is built beside the scan, its bytes discarded (`--secrets off`: after it).
            let scan = startScan(request, entries: entries, keeping: false)
            defer { scan?.stop() }
            var digests: [FileSource: [UInt8]] = [:]
            if let scan { digests = try await passScan(scan, request, entries: entries) }
            let built = try scan.map { try $0.spools.map { try $0.drain(into: nil) } }
                ?? entries.distinct.map { try LayerBuilder(compression: request.compression, entryTimes: request.entryTimes).build($0) { _ in } }
            layers = entries.ofImage.map { built[$0] }
            files = try OverlayFile.list(entries.distinct, known: digests)
        } else if let scan = startScan(request, entries: nil, keeping: false) {
            _ = try await passScan(scan, request, entries: nil)
        }
        return (try Derivation.derive(base, layers: layers, request: request, baseName: request.baseNameAnnotation(default: snapshot.imageName)), layers?.first, files)
    }

    /// The history line: destinations only, never host paths, so it is the same on every machine.
    static func createdBy(_ request: BakeRequest) -> String {
        var parts: [String] = []
        if !request.overlays.isEmpty { parts.append("add " + request.overlays.map(\.destination.description).joined(separator: " ")) }
        if !request.removals.isEmpty { parts.append("remove " + request.removals.map(\.description).joined(separator: " ")) }
        return "kiln bake: " + (parts.isEmpty ? "config" : parts.joined(separator: "; "))
    }
}
