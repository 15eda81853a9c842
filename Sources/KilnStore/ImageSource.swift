import OCI

/// Somewhere images are read from. A source only fetches: checking what it hands out against
/// the digests is the job of ``VerifyingSource``, which wraps every source a run reads (the
/// run's image store hands out only wrapped ones), so each conformer need not repeat it.
public protocol ImageSource: AnyObject, Sendable {
    /// A registry name for the image (`docker.io/library/kong:2.6.0-alpine`), when it has one;
    /// used for the `org.opencontainers.image.base.name` annotation.
    var imageName: String? { get }

    /// Where the image lives when it is in a registry: lets a destination on the same registry
    /// mount blobs instead of copying them.
    var registryReference: RegistryReference? { get }

    /// The descriptor the reference points at: a manifest or an index.
    func resolve() async throws -> Descriptor

    /// A manifest, index or config: small documents read whole and size-capped (verified by
    /// the wrapping ``VerifyingSource``).
    func fetch(_ descriptor: Descriptor) async throws -> [UInt8]

    /// Opens a blob of any size as a stream; ``VerifyingSource`` checks it while it is read
    /// (``BlobStream/verifying(_:against:location:)``).
    func openBlob(_ descriptor: Descriptor) async throws -> BlobStream
}

/// Somewhere images are written to. Nothing becomes visible under a tag before
/// ``ImageDestination/tag(_:bytes:additionalTags:)``.
public protocol ImageDestination: AnyObject, Sendable {
    /// Whether the destination already holds this blob (then it is not written again).
    func hasBlob(_ descriptor: Descriptor) async throws -> Bool

    /// Tries to take the blob from another repository of the same registry without copying it:
    /// from `source` when it is on this registry, else from a repository known to hold it.
    /// - Returns: whether the blob needs no copy: it is now present (the Docker store, which
    ///   keeps base layers in their registry, also answers `true` for those).
    func mountBlob(_ descriptor: Descriptor, from source: RegistryReference?) async throws -> Bool

    /// Stores a blob from a stream. `open` may be called again to retry from the start.
    func putBlob(_ descriptor: Descriptor, from open: @escaping () async throws -> BlobStream) async throws

    /// Starts a new blob written in pieces (the layer being built).
    func makeBlobWriter() throws -> BlobWriter

    /// Stores a small blob (a config) in one go.
    func put(_ bytes: [UInt8], as descriptor: Descriptor) async throws

    /// Stores a manifest that is not the one being tagged (a child of an index), by digest.
    func putManifest(_ bytes: [UInt8], as descriptor: Descriptor) async throws

    /// Points the reference's tag, and `additionalTags` too, at the root manifest or index: the
    /// last step of a write, as one step where the destination allows (a layout writes all of
    /// them in one `index.json` update).
    func tag(_ descriptor: Descriptor, bytes: [UInt8], additionalTags: [String]) async throws

    /// ``tag(_:bytes:additionalTags:)`` once `first` (what must be in place before any tag) is
    /// done: a destination that reads its tags before writing them (a registry: one HEAD per
    /// tag) reads them while `first` runs, and writes nothing before it returned.
    func tag(_ descriptor: Descriptor, bytes: [UInt8], additionalTags: [String], after first: @escaping @Sendable () async throws -> Void) async throws

    /// Removes what this destination wrote since it was opened, where it can. Called after a failure.
    func abort()
}

extension ImageDestination {
    /// `first`, then the tags: for destinations that read nothing before writing a tag.
    public func tag(_ descriptor: Descriptor, bytes: [UInt8], additionalTags: [String], after first: @escaping @Sendable () async throws -> Void) async throws {
        try await first()
        try await tag(descriptor, bytes: bytes, additionalTags: additionalTags)
    }
}

/// A blob being written in pieces.
public protocol BlobWriter: AnyObject {
    /// Appends bytes.
    func write(_ chunk: UnsafeRawBufferPointer) throws
    /// Makes the blob visible under `descriptor.digest`; the caller computed that digest.
    func commit(as descriptor: Descriptor) async throws
    /// Drops what was written.
    func cancel()
}

/// The most bytes a manifest, index or config may have: larger ones are refused, never buffered.
public let maxMetadataBlobSize = 4 * 1024 * 1024
