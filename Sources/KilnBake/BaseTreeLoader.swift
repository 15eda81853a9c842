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
struct BaseTreeLoader: Sendable {
    let cache: LayerChangesCache
    let jobs: Int

    /// The skeleton of one platform image: its layers applied in order.
    func tree(of manifest: ImageManifest, from source: ImageSource, reference: String) async throws -> BaseTree {
        let layers = manifest.layers
        let changes = try await BoundedConcurrency.map(layers, limit: max(1, jobs)) { layer in
            try await self.changes(of: layer, from: source, what: "layer \(layer.digest) of \(reference)")
        }
        return changes.reduce(BaseTree()) { $0.applying($1) }
    }

    private func changes(of layer: Descriptor, from source: ImageSource, what: String) async throws -> LayerChanges {
        if let cached = cache.load(layer.digest) { return cached }
        let stream = try await source.openBlob(layer)
        let pipe = ChunkPipe()
        async let parsed = Self.readOnOwnThread(pipe, what: what)
        do {
            for try await chunk in stream {
                // After a failed read the rest of the blob is of no use; after a good one it
                // is still read, to the end, for its digest.
                if pipe.isReaderDone, (try? await parsed) == nil { break }
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

/// The per-machine cache of layer changes: one small file per layer digest under
/// `$KILN_CACHE_DIR/layer-changes` (else `$XDG_CACHE_HOME/kiln` or `~/.cache/kiln`). Written
/// atomically; a file that does not parse is ignored and rewritten. `KILN_CACHE_DIR=""` turns
/// it off.
struct LayerChangesCache: Sendable {
    let directory: String?

    static var `default`: LayerChangesCache {
        LayerChangesCache(directory: CacheDirectory.current.map { "\($0)/layer-changes" })
    }

    private func file(_ digest: Digest) -> String? {
        directory.map { "\($0)/\(digest.algorithm)-\(digest.hex).jsonl" }
    }

    func load(_ digest: Digest) -> LayerChanges? {
        guard let file = file(digest), let data = FileManager.default.contents(atPath: file) else { return nil }
        return LayerChanges(parsing: Array(data))
    }

    /// Best effort: a cache that cannot be written costs the next run one read of the layer.
    func store(_ changes: LayerChanges, for digest: Digest) {
        guard let directory, let file = file(digest) else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = "\(file).kiln-tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt64.random(in: 0...UInt64.max))"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(changes.serialized())) else { return }
        if LibC.rename(temporary, file) != 0 { try? FileManager.default.removeItem(atPath: temporary) }
    }
}
