import KilnAWS
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
    let transport: TransportOptions
    let progress: TransferProgress
    private var logger: Logger { transport.logger }

    /// - Parameters:
    ///   - transport: how registries are reached (credentials, TLS, endpoints, retries, jobs).
    ///   - progress: where blob transfers are reported.
    public init(transport: TransportOptions = TransportOptions(), progress: TransferProgress = TransferProgress(mode: .quiet)) {
        self.transport = transport
        self.progress = progress
    }

    /// Bakes the request.
    /// - Returns: the derived image's digest, media type, platforms and layer.
    /// - Throws: a one-line error naming the culprit; the destination is left as it was.
    public func bake(_ request: BakeRequest) async throws -> BakeResult {
        // The HTTP client and its event loop exist only when a registry takes part.
        let usesRegistry = [request.base, request.output].contains { if case .registry = $0 { true } else { false } }
        let registries = usesRegistry ? try RegistryTransport(options: transport) : nil
        do {
            let result = try await bake(request, registries: registries)
            await registries?.shutdown()
            return result
        } catch {
            await registries?.shutdown()
            throw error
        }
    }

    private func bake(_ request: BakeRequest, registries: RegistryTransport?) async throws -> BakeResult {
        let source = openSource(request.base, registries: registries)
        let base = try await BaseImage.load(from: source, reference: request.base.description, platforms: request.platforms, logger: logger)
        let entries = try OverlayScanner().scan(overlays: request.overlays, removals: request.removals)
        // Checked before anything is written (the derivation would find it only afterwards).
        for image in base.images { _ = try Derivation.layerMediaType(of: image.manifest, request: request) }

        let destination = try openDestination(request.output, registries: registries)
        // ECR outputs: the repository must exist (or be created) and its tag rules are learnt,
        // all before a byte is written.
        var checkedOnECR = false
        if case .registry(let output) = request.output, let image = destination as? RegistryImage,
           let ecr = transport.credentials as? ECRCredentials,
           let immutable = try await ECRRepositoryCheck(credentials: ecr).prepare(output, create: request.createRepository) {
            image.tagsAreImmutable = immutable
            checkedOnECR = true
        }
        guard request.createRepository == nil || checkedOnECR else {
            throw BakeError.createRepositoryNeedsECR(request.output.description)
        }
        do {
            let result = try await write(request, base: base, entries: entries, from: source, to: destination)
            return result
        } catch {
            destination.abort()
            throw error
        }
    }

    private func write(_ request: BakeRequest, base: BaseImage, entries: [LayerEntry], from source: ImageSource, to destination: ImageDestination) async throws -> BakeResult {
        let writer = try destination.makeBlobWriter()
        let layer: BuiltLayer
        do {
            layer = try LayerBuilder(compression: .for(request.compression), modificationTime: request.sourceDateEpoch ?? 0).build(entries) { try writer.write($0) }
            let descriptor = Descriptor(mediaType: "", digest: layer.digest, size: layer.size)
            try await writer.commit(as: descriptor)
            progress.finished(descriptor, .written)
        } catch {
            writer.cancel()
            throw error
        }

        // Base layers first, each distinct blob once (platforms often share some), in parallel.
        var seen = Set<Digest>()
        let baseBlobs = base.images.flatMap(\.manifest.layers).filter { seen.insert($0.digest).inserted }
        try await BlobCopier.copyAll(baseBlobs, from: source, to: destination, jobs: transport.jobs, progress: progress)

        // Then configs, an index's children, and the root under its tag, last.
        let derived = try Derivation.derive(base, layer: layer, request: request, baseName: source.imageName)
        if let expected = request.expectedDigest, expected != derived.root.digest {
            throw BakeError.differsFromExpected(built: derived.root.digest, expected: expected)
        }
        for image in derived.images { try await destination.put(image.configBytes, as: image.config) }
        if derived.isIndex {
            for image in derived.images { try await destination.putManifest(image.manifestBytes, as: image.manifest) }
        }
        try await destination.tag(derived.root, bytes: derived.rootBytes, additionalTags: request.additionalTags)

        return BakeResult(reference: request.output.pinned(derived.root.digest), digest: derived.root.digest, mediaType: derived.root.mediaType, platforms: base.images.map(\.platform), layer: layer)
    }

    /// Reads the base the way a bake does and keeps every document it read (`kiln lock`).
    /// - Returns: the snapshot and the base pinned to the digest it resolved to.
    public func snapshot(of reference: ImageReference, platforms: PlatformSelection) async throws -> (snapshot: BaseSnapshot, pinned: ImageReference) {
        let registries: RegistryTransport? = if case .registry = reference { try RegistryTransport(options: transport) } else { nil }
        do {
            let source = RecordingSource(openSource(reference, registries: registries))
            _ = try await BaseImage.load(from: source, reference: reference.description, platforms: platforms, logger: logger)
            let root = try await source.resolve()
            await registries?.shutdown()
            let pinned: ImageReference
            switch reference {
            case .layout(let layout): pinned = .layout(LayoutReference(directory: layout.directory, digest: root.digest))
            case .registry(let registry): pinned = .registry(RegistryReference(registry: registry.registry, repository: registry.repository, tag: registry.tag, digest: root.digest))
            }
            return (BaseSnapshot(root: root, documents: source.documents, imageName: source.imageName), pinned)
        } catch {
            await registries?.shutdown()
            throw error
        }
    }

    /// What a bake of `request` would produce, computed from the base's documents alone (a
    /// lock's snapshot): the layer is built and hashed but written nowhere.
    public func plan(_ request: BakeRequest, base snapshot: BaseSnapshot) async throws -> (derivation: Derivation, layer: BuiltLayer) {
        let base = try await BaseImage.load(from: snapshot.source, reference: request.base.description, platforms: request.platforms, logger: logger)
        let entries = try OverlayScanner().scan(overlays: request.overlays, removals: request.removals)
        let layer = try LayerBuilder(compression: .for(request.compression), modificationTime: request.sourceDateEpoch ?? 0).build(entries) { _ in }
        return (try Derivation.derive(base, layer: layer, request: request, baseName: snapshot.imageName), layer)
    }

    /// The history line: destinations only, never host paths, so it is the same on every machine.
    static func createdBy(_ request: BakeRequest) -> String {
        var parts: [String] = []
        if !request.overlays.isEmpty { parts.append("add " + request.overlays.map(\.destination.description).joined(separator: " ")) }
        if !request.removals.isEmpty { parts.append("remove " + request.removals.map(\.description).joined(separator: " ")) }
        return "kiln bake: " + (parts.isEmpty ? "empty layer" : parts.joined(separator: "; "))
    }

    func openSource(_ reference: ImageReference, registries: RegistryTransport?) -> ImageSource {
        switch (reference, registries) {
        case (.layout(let layout), _): return OCILayout(layout)
        case (.registry(let registry), let registries?): return RegistryImage(registry, transport: registries)
        case (.registry, nil): preconditionFailure("a registry reference always comes with a transport")
        }
    }

    func openDestination(_ reference: ImageReference, registries: RegistryTransport?) throws -> ImageDestination {
        switch reference {
        case .layout(let layout):
            guard layout.digest == nil else {
                throw StoreError.invalidReference(layout.description, reason: "an output is named by a tag, not a digest")
            }
            return OCILayout(layout)
        case .registry(let registry):
            guard registry.digest == nil else {
                throw StoreError.invalidReference(registry.description, reason: "an output is named by a tag, not a digest")
            }
            guard let registries else { preconditionFailure("a registry reference always comes with a transport") }
            return RegistryImage(registry, transport: registries)
        }
    }
}
