import CArchive

import KilnPlatform

/// Writes a plain tar of directories and regular files, the same bytes for the same entries:
/// every entry dated 0, owned by 0:0 with no user or group names, files 0644 and directories
/// 0755, PAX-restricted headers. Image archives (`docker-archive`, `oci-archive`) are written
/// with it; the caller hands entries in the order they should appear (sorted).
package final class TarFileWriter {
    private let tar: ArchiveStream

    /// - Parameter sink: receives the archive in pieces, in order.
    package init(sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        tar = try ArchiveStream.tar(sink: sink)
    }

    /// Adds a directory entry.
    package func addDirectory(_ name: String) throws {
        try writeHeader(name, type: KILN_AE_IFDIR, mode: 0o755, size: 0)
    }

    /// Adds a regular file of exactly `size` bytes, which `contents` hands over in pieces.
    /// - Throws: ``LayerError/archive(_:)`` when `contents` gives more or fewer bytes than `size`.
    package func addFile(_ name: String, size: Int64, contents: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        try writeHeader(name, type: KILN_AE_IFREG, mode: 0o644, size: size)
        var written: Int64 = 0
        try contents { chunk in
            written += Int64(chunk.count)
            // libarchive would silently truncate what exceeds the header's size.
            guard written <= size else { throw LayerError.archive("\(name) has more than its \(size) bytes") }
            try tar.writeData(chunk)
        }
        guard written == size else { throw LayerError.archive("\(name) ended after \(written) of its \(size) bytes") }
    }

    /// Adds a regular file holding `bytes`.
    package func addFile(_ name: String, bytes: [UInt8]) throws {
        try addFile(name, size: Int64(bytes.count)) { write in try bytes.withUnsafeBytes { try write($0) } }
    }

    /// Writes the end-of-archive blocks and flushes everything through the sink.
    package func finish() throws {
        try tar.close()
    }

    private func writeHeader(_ name: String, type: UInt32, mode: mode_t, size: Int64) throws {
        guard let header = archive_entry_new() else { throw LayerError.archive("out of memory") }
        defer { archive_entry_free(header) }
        // Only these fields: nothing about the writing machine or the time reaches the header.
        archive_entry_set_pathname_utf8(header, name)
        archive_entry_set_filetype(header, type)
        archive_entry_set_perm(header, mode)
        archive_entry_set_uid(header, 0)
        archive_entry_set_gid(header, 0)
        archive_entry_set_mtime(header, 0, 0)
        archive_entry_set_size(header, size)
        try tar.check(archive_write_header(tar.handle, header))
    }
}
