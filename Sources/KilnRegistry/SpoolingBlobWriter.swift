import KilnStore
import OCI

/// Collects the new layer in a nameless spool file, then uploads it from there on commit. The
/// new layer holds config files (small); base layers are never spooled: they stream. A killed
/// run leaves nothing behind: the spool file has no name.
final class SpoolingBlobWriter: BlobWriter {
    private let destination: RegistryImage
    private var spool: SpoolFile?

    init(destination: RegistryImage) throws {
        self.destination = destination
        spool = try SpoolFile()
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        try spool?.write(chunk)
    }

    func commit(as descriptor: Descriptor) async throws {
        guard let spool else { return }
        defer { self.spool = nil }
        if try await destination.hasBlob(descriptor) { return }
        try await destination.putBlob(descriptor) { spool.stream() }
    }

    func cancel() {
        spool = nil
    }
}
