import OCI

import KilnPlatform

/// Writes a blob into a layout's `blobs/sha256` under a temporary name and renames it to its
/// digest on commit, so a blob file either has its full, named content or does not exist.
// Sendable only by promise: a blob writer has one writer task (the layer builder) at a time;
// the layout reaches it through its lock-guarded records only to close it on abort.
final class FileBlobWriter: BlobWriter, @unchecked Sendable {
    private let layout: OCILayout
    private let blobDirectory: String
    private var fd: Int32
    private let temporaryPath: String
    private var finished = false

    init(layout: OCILayout, blobDirectory: String) throws {
        self.layout = layout
        self.blobDirectory = blobDirectory
        (fd, temporaryPath) = try FileIO.createTemporary(in: blobDirectory)
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        try FileIO.writeAll(fd, chunk, path: temporaryPath)
    }

    func commit(as descriptor: Descriptor) async throws {
        guard !finished else { return }
        finished = true
        // Placed while still open and locked, so another run's sweep cannot take the file in
        // between; the temporary name is gone afterwards whatever happened.
        defer {
            close(fd)
            fd = -1
        }
        do {
            guard fsync(fd) == 0 else { throw StoreError.io(path: temporaryPath, reason: FileIO.errorText()) }
            let target = layout.path(of: descriptor.digest)
            // Content addressing: a complete file under this name already holds these bytes. One
            // of another size (a leftover of an interrupted copy by another tool) is replaced.
            if FileIO.size(target) == descriptor.size {
                FileIO.remove(temporaryPath)
            } else if FileIO.exists(target) {
                try FileIO.rename(temporaryPath, to: target)
                layout.recordCreated(path: target)
            } else if try FileIO.placeNew(temporaryPath, at: target) {
                layout.recordCreated(path: target)
            }
        } catch {
            // Only when not placed: once renamed, the name may already be another run's file.
            FileIO.remove(temporaryPath)
            throw error
        }
    }

    func cancel() {
        guard !finished else { return }
        finished = true
        close(fd)
        fd = -1
        FileIO.remove(temporaryPath)
    }

    deinit { cancel() }
}
