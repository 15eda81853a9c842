import OCI

/// The one place where bytes read from an image source are checked against their descriptor:
/// documents whole (size and digest), blobs as their stream ends. Every source a run reads
/// through (`ImageSession.source`, a lock's snapshot) is wrapped in one; sources themselves only
/// fetch. A mismatch is an error naming where the bytes came from.
public final class VerifyingSource: ImageSource {
    public let inner: ImageSource
    private let location: String

    /// - Parameter location: names the source in errors (`oci:DIR`, `REGISTRY/REPO`).
    public init(_ inner: ImageSource, location: String) {
        self.inner = inner
        self.location = location
    }

    public var imageName: String? { inner.imageName }
    public var registryReference: RegistryReference? { inner.registryReference }

    public func resolve() async throws -> Descriptor { try await inner.resolve() }

    public func fetch(_ descriptor: Descriptor) async throws -> [UInt8] {
        let bytes = try await inner.fetch(descriptor)
        let actual = Digest.of(bytes)
        guard actual == descriptor.digest else {
            throw StoreError.digestMismatch(location: location, expected: descriptor.digest, actual: actual)
        }
        guard Int64(bytes.count) == descriptor.size else {
            throw StoreError.sizeMismatch(location: location, digest: descriptor.digest, expected: descriptor.size, actual: Int64(bytes.count))
        }
        return bytes
    }

    public func openBlob(_ descriptor: Descriptor) async throws -> BlobStream {
        BlobStream.verifying(try await inner.openBlob(descriptor), against: descriptor, location: location)
    }
}
