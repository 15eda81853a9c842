import CArchive
import KilnCrypto
import OCI

import KilnPlatform

/// How the new layer is compressed. The levels are fixed so the bytes are too: changing one
/// changes every derived digest.
public struct CompressionSettings: Sendable, Equatable {
    public var algorithm: Compression
    public var level: Int

    /// gzip level 6 (zlib's default: what `gzip`, Docker and go-containerregistry produce).
    public static let gzip = CompressionSettings(algorithm: .gzip, level: 6)
    /// zstd level 3 (zstd's default).
    public static let zstd = CompressionSettings(algorithm: .zstd, level: 3)

    public static func `for`(_ compression: Compression) -> CompressionSettings {
        compression == .gzip ? .gzip : .zstd
    }
}

/// The digests and size of a finished layer blob.
public struct BuiltLayer: Sendable, Equatable {
    /// SHA-256 of the compressed blob: its name in the registry and the manifest.
    public var digest: Digest
    /// SHA-256 of the uncompressed tar: its entry in the config's `rootfs.diff_ids`.
    public var diffID: Digest
    /// Size of the compressed blob in bytes.
    public var size: Int64
    public var compression: Compression
}

/// Writes layer entries as a deterministic tar, compressed, to a byte sink, computing the diff_id
/// and the blob digest in the same single pass.
public struct LayerBuilder {
    public var compression: CompressionSettings
    /// Modification time of every entry, seconds since the epoch (`SOURCE_DATE_EPOCH`, else 0).
    public var modificationTime: Int64

    public init(compression: CompressionSettings = .gzip, modificationTime: Int64 = 0) {
        self.compression = compression
        self.modificationTime = modificationTime
    }

    /// Builds the layer.
    ///
    /// - Parameters:
    ///   - entries: sorted entries from ``OverlayScanner``.
    ///   - output: receives the compressed blob in pieces, in order.
    /// - Returns: digests and size of the blob.
    /// - Throws: ``LayerError`` or whatever `output` throws.
    public func build(_ entries: [LayerEntry], output: @escaping (UnsafeRawBufferPointer) throws -> Void) throws -> BuiltLayer {
        // libarchive converts names through the thread's locale; pin UTF-8 so a name is written
        // the same way whatever LANG the building machine has (and non-ASCII names work at all).
        // The build is synchronous, so the locale stays on this one thread until it is restored.
        let locale = try UTF8Locale()
        defer { locale.restore() }
        let blobHash = SHA256()
        var blobSize: Int64 = 0
        let compressor = try ArchiveStream.compressor(compression) { chunk in
            blobHash.update(chunk)
            blobSize += Int64(chunk.count)
            try output(chunk)
        }
        let tarHash = SHA256()
        let tar = try ArchiveStream.tar { chunk in
            tarHash.update(chunk)
            try compressor.writeData(chunk)
        }
        for entry in entries {
            try write(entry, to: tar)
        }
        try tar.close()
        try compressor.close()
        return BuiltLayer(
            digest: Digest(sha256: blobHash.finalize()),
            diffID: Digest(sha256: tarHash.finalize()),
            size: blobSize,
            compression: compression.algorithm
        )
    }

    private func write(_ entry: LayerEntry, to tar: ArchiveStream) throws {
        guard let header = archive_entry_new() else { throw LayerError.archive("out of memory") }
        defer { archive_entry_free(header) }
        // Only the fields below are set: atime, ctime, uname, gname and the like stay unset so
        // nothing about the building machine or the time of the build reaches the header.
        archive_entry_set_pathname_utf8(header, entry.path.archiveName)
        archive_entry_set_uid(header, Int64(entry.owner.uid))
        archive_entry_set_gid(header, Int64(entry.owner.gid))
        archive_entry_set_mtime(header, time_t(modificationTime), 0)
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
        if case .file(let source, let size) = entry.kind {
            try copyContents(of: source, expectedSize: size, to: tar)
        }
    }

    private func copyContents(of source: FileSource, expectedSize: Int64, to tar: ArchiveStream) throws {
        // What is read is what the scan checked: opened name by name without following links,
        // refused when it is no longer a regular file of the scanned size.
        let (fd, size) = try FileFacts.openBeneath(source)
        defer { close(fd) }
        guard size == expectedSize else { throw LayerError.fileChanged(source.description) }
        var copied: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
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
            try tar.writeData(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
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
