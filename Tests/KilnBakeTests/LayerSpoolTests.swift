import Foundation
import KilnCrypto
import KilnStore
import OCI
import Testing
@testable import KilnBake
@testable import KilnLayer

/// The spool a bake builds its new layer into beside the secret scan: drained while it is
/// written, across its memory bound into its nameless file, and checked against the layer the
/// builder reports.
@Suite struct LayerSpoolTests {
    /// Pseudo-random bytes (xorshift), so a piece out of place changes the digest.
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    static func layer(of bytes: [UInt8]) -> BuiltLayer {
        BuiltLayer(digest: Digest(sha256: SHA256.hash(bytes)), diffID: Digest(sha256: SHA256.hash([])), size: Int64(bytes.count), compression: .storedGzip)
    }

    /// Writes `bytes` into `spool` on a thread of its own, in pieces of uneven sizes, then
    /// finishes it with `layer`.
    static func fill(_ spool: LayerSpool, with bytes: [UInt8], layer: BuiltLayer) {
        let thread = JoinedThreads()
        thread.start {
            var offset = 0
            var size = 1
            while offset < bytes.count {
                let end = min(offset + size, bytes.count)
                try? bytes[offset..<end].withUnsafeBytes { try spool.write($0) }
                offset = end
                size = size * 3 % 200_003 + 1
            }
            spool.finish(.success(layer))
        }
    }

    @Test func drainedWhileWrittenAcrossTheMemoryBoundGivesTheSameBytes() throws {
        let bytes = Self.bytes(LayerSpool.memoryLimit + 5 * 1_048_576 + 12_345, seed: 7)
        let spool = LayerSpool(keeping: true)
        Self.fill(spool, with: bytes, layer: Self.layer(of: bytes))
        var drained: [UInt8] = []
        drained.reserveCapacity(bytes.count)
        let layer = try spool.drain { drained += $0 }
        #expect(drained.count == bytes.count)
        #expect(drained == bytes)
        #expect(layer == Self.layer(of: bytes))
    }

    /// The bytes are the builder's own (not hashed again), but a spool that lost some is refused.
    @Test func aSpoolShorterThanTheLayerFailsTheDrain() throws {
        let bytes = Self.bytes(300_000, seed: 11)
        let short = LayerSpool(keeping: true)
        Self.fill(short, with: Array(bytes.dropLast()), layer: Self.layer(of: bytes))
        #expect(throws: StoreError.self) { try short.drain { _ in } }
    }

    @Test func theBuildersFailureIsTheDrainsAndAnAbandonedSpoolTakesNoMoreBytes() throws {
        let spool = LayerSpool(keeping: true)
        try [1, 2, 3].withUnsafeBytes { try spool.write($0) }
        spool.finish(.failure(LayerError.fileChanged("overlay/app.conf")))
        var seen = 0
        #expect(throws: LayerError.self) { try spool.drain { seen += $0.count } }
        #expect(seen == 3 * MemoryLayout<Int>.size)

        let abandoned = LayerSpool(keeping: true)
        abandoned.abandon()
        #expect(throws: OverlayReads.Stopped.self) { try [UInt8](repeating: 1, count: 10).withUnsafeBytes { try abandoned.write($0) } }
    }

    @Test func aSpoolThatKeepsNothingOnlyCarriesTheLayersEnd() throws {
        let bytes = Self.bytes(100_000, seed: 3)
        let spool = LayerSpool(keeping: false)
        Self.fill(spool, with: bytes, layer: Self.layer(of: bytes))
        var seen = 0
        let layer = try spool.drain { seen += $0.count }
        #expect(seen == 0)
        #expect(layer.size == Int64(bytes.count))
    }
}
