import CArchive
import KilnCrypto
import OCI

import KilnPlatform

/// The digests and size of a finished layer blob.
public struct BuiltLayer: Sendable, Equatable {
    /// SHA-256 of the compressed blob: its name in the registry and the manifest.
    public var digest: Digest
    /// SHA-256 of the uncompressed tar: its entry in the config's `rootfs.diff_ids`.
    public var diffID: Digest
    /// Size of the compressed blob in bytes.
    public var size: Int64
    public var compression: LayerCompression
}

/// Writes layer entries as a deterministic tar, compressed, to a byte sink, computing the diff_id
/// and the blob digest in the same single pass.
public struct LayerBuilder {
    public var compression: LayerCompression
    /// How entries are dated (their tar mtime).
    public var entryTimes: EntryTimes
    /// The SHA-256 of a file read in another pass (``readFile(_:size:inspect:)``, the pass that
    /// also scans it for secrets), asked for when the layer comes to the file: such a file is
    /// not hashed again for its date, and its copy is checked against this digest whatever the
    /// dates. `nil`: the layer hashes the file itself. It may wait until that pass has read the
    /// file (the scan runs beside the layer), and its error fails the build.
    public var knownDigest: (FileSource) throws -> [UInt8]?

    public init(compression: LayerCompression = .storedGzip, entryTimes: EntryTimes = .content, knownDigests: [FileSource: [UInt8]] = [:]) {
        self.init(compression: compression, entryTimes: entryTimes, knownDigest: { knownDigests[$0] })
    }

    public init(compression: LayerCompression = .storedGzip, entryTimes: EntryTimes = .content, knownDigest: @escaping (FileSource) throws -> [UInt8]?) {
        self.compression = compression
        self.entryTimes = entryTimes
        self.knownDigest = knownDigest
    }

    /// Builds the layer.
    ///
    /// - Parameters:
    ///   - entries: sorted entries from ``OverlayScanner``.
    ///   - output: receives the compressed blob in pieces, in order.
    /// - Returns: digests and size of the blob.
    /// - Throws: ``LayerError`` or whatever `output` throws.
    public func build(_ entries: [LayerEntry], output: @escaping (UnsafeRawBufferPointer) throws -> Void) throws -> BuiltLayer {
        // The last line of defence: whatever the scanner let through, kiln's layer never holds
        // a `.wh.` name except the whiteout a removal asks for, before a byte is written.
        for entry in entries {
            let names = entry.path.components
            let marked = entry.kind == .whiteout ? names.dropLast() : names[...]
            guard !marked.contains(where: { $0.hasPrefix(".wh.") }), entry.kind != .whiteout || names.last.map({ $0.hasPrefix(".wh.") && !$0.hasPrefix(".wh..wh.") }) == true else {
                throw LayerError.output("entry '\(entry.path)' has a name starting with '.wh.', which would delete base files; refused")
            }
        }
        // libarchive converts names through the thread's locale; pin UTF-8 so a name is written
        // the same way whatever LANG the building machine has (and non-ASCII names work at all).
        // The build is synchronous, so the locale stays on this one thread until it is restored.
        let locale = try UTF8Locale()
        defer { locale.restore() }
        let blobHash = SHA256()
        var blobSize: Int64 = 0
        let compressor = try compression.compressor { chunk in
            blobHash.update(chunk)
            blobSize += Int64(chunk.count)
            try output(chunk)
        }
        let tarHash = SHA256()
        let tar = try ArchiveStream.tar { chunk in
            tarHash.update(chunk)
            try compressor.write(chunk)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        for entry in entries {
            try write(entry, to: tar, buffer: buffer)
        }
        try tar.close()
        try compressor.finish()
        return BuiltLayer(
            digest: Digest(sha256: blobHash.finalize()),
            diffID: Digest(sha256: tarHash.finalize()),
            size: blobSize,
            compression: compression
        )
    }

    private func write(_ entry: LayerEntry, to tar: ArchiveStream, buffer: UnsafeMutableRawBufferPointer) throws {
        // A file is opened before its header is written: a content date needs its bytes first.
        var file: OpenedFile?
        if case .file(let source, let size) = entry.kind { file = try OpenedFile(source, expectedSize: size) }
        defer { file?.closeFile() }
        let time: Int64
        var contentDigest: [UInt8]?
        if case .file(let source, _) = entry.kind { contentDigest = try knownDigest(source) }
        switch entryTimes {
        case .fixed(let fixed):
            time = fixed
        case .content:
            if let known = contentDigest {
                time = EntryTimes.contentTime(sha256: known)
            } else if let file {
                // Read twice (hash, then copy) rather than held in memory: overlays may be large,
                // and reading from the page cache the second time costs little (docs/benchmarks.md).
                let digest = try file.sha256(buffer: buffer)
                contentDigest = digest
                time = EntryTimes.contentTime(sha256: digest)
            } else {
                time = EntryTimes.windowStart
            }
        }

        guard let header = archive_entry_new() else { throw LayerError.archive("out of memory") }
        defer { archive_entry_free(header) }
        // Only the fields below are set: atime, ctime, uname, gname and the like stay unset so
        // nothing about the building machine or the time of the build reaches the header.
        archive_entry_set_pathname_utf8(header, entry.path.archiveName)
        archive_entry_set_uid(header, Int64(entry.owner.uid))
        archive_entry_set_gid(header, Int64(entry.owner.gid))
        archive_entry_set_mtime(header, time_t(time), 0)
        archive_entry_set_perm(header, mode_t(entry.mode & 0o7777))
        switch entry.kind {
        case .directory:
            archive_entry_set_filetype(header, KILN_AE_IFDIR)
            archive_entry_set_size(header, 0)
        case .symlink(let target):
            archive_entry_set_filetype(header, KILN_AE_IFLNK)
            archive_entry_set_symlink_utf8(header, target)
            archive_entry_set_size(header, 0)
        case .whiteout:
            archive_entry_set_filetype(header, KILN_AE_IFREG)
            archive_entry_set_size(header, 0)
        case .file(_, let size):
            archive_entry_set_filetype(header, KILN_AE_IFREG)
            archive_entry_set_size(header, size)
        }
        try tar.check(archive_write_header(tar.handle, header))
        if let file {
            try file.copy(to: tar, buffer: buffer, matching: contentDigest)
        }
    }
}

extension LayerBuilder {
    /// Reads an overlay file as the layer reads it, once, before the layer copies it: hands
    /// each piece to `inspect` (the secret scan) and returns the file's SHA-256, which
    /// ``knownDigest`` then gives the layer (its date, and the check that the copy has the
    /// same bytes).
    public static func readFile(_ source: FileSource, size: Int64, inspect: (UnsafeRawBufferPointer) -> Void) throws -> [UInt8] {
        let file = try OpenedFile(source, expectedSize: size)
        defer { file.closeFile() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        return try file.sha256(buffer: buffer, inspect: inspect)
    }

    /// The SHA-256 of an overlay file as the layer reads it (opened beneath its overlay, without
    /// following links, and of the scanned size): what provenance records for it.
    public static func fileDigest(_ source: FileSource, size: Int64) throws -> Digest {
        let file = try OpenedFile(source, expectedSize: size)
        defer { file.closeFile() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        return Digest(sha256: try file.sha256(buffer: buffer))
    }
}

/// An overlay file opened for the layer: what is read is what the scan checked, opened name by
/// name without following links, refused when it is no longer a regular file of the scanned
/// size, or (when it was hashed for its date) no longer has the bytes it was dated by.
private struct OpenedFile {
    let source: FileSource
    let expectedSize: Int64
    let fd: Int32

    init(_ source: FileSource, expectedSize: Int64) throws {
        let (fd, size) = try FileFacts.openBeneath(source)
        guard size == expectedSize else {
            close(fd)
            throw LayerError.fileChanged(source.description)
        }
        self.source = source
        self.expectedSize = expectedSize
        self.fd = fd
    }

    func closeFile() { close(fd) }

    /// The SHA-256 of the file's bytes; the next read starts from the beginning again.
    func sha256(buffer: UnsafeMutableRawBufferPointer, inspect: (UnsafeRawBufferPointer) -> Void = { _ in }) throws -> [UInt8] {
        let hash = SHA256()
        try readAll(buffer: buffer) { chunk in
            hash.update(chunk)
            inspect(chunk)
        }
        guard lseek(fd, 0, SEEK_SET) == 0 else {
            throw LayerError.unreadable(path: source.description, reason: String(cString: strerror(errno)))
        }
        return hash.finalize()
    }

    /// Copies the bytes into the tar; with `digest`, checks they are still the bytes it names.
    func copy(to tar: ArchiveStream, buffer: UnsafeMutableRawBufferPointer, matching digest: [UInt8]?) throws {
        let hash = digest.map { _ in SHA256() }
        try readAll(buffer: buffer) { chunk in
            hash?.update(chunk)
            try tar.writeData(chunk)
        }
        if let hash, hash.finalize() != digest { throw LayerError.fileChanged(source.description) }
    }

    private func readAll(buffer: UnsafeMutableRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var copied: Int64 = 0
        while true {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw LayerError.unreadable(path: source.description, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            copied += Int64(count)
            // A file growing under us would overrun the size already written in its header.
            guard copied <= expectedSize else { throw LayerError.fileChanged(source.description) }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        guard copied == expectedSize else { throw LayerError.fileChanged(source.description) }
    }
}

/// A thread-local `C.UTF-8` LC_CTYPE, installed with `uselocale` and restored afterwards.
private struct UTF8Locale {
    private let installed: locale_t
    private let previous: locale_t

    init() throws {
        guard let locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", nil) else {
            throw LayerError.archive("the C.UTF-8 locale is not available on this machine")
        }
        installed = locale
        previous = uselocale(locale)
    }

    func restore() {
        uselocale(previous)
        freelocale(installed)
    }
}
