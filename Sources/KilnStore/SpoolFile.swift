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
        let place = directory ?? FileIO.temporaryDirectory
        let made: (fd: Int32, path: String)
        do {
            made = try FileIO.createTemporary(in: place, mode: 0o600)
        } catch StoreError.io(_, let reason) {
            // The directory's own error alone ("/proc: No such file or directory") does not
            // say what kiln was trying to do there, nor that TMPDIR chose it.
            throw StoreError.io(path: label, reason: "cannot make a temporary file in \(place)\(directory == nil ? " (the temporary directory, TMPDIR)" : ""): \(reason)")
        }
        let (fd, path) = made
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
    package func stream() -> BlobStream { stream(from: 0, length: size) }

    /// Hands the bytes written so far, from the start, to `body` in pieces of up to 1 MiB (one
    /// buffer, reused: a piece is valid only during its call).
    package func read(into body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        let end = length
        while offset < end {
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(min(Int64(buffer.count), end - offset))])
            let count = try FileIO.read(fd, at: offset, into: piece, path: label)
            guard count > 0 else { throw StoreError.io(path: label, reason: "ended before its \(end) bytes") }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            offset += Int64(count)
        }
    }

    /// Reads what was written at `offset` into `buffer`; returns how many bytes (0 at the end).
    /// A writer may go on appending meanwhile: bytes below what it reported written are read.
    package func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try FileIO.read(fd, at: offset, into: buffer, path: label)
    }

    /// `length` bytes from `start` (within what was written), in chunks of up to 1 MiB.
    package func stream(from start: Int64, length: Int64) -> BlobStream {
        let next = chunks(from: start, length: length)
        return BlobStream { try next() }
    }

    /// The same range as a function returning the next chunk, `nil` at the end (for readers
    /// that are not async): the one read loop of a spool file.
    package func chunks(from start: Int64, length: Int64) -> @Sendable () throws -> [UInt8]? {
        let offset = Offset()
        let end = min(start + length, self.length)
        offset.value = start
        return { [self] in
            guard offset.value < end else { return nil }
            // Not zero-filled first: the read overwrites what it returns.
            let chunk = try [UInt8](unsafeUninitializedCapacity: Int(min(Int64(1 << 20), end - offset.value))) { buffer, initialized in
                initialized = try FileIO.read(fd, at: offset.value, into: UnsafeMutableRawBufferPointer(buffer), path: label)
            }
            guard !chunk.isEmpty else { throw StoreError.io(path: label, reason: "ended before its \(end) bytes") }
            offset.value += Int64(chunk.count)
            return chunk
        }
    }

    // Sendable only by promise: each reading stream owns one offset and has one consumer.
    private final class Offset: @unchecked Sendable { var value: Int64 = 0 }

    deinit { FileIO.close(fd) }
}
