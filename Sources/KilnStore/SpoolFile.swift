import KilnPlatform

/// A scratch file with no name: created in a directory and unlinked at once, so it vanishes
/// with the process even after `kill -9` (a named spool file would stay behind). Written once,
/// then read from its start as often as an upload is retried or an archive is written.
// Sendable: written by one writer, then only read with `pread` at explicit offsets; `length`
// is set before any reader starts.
package final class SpoolFile: @unchecked Sendable {
    private let fd: Int32
    private var length: Int64 = 0
    /// Shown in errors; the file itself has no name any more.
    private let label: String

    /// - Parameters:
    ///   - directory: where the file is made (its file system holds the bytes): the temporary
    ///     directory when `nil`.
    ///   - label: names the file in errors.
    package init(in directory: String? = nil, label: String = "the spooled layer") throws {
        // 0600 from creation (mkstemp's mode): no other user may open it in the moment before
        // it loses its name.
        let (fd, path) = try FileIO.createTemporary(in: directory ?? FileIO.temporaryDirectory, mode: 0o600)
        FileIO.remove(path)
        self.fd = fd
        self.label = label
    }

    /// How many bytes were written.
    package var size: Int64 { length }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        try FileIO.writeAll(fd, bytes, path: label)
        length += Int64(bytes.count)
    }

    /// The bytes written so far, from the start; independent of other streams of this file.
    package func stream() -> BlobStream {
        let offset = Offset()
        return BlobStream { [self] in
            guard offset.value < length else { return nil }
            var chunk = [UInt8](repeating: 0, count: Int(min(Int64(1 << 20), length - offset.value)))
            let count = try chunk.withUnsafeMutableBytes { try FileIO.read(fd, at: offset.value, into: $0, path: label) }
            guard count > 0 else { throw StoreError.io(path: label, reason: "ended before its \(length) bytes") }
            offset.value += Int64(count)
            chunk.removeLast(chunk.count - count)
            return chunk
        }
    }

    /// Hands the bytes written so far, from the start, to `body` in pieces of up to 1 MiB.
    package func read(into body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while offset < length {
            let wanted = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(min(Int64(buffer.count), length - offset))])
            let count = try FileIO.read(fd, at: offset, into: wanted, path: label)
            guard count > 0 else { throw StoreError.io(path: label, reason: "ended before its \(length) bytes") }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            offset += Int64(count)
        }
    }

    // Sendable only by promise: each reading stream owns one offset and has one consumer.
    private final class Offset: @unchecked Sendable { var value: Int64 = 0 }

    deinit { FileIO.close(fd) }
}
