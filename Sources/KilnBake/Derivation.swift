import KilnLayer
import OCI
import KilnRecipe

/// Every document of a derived image, computed from the base's documents and the new layer
/// with no I/O: the same function gives `kiln bake` what it writes and `kiln plan` what it
/// predicts, so the two cannot drift apart.
public struct Derivation: Sendable {
    /// One platform: its derived config and manifest, and the base manifest it came from.
    public struct Platformed: Sendable {
        public var platform: Platform
        public var base: Descriptor
        public var config: Descriptor
        public var configBytes: [UInt8]
        public var manifest: Descriptor
        public var manifestBytes: [UInt8]
    }

    public var images: [Platformed]
    /// The manifest (single-platform base) or index that the tag points at.
    public var root: Descriptor
    public var rootBytes: [UInt8]
    /// Whether `root` is an index whose children are `images`.
    public var isIndex: Bool

    /// The media type of the new layer in this base's flavour (stored gzip is plain gzip on the
    /// wire); zstd has none in Docker's.
    static func layerMediaType(of manifest: ImageManifest, request: BakeRequest) throws -> String {
        guard let type = manifest.flavour.layerMediaType(for: request.compression.format) else {
            throw BakeError.unsupportedCompression("\(request.compression.rawValue) layers need an OCI-typed base; \(request.base) is Docker-typed (use stored-gzip or gzip)")
        }
        return type
    }

    /// - Parameter layers: the new layer of each of `base.images`, in their order (one platform's
    ///   may differ from another's when their skeletons differ); `nil` for a config-only bake.
    static func derive(_ base: BaseImage, layers: [BuiltLayer]?, request: BakeRequest, baseName: String?) throws -> Derivation {
        let time = request.sourceDateEpoch ?? 0
        let history = Mutate.History(created: rfc3339(time), createdBy: Baker.createdBy(request))
        var images: [Platformed] = []
        for (number, image) in base.images.enumerated() {
            let layer = layers?[number]
            let manifest = image.manifest
            let configJSON = try Mutate.config(
                image.config, diffID: layer?.diffID, history: history, edits: request.edits,
                created: request.sourceDateEpoch.map(rfc3339), what: "config \(manifest.config.digest)"
            )
            let configBytes = configJSON.serialized()
            let config = Descriptor.of(configBytes, mediaType: manifest.config.mediaType)
            let layerDescriptor = try layer.map { Descriptor(mediaType: try layerMediaType(of: manifest, request: request), digest: $0.digest, size: $0.size) }
            var annotations = [(AnnotationKey.baseDigest, image.descriptor.digest.description)]
            if let baseName { annotations.append((AnnotationKey.baseName, baseName)) }
            let manifestBytes = Mutate.manifest(manifest, config: config, layer: layerDescriptor, annotations: annotations).serialized()
            images.append(Platformed(platform: image.platform, base: image.descriptor, config: config, configBytes: configBytes,
                                     manifest: Descriptor.of(manifestBytes, mediaType: manifest.mediaType), manifestBytes: manifestBytes))
        }
        guard let index = base.index else {
            return Derivation(images: images, root: images[0].manifest, rootBytes: images[0].manifestBytes, isIndex: false)
        }
        var annotations = [(AnnotationKey.baseDigest, index.descriptor.digest.description)]
        if let baseName { annotations.append((AnnotationKey.baseName, baseName)) }
        let rootBytes = Mutate.index(index, children: images.map { ($0.base, $0.manifest) }, annotations: annotations).serialized()
        return Derivation(images: images, root: Descriptor.of(rootBytes, mediaType: index.mediaType), rootBytes: rootBytes, isIndex: true)
    }
}
