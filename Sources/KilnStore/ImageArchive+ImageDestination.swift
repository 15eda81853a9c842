import KilnLayer
import OCI

import KilnPlatform

extension ImageArchive: ImageDestination {
    /// Whether this run has collected the blob: an archive is always written whole, so nothing
    /// that was in an earlier archive at FILE counts.
    public func hasBlob(_ descriptor: Descriptor) async throws -> Bool { contains(descriptor) }

    public func mountBlob(_ descriptor: Descriptor, from source: RegistryReference?) async throws -> Bool { false }

    /// Collects a blob from a stream the source verifies as it ends (size and digest), so a
    /// base layer that does not match its digest fails here, before anything is written.
    public func putBlob(_ descriptor: Descriptor, from open: @escaping () async throws -> BlobStream) async throws {
        let spool = try makeSpool(for: descriptor.digest)
        for try await chunk in try await open() {
            try chunk.withUnsafeBytes { try spool.write($0) }
        }
        try record(spool, as: descriptor)
    }

    public func makeBlobWriter() throws -> BlobWriter {
        ArchiveBlobWriter(archive: self, spool: try makeSpool(for: nil))
    }

    public func put(_ bytes: [UInt8], as descriptor: Descriptor) async throws {
        record(bytes, as: descriptor)
    }

    public func putManifest(_ bytes: [UInt8], as descriptor: Descriptor) async throws {
        record(bytes, as: descriptor)
    }

    /// Writes the archive, the last step: docker-archive names the image `NAME:TAG` for the
    /// reference's tag and each of `additionalTags`; oci-archive lists the root once per tag.
    public func tag(_ descriptor: Descriptor, bytes: [UInt8], additionalTags: [String]) async throws {
        record(bytes, as: descriptor)
        let tags = [reference.tag].compactMap { $0 } + additionalTags
        let lookup: ArchiveContents.Lookup = { [self] digest in
            if let bytes = document(digest) { return .bytes(bytes) }
            return blob(digest).map(ArchiveContents.Body.spool)
        }
        let contents: ArchiveContents
        switch reference.format {
        case .oci:
            contents = try ArchiveContents.oci(root: descriptor, tags: tags, lookup: lookup, location: location)
        case .docker:
            contents = try ArchiveContents.docker(root: descriptor, name: reference.name, tags: reference.name == nil ? [] : tags, lookup: lookup, location: location)
        }
        try write(contents)
        // Written: the collected blobs are no longer needed, the directories stay.
        dropCollected()
    }

    public func abort() {
        for made in dropCollected().reversed() { FileIO.removeDirectory(made) }
    }

    /// Writes the entries into a temporary file beside FILE and renames it over FILE.
    private func write(_ contents: ArchiveContents) throws {
        try prepare()
        let (fd, temporary) = try FileIO.createTemporary(in: directory)
        var placed = false
        defer {
            FileIO.close(fd)
            // Only when not placed: once renamed, the name may already be another run's file.
            if !placed { FileIO.remove(temporary) }
        }
        let tar = try TarFileWriter { chunk in try FileIO.writeAll(fd, chunk, path: temporary) }
        for entry in contents.sorted {
            switch entry.body {
            case nil:
                try tar.addDirectory(entry.name)
            case .bytes(let bytes)?:
                try tar.addFile(entry.name, bytes: bytes)
            case .spool(let spool)?:
                try tar.addFile(entry.name, size: spool.size) { write in try spool.read(into: write) }
            }
        }
        try tar.finish()
        guard fsync(fd) == 0 else { throw StoreError.io(path: temporary, reason: FileIO.errorText()) }
        // Checked again: something may have taken FILE's name since the run began.
        try checkTarget()
        try FileIO.rename(temporary, to: reference.path)
        placed = true
    }
}

/// The new layer, written into a nameless file of the archive's directory.
// Sendable only by promise: a blob writer has one writer task (the layer builder) at a time.
final class ArchiveBlobWriter: BlobWriter, @unchecked Sendable {
    private let archive: ImageArchive
    private var spool: SpoolFile?

    init(archive: ImageArchive, spool: SpoolFile) {
        self.archive = archive
        self.spool = spool
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        guard let spool else { throw StoreError.io(path: archive.location, reason: "the layer was already committed or cancelled") }
        try spool.write(chunk)
    }

    func commit(as descriptor: Descriptor) async throws {
        guard let spool else { return }
        self.spool = nil
        try archive.record(spool, as: descriptor)
    }

    func cancel() { spool = nil }
}
