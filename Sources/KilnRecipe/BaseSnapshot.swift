import Foundation
import KilnLayer
import KilnStore
import OCI

/// The documents of a base that a bake reads: the root (manifest or index), the manifests of
/// the chosen platforms and their configs, byte for byte, and each platform's skeleton
/// (directories, symlinks, users and groups). `kiln lock` takes one from the registry;
/// `kiln plan` replays it with no network, through ``source`` and ``trees``.
public struct BaseSnapshot: Sendable, Equatable {
    /// What the base reference resolved to.
    public var root: Descriptor
    /// Every document read, by digest.
    public var documents: [Digest: [UInt8]]
    /// The base's registry name (`docker.io/library/kong:2.6.0-alpine`), as a bake from the
    /// registry records it in the `base.name` annotation; `nil` for a layout.
    public var imageName: String?
    /// Each platform image's skeleton, by the digest of its manifest.
    public var trees: [Digest: BaseTree]

    public init(root: Descriptor, documents: [Digest: [UInt8]], imageName: String?, trees: [Digest: BaseTree] = [:]) {
        self.root = root
        self.documents = documents
        self.imageName = imageName
        self.trees = trees
    }

    /// An image source serving only these documents, each checked against its digest.
    public var source: ImageSource { VerifyingSource(SnapshotSource(snapshot: self), location: "the lock's snapshot of \(imageName ?? "the base")") }
}

/// Serves a snapshot's documents; a blob (a layer) is not in a snapshot and never asked for.
final class SnapshotSource: ImageSource {
    let snapshot: BaseSnapshot

    init(snapshot: BaseSnapshot) { self.snapshot = snapshot }

    var imageName: String? { snapshot.imageName }
    var registryReference: RegistryReference? { nil }

    func resolve() async throws -> Descriptor { snapshot.root }

    func fetch(_ descriptor: Descriptor) async throws -> [UInt8] {
        guard let bytes = snapshot.documents[descriptor.digest] else {
            throw StoreError.blobMissing(location: "the lock's snapshot of \(snapshot.imageName ?? "the base")", digest: descriptor.digest)
        }
        return bytes
    }

    func openBlob(_ descriptor: Descriptor) async throws -> BlobStream {
        throw StoreError.blobMissing(location: "the lock's snapshot (documents only)", digest: descriptor.digest)
    }
}

/// Passes reads through to a real source and keeps a copy of every document, to take a snapshot.
// Sendable: `recorded` and `root` are read and written only under `lock`.
package final class RecordingSource: ImageSource, @unchecked Sendable {
    private let inner: ImageSource
    private let lock = NSLock()
    private var recorded: [Digest: [UInt8]] = [:]
    private var root: Descriptor?

    package init(_ inner: ImageSource) { self.inner = inner }

    package var imageName: String? { inner.imageName }
    package var registryReference: RegistryReference? { inner.registryReference }
    package var documents: [Digest: [UInt8]] { lock.withLock { recorded } }

    /// Resolved once: the snapshot's root is what the bake read, even if a tag moves meanwhile.
    package func resolve() async throws -> Descriptor {
        if let root = lock.withLock({ root }) { return root }
        let resolved = try await inner.resolve()
        lock.withLock { root = resolved }
        return resolved
    }

    package func fetch(_ descriptor: Descriptor) async throws -> [UInt8] {
        let bytes = try await inner.fetch(descriptor)
        lock.withLock { recorded[descriptor.digest] = bytes }
        return bytes
    }

    package func openBlob(_ descriptor: Descriptor) async throws -> BlobStream { try await inner.openBlob(descriptor) }
}
