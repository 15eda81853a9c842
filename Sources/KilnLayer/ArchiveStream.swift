import CArchive
import OCI

/// A libarchive write handle whose output goes to a Swift closure.
///
/// A layer build chains a tar writer, whose output is hashed (the diff_id), to a compressor whose
/// output is hashed again (the blob digest) and written to disk: one pass, bounded memory. The
/// compressor is an `ArchiveStream` too (libarchive's `raw` format with a gzip or zstd filter)
/// unless it is kiln's own ``StoredGzipWriter``.
final class ArchiveStream {
    typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    let handle: OpaquePointer
    private let sink: Sink
    /// The first error a sink threw; libarchive only sees "-1".
    private(set) var sinkError: Error?

    private init(handle: OpaquePointer, sink: @escaping Sink) {
        self.handle = handle
        self.sink = sink
    }

    deinit { archive_write_free(handle) }

    /// A tar writer: PAX-restricted (plain ustar headers, a PAX header only for values that do not
    /// fit), no padding after the end-of-archive blocks.
    static func tar(sink: @escaping Sink) throws -> ArchiveStream {
        guard let handle = archive_write_new() else { throw LayerError.archive("out of memory") }
        let stream = ArchiveStream(handle: handle, sink: sink)
        try stream.check(archive_write_set_format_pax_restricted(handle))
        try stream.check(archive_write_add_filter_none(handle))
        try stream.check(archive_write_set_bytes_per_block(handle, 10240))
        try stream.check(archive_write_set_bytes_in_last_block(handle, 1))
        try stream.open()
        return stream
    }

    /// A compressor for one stream of bytes, with the options that make it deterministic.
    static func compressor(_ format: Compression, level: Int, sink: @escaping Sink) throws -> ArchiveStream {
        guard let handle = archive_write_new() else { throw LayerError.archive("out of memory") }
        let stream = ArchiveStream(handle: handle, sink: sink)
        try stream.check(archive_write_set_format_raw(handle))
        switch format {
        case .gzip:
            try stream.check(archive_write_add_filter_gzip(handle))
            // The gzip header's MTIME is the wall clock by default: turn it off.
            try stream.check(archive_write_set_filter_option(handle, "gzip", "timestamp", nil))
            try stream.check(archive_write_set_filter_option(handle, "gzip", "compression-level", String(level)))
        case .zstd:
            try stream.check(archive_write_add_filter_zstd(handle))
            try stream.check(archive_write_set_filter_option(handle, "zstd", "compression-level", String(level)))
        }
        try stream.check(archive_write_set_bytes_per_block(handle, 65536))
        // Compressed output must end where the compressor ends: no zero padding.
        try stream.check(archive_write_set_bytes_in_last_block(handle, 1))
        try stream.open()
        // The raw format carries exactly one regular-file entry: the tar stream.
        guard let entry = archive_entry_new() else { throw LayerError.archive("out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_filetype(entry, KILN_AE_IFREG)
        archive_entry_set_pathname_utf8(entry, "layer.tar")
        try stream.check(archive_write_header(handle, entry))
        return stream
    }

    private func open() throws {
        let context = Unmanaged.passUnretained(self).toOpaque()
        let write: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int = { _, context, buffer, length in
            guard let context else { return -1 }
            let stream = Unmanaged<ArchiveStream>.fromOpaque(context).takeUnretainedValue()
            guard stream.sinkError == nil else { return -1 }
            do {
                try stream.sink(UnsafeRawBufferPointer(start: buffer, count: length))
                return length
            } catch {
                stream.sinkError = error
                return -1
            }
        }
        try check(archive_write_open(handle, context, nil, write, nil))
    }

    /// Writes data of the current entry.
    func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let written = archive_write_data(handle, base, bytes.count)
        guard written == bytes.count else { throw failure() }
    }

    /// Finishes the archive, flushing every buffered byte through the sink.
    func close() throws {
        try check(archive_write_close(handle))
    }

    /// Converts a libarchive status into an error carrying the sink's error when it caused it.
    func check(_ status: Int32) throws {
        guard status != ARCHIVE_OK else { return }
        if status == ARCHIVE_WARN { return }
        throw failure()
    }

    func failure() -> Error {
        if let sinkError { return sinkError }
        let message = archive_error_string(handle).map { String(cString: $0) } ?? "unknown error"
        return LayerError.archive(message)
    }
}
