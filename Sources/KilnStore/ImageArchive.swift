import Foundation
import OCI

import KilnPlatform

/// An image archive being written: `docker-archive:FILE` or `oci-archive:FILE`, as an image
/// destination.
///
/// Blobs are collected in files without a name in FILE's directory (so they need no cleanup,
/// even after `kill -9`, and take room where the archive will be); documents are kept in memory
/// (each is at most 4 MiB). The archive is written only by ``tag(_:bytes:additionalTags:)``, the
/// last step: entries in sorted order into a temporary file beside FILE, then renamed over it,
/// so FILE is either the previous archive (or absent) or the whole new one.
// Sendable: the blobs, documents and records are read and written only under `lock`.
public final class ImageArchive: @unchecked Sendable {
    public let reference: ArchiveReference

    private let lock = NSLock()
    private var blobs: [Digest: SpoolFile] = [:]
    private var documents: [Digest: [UInt8]] = [:]
    private var createdDirectories: [String] = []
    private var prepared = false

    /// Opens an archive reference. Nothing is read or written until asked.
    public init(_ reference: ArchiveReference) {
        self.reference = reference
    }

    var location: String { "\(reference.format.rawValue) '\(reference.path)'" }

    /// The directory FILE is in.
    var directory: String {
        guard let slash = reference.path.lastIndex(of: "/") else { return "." }
        return slash == reference.path.startIndex ? "/" : String(reference.path[..<slash])
    }

    /// Creates FILE's directory when missing (each directory made is removed again by
    /// ``abort()``), sweeps temporary files of dead runs there, and refuses a FILE that is
    /// something other than a regular file: renaming over a device or a link would replace it.
    func prepare() throws {
        try lock.withLock {
            guard !prepared else { return }
            try checkTarget()
            for made in try FileIO.makeDirectories(directory) { createdDirectories.append(made) }
            FileIO.sweepAbandonedTemporaries(in: directory)
            prepared = true
        }
    }

    func checkTarget() throws {
        var info = stat()
        guard lstat(reference.path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw StoreError.io(path: reference.path, reason: "exists and is not a regular file; an archive replaces only a regular file")
        }
    }

    /// A nameless file for one blob, in FILE's directory.
    func makeSpool(for digest: Digest?) throws -> SpoolFile {
        try prepare()
        return try SpoolFile(in: directory, label: "\(location): blob \(digest?.description ?? "being written")")
    }

    func record(_ spool: SpoolFile, as descriptor: Descriptor) throws {
        guard spool.size == descriptor.size else {
            throw StoreError.sizeMismatch(location: location, digest: descriptor.digest, expected: descriptor.size, actual: spool.size)
        }
        lock.withLock { blobs[descriptor.digest] = spool }
    }

    func record(_ bytes: [UInt8], as descriptor: Descriptor) {
        lock.withLock { documents[descriptor.digest] = bytes }
    }

    func contains(_ descriptor: Descriptor) -> Bool {
        lock.withLock {
            if let spool = blobs[descriptor.digest] { return spool.size == descriptor.size }
            if let bytes = documents[descriptor.digest] { return Int64(bytes.count) == descriptor.size }
            return false
        }
    }

    func document(_ digest: Digest) -> [UInt8]? { lock.withLock { documents[digest] } }
    func blob(_ digest: Digest) -> SpoolFile? { lock.withLock { blobs[digest] } }

    /// Drops every collected blob: their files have no names, so closing them frees the room.
    /// - Returns: the directories this archive created.
    @discardableResult
    func dropCollected() -> [String] {
        lock.withLock {
            defer { blobs = [:]; documents = [:]; createdDirectories = []; prepared = false }
            return createdDirectories
        }
    }
}
