import Foundation
import KilnStore
import OCI

/// The base layers a bake's skeleton read downloaded, kept so the copy to the destination
/// reads them from here instead of from the source a second time (a cold cache would otherwise
/// download every base layer twice). Each layer is a nameless ``SpoolFile`` (nothing left
/// behind even after `kill -9`), kept only once its whole blob was read and matched its digest
/// and size; all of them vanish when the bake drops this. At most one file per layer digest:
/// at most the base's size on disk. Best effort: a layer that cannot be spooled is simply read
/// from the source again.
// Sendable: `kept` is read and written only under `lock`; a kept file is only read.
final class BaseLayerSpool: @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [Digest: SpoolFile] = [:]

    /// A file to write `layer`'s bytes into while it is read, `nil` when it is kept already or
    /// no file can be made.
    func start(_ layer: Descriptor) -> SpoolFile? {
        guard lock.withLock({ kept[layer.digest] }) == nil else { return nil }
        return try? SpoolFile(label: "the spooled layer \(layer.digest)")
    }

    /// Keeps `file` for `layer`: call only after the whole blob was read from a verifying
    /// source without error (its digest matched).
    func keep(_ file: SpoolFile, for layer: Descriptor) {
        guard file.size == layer.size else { return }
        lock.withLock { if kept[layer.digest] == nil { kept[layer.digest] = file } }
    }

    /// The kept bytes of the blob, when they are here.
    func stream(_ descriptor: Descriptor) -> BlobStream? {
        guard let file = lock.withLock({ kept[descriptor.digest] }), file.size == descriptor.size else { return nil }
        return file.stream()
    }

    /// `source` reading the kept layers from here, everything else from `source`.
    func reading(before source: ImageSource) -> ImageSource {
        SpooledSource(spool: self, inner: source)
    }
}

/// A source whose blobs come from a ``BaseLayerSpool`` where it holds them.
private final class SpooledSource: ImageSource {
    let spool: BaseLayerSpool
    let inner: ImageSource

    init(spool: BaseLayerSpool, inner: ImageSource) {
        self.spool = spool
        self.inner = inner
    }

    var imageName: String? { inner.imageName }
    var registryReference: RegistryReference? { inner.registryReference }
    func resolve() async throws -> Descriptor { try await inner.resolve() }
    func fetch(_ descriptor: Descriptor) async throws -> [UInt8] { try await inner.fetch(descriptor) }
    func openBlob(_ descriptor: Descriptor) async throws -> BlobStream {
        if let kept = spool.stream(descriptor) { return kept }
        return try await inner.openBlob(descriptor)
    }
}
