import KilnAWS
import KilnLayer
import KilnRegistry
import KilnStore
import Logging
import OCI

/// The bake pipeline: resolve the base, build the layer, derive config and manifests, write.
///
/// Every input error is found before the destination is touched; anything written before a
/// later failure is removed again, and the tag is written last.
public struct Baker {
    private let transport: TransportOptions
    private let progress: TransferProgress
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
        for image in base.images where image.manifest.flavour.layerMediaType(for: request.compression) == nil {
            throw BakeError.unsupportedCompression("\(request.compression.rawValue) layers need an OCI-typed base; \(request.base) is Docker-typed (use gzip)")
        }

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
        let time = request.sourceDateEpoch ?? 0
        let writer = try destination.makeBlobWriter()
        let layer: BuiltLayer
        do {
            layer = try LayerBuilder(compression: .for(request.compression), modificationTime: time).build(entries) { try writer.write($0) }
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

        let history = Mutate.History(created: rfc3339(time), createdBy: Baker.createdBy(request))
        var derived: [(base: Descriptor, derived: Descriptor, bytes: [UInt8])] = []
        for image in base.images {
            let (descriptor, bytes) = try await derive(image, layer: layer, history: history, request: request, baseName: source.imageName, to: destination)
            derived.append((image.descriptor, descriptor, bytes))
        }

        let root: Descriptor
        let rootBytes: [UInt8]
        if let index = base.index {
            for child in derived { try await destination.putManifest(child.bytes, as: child.derived) }
            var annotations = [(AnnotationKey.baseDigest, index.descriptor.digest.description)]
            if let name = source.imageName { annotations.append((AnnotationKey.baseName, name)) }
            rootBytes = Mutate.index(index, children: derived.map { ($0.base, $0.derived) }, annotations: annotations).serialized()
            root = Descriptor.of(rootBytes, mediaType: index.mediaType)
        } else {
            (root, rootBytes) = (derived[0].derived, derived[0].bytes)
        }
        try await destination.tag(root, bytes: rootBytes)

        let pinned: String
        switch request.output {
        case .layout(let layout): pinned = LayoutReference(directory: layout.directory, digest: root.digest).description
        case .registry(let registry): pinned = registry.with(digest: root.digest).description
        }
        return BakeResult(reference: pinned, digest: root.digest, mediaType: root.mediaType, platforms: base.images.map(\.platform), layer: layer)
    }

    /// Writes one platform's derived config (its base layers are already in place).
    /// - Returns: the derived manifest, not yet written: the caller writes it (as an index child
    ///   or under the tag) once everything it points at is in place.
    private func derive(_ image: BaseImage.Platformed, layer: BuiltLayer, history: Mutate.History, request: BakeRequest, baseName: String?, to destination: ImageDestination) async throws -> (Descriptor, [UInt8]) {
        let manifest = image.manifest
        let configJSON = try Mutate.config(
            image.config, diffID: layer.diffID, history: history, edits: request.edits,
            created: request.sourceDateEpoch.map(rfc3339), what: "config \(manifest.config.digest)"
        )
        let configBytes = configJSON.serialized()
        let configDescriptor = Descriptor.of(configBytes, mediaType: manifest.config.mediaType)
        // The flavour's layer type exists: checked before anything was written.
        let layerDescriptor = Descriptor(mediaType: manifest.flavour.layerMediaType(for: layer.compression) ?? "", digest: layer.digest, size: layer.size)

        try await destination.put(configBytes, as: configDescriptor)

        var annotations = [(AnnotationKey.baseDigest, image.descriptor.digest.description)]
        if let baseName { annotations.append((AnnotationKey.baseName, baseName)) }
        let manifestBytes = Mutate.manifest(manifest, config: configDescriptor, layer: layerDescriptor, annotations: annotations).serialized()
        return (Descriptor.of(manifestBytes, mediaType: manifest.mediaType), manifestBytes)
    }

    /// The history line: destinations only, never host paths, so it is the same on every machine.
    static func createdBy(_ request: BakeRequest) -> String {
        var parts: [String] = []
        if !request.overlays.isEmpty { parts.append("add " + request.overlays.map(\.destination.description).joined(separator: " ")) }
        if !request.removals.isEmpty { parts.append("remove " + request.removals.map(\.description).joined(separator: " ")) }
        return "kiln bake: " + (parts.isEmpty ? "empty layer" : parts.joined(separator: "; "))
    }

    private func openSource(_ reference: ImageReference, registries: RegistryTransport?) -> ImageSource {
        switch (reference, registries) {
        case (.layout(let layout), _): return OCILayout(layout)
        case (.registry(let registry), let registries?): return RegistryImage(registry, transport: registries)
        case (.registry, nil): preconditionFailure("a registry reference always comes with a transport")
        }
    }

    private func openDestination(_ reference: ImageReference, registries: RegistryTransport?) throws -> ImageDestination {
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
