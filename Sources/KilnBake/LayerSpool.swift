import KilnCrypto
import KilnStore
import OCI

/// The new layer as it is built beside the secret scan, held until the scan has passed every
/// file: no byte reaches a destination before that (a finding drops the spool, and the
/// destination never sees an upload, a temporary file or a blob). Held in memory up to
/// ``memoryLimit`` (config overlays are small), beyond that in a nameless ``SpoolFile`` (gone
/// with the process even after `kill -9`, and when the spool is dropped).
final class LayerSpool {
    /// The most bytes held in memory; a larger layer moves to a nameless file.
    static let memoryLimit = 16 << 20

    private var memory: [UInt8] = []
    private var file: SpoolFile?
    private(set) var size: Int64 = 0

    /// Appends bytes (one writer: the layer builder).
    func write(_ chunk: UnsafeRawBufferPointer) throws {
        size += Int64(chunk.count)
        if file == nil, memory.count + chunk.count <= Self.memoryLimit {
            memory.append(contentsOf: chunk)
            return
        }
        if file == nil {
            let spilled = try SpoolFile(label: "the new layer's spool")
            try memory.withUnsafeBytes { try spilled.write($0) }
            memory = []
            file = spilled
        }
        try file?.write(chunk)
    }

    /// Hands the bytes written, from the start, to `body` in pieces of up to 1 MiB; several
    /// readers may read at once (each call is independent).
    func read(into body: (UnsafeRawBufferPointer) throws -> Void) throws {
        if let file { return try file.read(into: body) }
        try memory.withUnsafeBytes { bytes in
            var start = 0
            while start < bytes.count {
                let end = min(start + (1 << 20), bytes.count)
                try body(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                start = end
            }
        }
    }

    /// Copies the spool into `writer` and checks, on a second thread while it copies (the scan
    /// and the layer are done: a core is free), that the bytes are still those the layer
    /// hashed; `writer` is not committed here.
    /// - Throws: what the writer or the read throws, or ``StoreError`` when the spool no longer
    ///   has the layer's size or bytes.
    func copy(into writer: BlobWriter, expecting descriptor: Descriptor) throws {
        guard size == descriptor.size else {
            throw StoreError.sizeMismatch(location: "the new layer's spool", digest: descriptor.digest, expected: descriptor.size, actual: size)
        }
        let check = SpoolCheck(self)
        let copied = Result { try read { try writer.write($0) } }
        let digest = try check.digest()
        try copied.get()
        guard digest == descriptor.digest else {
            throw StoreError.digestMismatch(location: "the new layer's spool", expected: descriptor.digest, actual: digest)
        }
    }
}

/// The SHA-256 of a spool, computed on a thread of its own.
// Sendable: `result` is written by the hashing thread before it signals `done`, and read only
// after waiting for it; the spool is only read (a `pread` per piece, or memory nobody writes).
private final class SpoolCheck: @unchecked Sendable {
    private let thread = JoinedThreads()
    private var result: Result<Digest, any Error>?

    init(_ spool: LayerSpool) {
        let reading = UncheckedSpool(spool: spool)
        thread.start { [self] in
            result = Result {
                let hash = SHA256()
                try reading.spool.read { hash.update($0) }
                return Digest(sha256: hash.finalize())
            }
        }
    }

    func digest() throws -> Digest {
        thread.join()
        guard let result else { preconditionFailure("a spool check ended without a result") }
        return try result.get()
    }

    // Sendable only by promise: the spool is not written while it is checked.
    private struct UncheckedSpool: @unchecked Sendable { let spool: LayerSpool }
}
