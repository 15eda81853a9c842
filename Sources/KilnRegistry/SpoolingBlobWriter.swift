import Foundation
import KilnStore
import OCI

/// Collects the new layer in a temporary file, then uploads it from there on commit. The new
/// layer holds config files (small); base layers are never spooled: they stream.
final class SpoolingBlobWriter: BlobWriter {
    private let destination: RegistryImage
    private let path: String
    private var handle: FileHandle?

    init(destination: RegistryImage) throws {
        self.destination = destination
        path = NSTemporaryDirectory() + "/kiln-layer-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw StoreError.io(path: path, reason: "cannot create a temporary file")
        }
        self.handle = handle
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        try handle?.write(contentsOf: Data(chunk))
    }

    func commit(as descriptor: Descriptor) async throws {
        try handle?.close()
        handle = nil
        defer { try? FileManager.default.removeItem(atPath: path) }
        if try await destination.hasBlob(descriptor) { return }
        try await destination.putBlob(descriptor) { try BlobStream.file(self.path) }
    }

    func cancel() {
        try? handle?.close()
        handle = nil
        try? FileManager.default.removeItem(atPath: path)
    }
}
