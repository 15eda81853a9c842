import KilnStore
import OCI

/// An image of the store as `push` reads it: documents and kiln's own layer from the store,
/// the base's layers from the base's repository (as its build recorded it, see
/// ``DockerImageStore/base(of:name:)``), verified like every source. Its registry reference is
/// the base's, so a push to the base's registry mounts the layers instead of copying them.
final class DockerStoreSource: ImageSource, Sendable {
    private let local: ImageSource
    private let localLayout: OCILayout
    private let base: ImageSource
    let registryReference: RegistryReference?

    init(store: DockerImageStore, name: DockerImageName, base: RegistryReference, openBase: (RegistryReference) throws -> ImageSource) throws {
        localLayout = OCILayout(LayoutReference(directory: store.directory, tag: name.description), layersMayBeElsewhere: true)
        local = store.source(name)
        self.base = try openBase(base)
        registryReference = base
    }

    var imageName: String? { nil }

    func resolve() async throws -> Descriptor { try await local.resolve() }

    func fetch(_ descriptor: Descriptor) async throws -> [UInt8] { try await local.fetch(descriptor) }

    func openBlob(_ descriptor: Descriptor) async throws -> BlobStream {
        if try await localLayout.hasBlob(descriptor) { return try await local.openBlob(descriptor) }
        return try await base.openBlob(descriptor)
    }
}
