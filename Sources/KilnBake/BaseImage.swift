import KilnStore
import Logging
import OCI
import KilnRecipe

/// The base as read and verified: its index (if any) and the manifest and config of each
/// platform to bake, chosen by ``ImageGraph``'s platform rule.
struct BaseImage {
    typealias Platformed = ImageGraph.Image

    var index: ImageIndex?
    var images: [Platformed]

    static func load(from source: ImageSource, reference: String, platforms: PlatformSelection, logger: Logger) async throws -> BaseImage {
        let graph = try await ImageGraph.read(from: source, what: reference)
        for entry in graph.index?.manifests ?? [] where !entry.isBakeableImage {
            let kind = entry.annotations?[AnnotationKey.dockerReferenceType] ?? entry.mediaType
            logger.notice("dropping \(entry.digest) (\(kind)) from the index: only platform images are baked")
        }
        // A platform the index declares and the bake does not want is not downloaded: a lock
        // then records only what the bake reads.
        return BaseImage(index: graph.index, images: try await graph.images(platforms.includes, requested: platforms.text))
    }
}
