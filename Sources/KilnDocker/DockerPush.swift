import KilnBake
import KilnStore
import OCI

/// `docker push NAME:TAG`: the store's image to the registry its name points at. A loaded
/// image's layers go from the store; a built image's base layers go from the base's registry (mounted on the same registry, else streamed and
/// verified), kiln's own layer and documents from the store; blobs the registry holds are not
/// sent again and the tag is written last, and not at all when it already points at the digest.
package struct DockerPush {
    let images: DockerImageStore
    let store: ImageSession
    let progress: TransferProgress

    package init(images: DockerImageStore, store: ImageSession, progress: TransferProgress) {
        self.images = images
        self.store = store
        self.progress = progress
    }

    /// - Returns: the manifest pushed (Docker prints its digest and size).
    package func push(_ name: DockerImageName) async throws -> Descriptor {
        guard let descriptor = try images.lookUp(name) else { throw DockerError.notLocal(name.description) }
        let manifestBytes = try await images.source(name).fetch(descriptor)
        let manifest = try ImageManifest(raw: manifestBytes, descriptorMediaType: descriptor.mediaType, what: "manifest \(descriptor.digest) of kiln docker image '\(name)'")
        let source: ImageSource
        if try await images.holdsLayers(of: manifest, name: name) {
            // A loaded image: everything is in the store.
            source = images.source(name)
        } else {
            let base = try images.base(of: descriptor.digest, name: name)
            source = try DockerStoreSource(store: images, name: name, base: base) { try store.source(.registry($0)) }
        }
        let reference = ImageReference.registry(name.reference)
        let graph = ImageGraphWriter.Graph(blobs: [manifest.config] + manifest.layers, root: .init(descriptor: descriptor, bytes: manifestBytes))
        try await ImageGraphWriter(store: store, to: reference, progress: progress).write(graph, from: source)
        return descriptor
    }
}
