import KilnStore
import OCI

/// `kiln digest`: what a reference points at, without downloading layers.
public struct DigestResolver {
    private let store: ImageStore

    public init(store: ImageStore) {
        self.store = store
    }

    /// The descriptor (digest, media type, size) of the manifest or index `reference` names.
    public func resolve(_ reference: ImageReference) async throws -> Descriptor {
        try await store.head(reference)
    }
}
