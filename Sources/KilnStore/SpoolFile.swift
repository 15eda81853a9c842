import KilnPlatform

/// A scratch file with no name: created in the temporary directory and unlinked at once, so it
/// vanishes with the process even after `kill -9` (a named spool file would stay behind).
/// Written once, then read from its start as often as an upload is retried.
package final class SpoolFile: @unchecked Sendable {
    private let fd: Int32
    private var length: Int64 = 0
    /// Shown in errors; the file itself has no name any more.
    private let label = "the spooled layer"

    package init() throws {
        let directory = FileIO.temporaryDirectory
        // 0600 from creation (mkstemp's mode): no other user may open it in the moment before
        // it loses its name.
        let (fd, path) = try FileIO.createTemporary(in: directory, mode: 0o600)
        FileIO.remove(path)
        self.fd = fd
    }

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

    private final class Offset: @unchecked Sendable { var value: Int64 = 0 }

    deinit { FileIO.close(fd) }
}
