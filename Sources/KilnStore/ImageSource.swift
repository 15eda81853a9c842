import OCI

/// Somewhere images are read from. Every byte handed out has been checked against its digest.
public protocol ImageSource: AnyObject {
    /// A registry name for the image (`docker.io/library/kong:2.6.0-alpine`), when it has one;
    /// used for the `org.opencontainers.image.base.name` annotation.
    var imageName: String? { get }

    /// The descriptor the reference points at: a manifest or an index.
    func resolve() async throws -> Descriptor

    /// A manifest, index or config: small blobs read whole, verified, size-capped.
    func fetch(_ descriptor: Descriptor) async throws -> [UInt8]

    /// Streams a blob of any size into `writer`, verifying size and digest before returning.
    func copyBlob(_ descriptor: Descriptor, into writer: BlobWriter) async throws
}

/// Somewhere images are written to. Nothing becomes visible under a tag before ``ImageDestination/tag(_:)``.
public protocol ImageDestination: AnyObject {
    /// Whether the destination already holds this blob (then it is not written again).
    func hasBlob(_ descriptor: Descriptor) async throws -> Bool

    /// Starts a new blob; the caller writes its bytes and commits it under its digest.
    func makeBlobWriter() throws -> BlobWriter

    /// Stores a small blob (a manifest or a config) in one go.
    func put(_ bytes: [UInt8], as descriptor: Descriptor) async throws

    /// Points the reference's tag at `descriptor`: the last step of a bake.
    func tag(_ descriptor: Descriptor) async throws

    /// Removes everything this destination wrote since it was opened. Called after a failure.
    func abort()
}

/// A blob being written in pieces.
public protocol BlobWriter: AnyObject {
    /// Appends bytes.
    func write(_ chunk: UnsafeRawBufferPointer) throws
    /// Makes the blob visible under `descriptor.digest` after checking the bytes hash to it.
    func commit(as descriptor: Descriptor) async throws
    /// Drops what was written.
    func cancel()
}

/// The most bytes a manifest, index or config may have: larger ones are refused, never buffered.
public let maxMetadataBlobSize = 4 * 1024 * 1024
