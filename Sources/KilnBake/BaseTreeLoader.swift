import Foundation
import KilnLayer
import KilnStore
import KilnPlatform
import OCI

/// Builds a base's skeleton (``BaseTree``) from its layers' tar headers: each layer streamed
/// once through ``LayerHeaderReader`` (never staged), or taken from the per-machine cache of
/// ``LayerChanges`` keyed by the layer's digest, so a second bake on the same base reads no
/// layer. A layer's changes are used, and cached, only after its whole blob was read and
/// matched its digest.
///
/// With a ``BaseLayerSpool`` (a bake, which copies the base's layers next), every layer read
/// here is also written to it, so that copy need not download it again.
struct BaseTreeLoader: Sendable {
    let cache: LayerChangesCache
    let jobs: Int
    var spool: BaseLayerSpool? = nil

    /// The skeleton of one platform image: its layers applied in order.
    func tree(of manifest: ImageManifest, from source: ImageSource, reference: String) async throws -> BaseTree {
        let layers = manifest.layers
        let changes = try await BoundedConcurrency.map(layers, limit: max(1, jobs)) { layer in
            try await self.changes(of: layer, from: source, what: "layer \(layer.digest) of \(reference)")
        }
        var tree = BaseTree()
        for layer in changes { tree.apply(layer) }
        // Names are within PATH_MAX, but thousands of distinct 4 KiB paths would still make a
        // skeleton of gigabytes (and a kiln.lock.d file as large).
        let pathBytes = tree.pathBytes
        guard pathBytes <= BaseTree.maxPathBytes else {
            throw LayerError.conflict("the skeleton of \(reference) has \(pathBytes >> 20) MiB of directory and link paths, more than the \(BaseTree.maxPathBytes >> 20) MiB kiln places files against")
        }
        return tree
    }

    private func changes(of layer: Descriptor, from source: ImageSource, what: String) async throws -> LayerChanges {
        if let cached = cache.load(layer.digest) { return cached }
        let stream = try await source.openBlob(layer)
        // Best effort: a write that fails drops the spool, not the read.
        var spooled = spool?.start(layer)
        let pipe = ChunkPipe()
        async let parsed = Self.readOnOwnThread(pipe, what: what)
        do {
            for try await chunk in stream {
                // After a failed read the rest of the blob is of no use; after a good one it
                // is still read, to the end, for its digest.
                if pipe.isReaderDone, (try? await parsed) == nil { break }
                if let file = spooled {
                    do { try chunk.withUnsafeBytes { try file.write($0) } } catch { spooled = nil }
                }
                await pipe.send(chunk)
            }
            pipe.finish(nil)
        } catch {
            pipe.finish(error)
            _ = try? await parsed
            throw error
        }
        let changes = try await parsed
        cache.store(changes, for: layer.digest)
        // The stream ended without error: the verifying source found its digest right.
        if let spooled, let spool { spool.keep(spooled, for: layer) }
        return changes
    }

    /// libarchive blocks while it waits for input: it gets a thread of its own, never one of
    /// the cooperative pool's (two cores give two; two readers blocking them would deadlock).
    private static func readOnOwnThread(_ pipe: ChunkPipe, what: String) async throws -> LayerChanges {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<LayerChanges, Error>) in
            let thread = Thread {
                let result = Result { try LayerHeaderReader.read(what: what, pull: pipe.next) }
                pipe.readerFinished()
                continuation.resume(with: result)
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}
