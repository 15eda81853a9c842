import KilnStore
import OCI

/// The store as a bake's destination: kiln's own layer, config and manifest are written to the
/// store's layout; a base layer, which a bake would copy from the base, is left in the base's
/// registry ("mounted" in place), and the base is recorded for the manifest just before its
/// name is written, so a push always finds where those layers are.
final class DockerStoreDestination: ImageDestination, Sendable {
    private let layout: OCILayout
    private let images: DockerImageStore
    private let base: RegistryReference

    init(images: DockerImageStore, name: DockerImageName, base: RegistryReference) {
        layout = images.layout(tag: name)
        self.images = images
        self.base = base
    }

    func hasBlob(_ descriptor: Descriptor) async throws -> Bool { try await layout.hasBlob(descriptor) }

    /// Mounts nothing: a blob with a registry source (a base layer) is not copied into the store
    /// at all, it stays in the base's registry (recorded by ``tag(_:bytes:additionalTags:)``),
    /// where `kiln docker push` mounts or streams it from. `true` tells the copier it needs no
    /// copy; a blob without a registry source is written as usual.
    func mountBlob(_ descriptor: Descriptor, from source: RegistryReference?) async throws -> Bool { source != nil }

    func putBlob(_ descriptor: Descriptor, from open: @escaping () async throws -> BlobStream) async throws {
        try await layout.putBlob(descriptor, from: open)
    }

    func makeBlobWriter() throws -> BlobWriter { try layout.makeBlobWriter() }

    func put(_ bytes: [UInt8], as descriptor: Descriptor) async throws { try await layout.put(bytes, as: descriptor) }

    func putManifest(_ bytes: [UInt8], as descriptor: Descriptor) async throws { try await layout.putManifest(bytes, as: descriptor) }

    func tag(_ descriptor: Descriptor, bytes: [UInt8], additionalTags: [String]) async throws {
        try images.recordBase(base, of: descriptor.digest)
        try await layout.tag(descriptor, bytes: bytes, additionalTags: additionalTags)
    }

    func abort() { layout.abort() }
}
