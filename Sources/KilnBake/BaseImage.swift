import KilnStore
import Logging
import OCI
import KilnRecipe

/// The base as read and verified: its index (if any) and the manifest and config of each
/// platform to bake.
struct BaseImage {
    struct Platformed {
        var descriptor: Descriptor
        var manifest: ImageManifest
        var config: JSONValue
        var platform: Platform
    }

    var index: ImageIndex?
    var images: [Platformed]

    static func load(from source: ImageSource, reference: String, platforms: PlatformSelection, logger: Logger) async throws -> BaseImage {
        let root = try await source.resolve()
        let rootBytes = try await source.fetch(root)
        let kind = try ManifestKind(raw: rootBytes, descriptorMediaType: root.mediaType.isEmpty ? nil : root.mediaType, what: "manifest \(root.digest) of \(reference)")
        switch kind {
        case .image(let manifest):
            let image = try await platformed(manifest, descriptor: manifest.descriptor, from: source, reference: reference)
            guard platforms.includes(image.platform) else {
                throw BakeError.platformMismatch(requested: platforms.text, actual: image.platform.description)
            }
            return BaseImage(index: nil, images: [image])
        case .index(let index):
            var images: [Platformed] = []
            var available: [String] = []
            for entry in index.manifests {
                guard entry.isBakeableImage else {
                    let kind = entry.annotations?[AnnotationKey.dockerReferenceType] ?? entry.mediaType
                    logger.notice("dropping \(entry.digest) (\(kind)) from the index: only platform images are baked")
                    continue
                }
                // A platform the index declares and the bake does not want is not downloaded:
                // a lock then records only what the bake reads.
                if let declared = entry.platform, !platforms.includes(declared) {
                    available.append(declared.description)
                    continue
                }
                let bytes = try await source.fetch(entry)
                let manifest = try ImageManifest(raw: bytes, descriptorMediaType: entry.mediaType, what: "manifest \(entry.digest) of \(reference)")
                var image = try await platformed(manifest, descriptor: entry, from: source, reference: reference)
                if let declared = entry.platform { image.platform = declared }
                available.append(image.platform.description)
                if platforms.includes(image.platform) { images.append(image) }
            }
            guard !images.isEmpty else {
                throw BakeError.noMatchingPlatform(requested: platforms.text, available: available)
            }
            return BaseImage(index: index, images: images)
        }
    }

    private static func platformed(_ manifest: ImageManifest, descriptor: Descriptor, from source: ImageSource, reference: String) async throws -> Platformed {
        let what = "config \(manifest.config.digest) of \(reference)"
        let bytes = try await source.fetch(manifest.config)
        let config = try JSONValue(parsing: bytes, what: what)
        guard config.isObject else { throw BakeError.malformedConfig(what: what, reason: "not a JSON object") }
        let platform = Platform(
            os: config["os"]?.stringValue ?? "unknown",
            architecture: config["architecture"]?.stringValue ?? "unknown",
            variant: config["variant"]?.stringValue
        )
        return Platformed(descriptor: descriptor, manifest: manifest, config: config, platform: platform)
    }
}
