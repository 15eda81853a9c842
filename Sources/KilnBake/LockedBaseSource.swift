import KilnRecipe
import KilnStore
import OCI

/// A base whose documents come from the lock (already checked against their digests) and whose
/// layers come from the registry: a `kiln build` reads no manifest or config over the network.
final class LockedBaseSource: ImageSource {
    private let documents: ImageSource
    private let blobs: ImageSource
    let imageName: String?

    init(documents snapshot: BaseSnapshot, blobs: ImageSource) {
        documents = snapshot.source
        self.blobs = blobs
        imageName = snapshot.imageName
    }

    var registryReference: RegistryReference? { blobs.registryReference }
    func resolve() async throws -> Descriptor { try await documents.resolve() }
    func fetch(_ descriptor: Descriptor) async throws -> [UInt8] { try await documents.fetch(descriptor) }
    func openBlob(_ descriptor: Descriptor) async throws -> BlobStream { try await blobs.openBlob(descriptor) }
}
