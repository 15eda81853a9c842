import CArchive

/// A layer's decompressed tar stream, as ``LayerHeaderReader``'s tar reader pulls it, ending
/// where Go's `archive/tar` ends.
///
/// Go-based appliers (containerd, containers/storage) accept a tar that stops right after its
/// last entry's data, without the padding to 512 bytes or the end-of-archive blocks (umoci 0.4.7
/// writes such layers); libarchive asks for the padding and fails. So the layer is decompressed
/// here (libarchive's `raw` format over the gzip and zstd decoders, no filter that runs a
/// program) and, when it ends off a 512-byte boundary, the block is completed with `0xFF`
/// bytes: they stand in for missing padding, while a header cut short keeps a wrong checksum
/// (never an all-zero end block) and fails as before. A stream cut inside the last entry's data
/// would be completed by them too, which ``finish()`` catches: the real stream must reach the
/// end of the last entry's data (``entryData(endsAt:)``).
final class TarEndInput {
    private let what: String
    private let handle: OpaquePointer
    private let compressed: PullInput
    private var atEnd = false
    private let fill: UnsafeMutableRawBufferPointer = {
        let fill = UnsafeMutableRawBufferPointer.allocate(byteCount: 512, alignment: 16)
        fill.initializeMemory(as: UInt8.self, repeating: 0xFF)
        return fill
    }()
    /// Bytes of the real (decompressed) stream delivered so far.
    private(set) var length: Int64 = 0
    private var padded = false
    private var lastDataEnd: Int64 = 0
    /// The first error of the blob's stream or its decompression; the tar reader only sees "-1".
    private(set) var error: Error?

    init(what: String, pull: @escaping () throws -> [UInt8]?) throws {
        guard let handle = archive_read_new() else { throw LayerError.archive("out of memory") }
        self.what = what
        self.handle = handle
        self.compressed = PullInput(pull: pull)
        for status in [archive_read_support_filter_gzip(handle), archive_read_support_filter_zstd(handle),
                       archive_read_support_filter_none(handle), archive_read_support_format_raw(handle),
                       archive_read_support_format_empty(handle)] where status < ARCHIVE_WARN {
            throw failure(status)
        }
        let context = Unmanaged.passUnretained(compressed).toOpaque()
        let read: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int = { _, context, buffer in
            guard let context, let buffer else { return -1 }
            return Unmanaged<PullInput>.fromOpaque(context).takeUnretainedValue().next(into: buffer)
        }
        let opened = archive_read_open(handle, context, nil, read, nil)
        guard opened == ARCHIVE_OK else { throw failure(opened) }
        var entry: OpaquePointer?
        let header = archive_read_next_header(handle, &entry)
        // An empty stream (the `empty` format's) has no raw entry: a tar without entries.
        if header == ARCHIVE_EOF { atEnd = true } else if header < ARCHIVE_WARN { throw failure(header) }
    }

    deinit {
        archive_read_free(handle)
        fill.deallocate()
    }

    private func failure(_ status: Int32) -> Error {
        if let error = compressed.error { return error }
        let message = archive_error_string(handle).map { String(cString: $0) } ?? "status \(status)"
        return LayerError.archive("\(what): \(message)")
    }

    /// The tar reader's read callback: the next decompressed bytes, then the fill, then 0.
    func next(into pointer: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        while !atEnd {
            var block: UnsafeRawPointer?
            var size = 0
            var offset: Int64 = 0
            let status = archive_read_data_block(handle, &block, &size, &offset)
            if status == ARCHIVE_EOF { atEnd = true; break }
            guard status >= ARCHIVE_WARN else {
                error = failure(status)
                return -1
            }
            guard size > 0, let block else { continue }
            length += Int64(size)
            pointer.pointee = block
            return size
        }
        let partial = Int(length % 512)
        guard partial != 0, !padded else { return 0 }
        padded = true
        pointer.pointee = UnsafeRawPointer(fill.baseAddress)
        return 512 - partial
    }

    /// Records where the data of the entry just read ends in the stream.
    func entryData(endsAt end: Int64) {
        lastDataEnd = end
    }

    /// Refuses a stream whose end was completed by the fill inside an entry's data.
    func finish() throws {
        if padded, lastDataEnd > length {
            throw LayerError.archive("\(what): Truncated tar archive: the stream ends inside an entry's data")
        }
    }
}
