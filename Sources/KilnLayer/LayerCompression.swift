import OCI

/// How the new layer is compressed. Each choice fixes its parameters, so the bytes are fixed
/// too: changing the choice changes every derived digest.
public enum LayerCompression: String, Sendable, Equatable, CaseIterable {
    /// gzip of stored (uncompressed) deflate blocks written by kiln itself (``StoredGzipWriter``):
    /// the bytes depend only on kiln, so a digest computed on any machine matches CI's. Config
    /// layers are kilobytes, so compressing them saves next to nothing. The default.
    case storedGzip = "stored-gzip"
    /// zlib deflate level 6 through libarchive (what `gzip`, Docker and go-containerregistry
    /// write): smaller for large text overlays, but the bytes follow the zlib of the machine
    /// (zlib-ng on Fedora 40+, Apple's on macOS give other bytes and so other digests).
    case gzip
    /// zstd level 3, single-threaded; OCI bases only (Docker's media types have no zstd).
    case zstd

    /// The blob's format on the wire, which names its media type.
    public var format: Compression { self == .zstd ? .zstd : .gzip }

    /// A compressor for one layer, handing its output to `sink` in order.
    func compressor(sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws -> LayerCompressor {
        switch self {
        case .storedGzip: return try StoredGzipWriter(sink: sink)
        case .gzip: return try ArchiveStream.compressor(.gzip, level: 6, sink: sink)
        case .zstd: return try ArchiveStream.compressor(.zstd, level: 3, sink: sink)
        }
    }
}

/// The compressing stage of a layer build: takes the tar stream in pieces and hands compressed
/// bytes to its sink.
protocol LayerCompressor: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Flushes everything, ending the compressed stream.
    func finish() throws
}

extension ArchiveStream: LayerCompressor {
    func write(_ bytes: UnsafeRawBufferPointer) throws { try writeData(bytes) }
    func finish() throws { try close() }
}
