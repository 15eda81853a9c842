import Foundation
import KilnLayer
import KilnStore
import OCI

/// A new layer as its builder writes it beside the secret scan, held until the scan has passed
/// every file: nothing reaches a destination before ``drain(into:)`` is called, which a bake
/// does only then (a finding drops the spool, and the destination never sees an upload, a
/// temporary file or a blob). Drained while it is still being written (once the scan passed,
/// the rest of the layer flows on to the destination as it is built), by one reader.
///
/// Held in memory up to ``memoryLimit`` (config overlays are small), in pieces that never move
/// (the reader reads them while the builder writes on); beyond that in a nameless
/// ``SpoolFile`` (gone with the process even after `kill -9`, and when the spool is dropped).
/// A spool that does not keep its bytes (`kiln plan`) only carries the layer's end.
// Sendable: `pieces`, `file`, `written`, `ending` and `abandoned` are read and written only
// under `condition`; the bytes below `written` are never written again, and the reader reads
// only those.
final class LayerSpool: @unchecked Sendable {
    /// The most bytes held in memory; the rest of a larger layer goes to a nameless file.
    static let memoryLimit = 16 << 20
    private static let pieceSize = 1 << 20

    private let keeping: Bool
    private let condition = NSCondition()
    private var pieces: [UnsafeMutableRawBufferPointer] = []
    private var file: SpoolFile?
    /// Bytes written and visible to the reader: the first ``memoryLimit`` (at most) in
    /// `pieces`, the rest in `file`.
    private var written: Int64 = 0
    private var ending: Result<BuiltLayer, any Error>?
    private var abandoned = false

    /// - Parameter keeping: whether the bytes are kept (a bake), or only the layer's end (a plan).
    init(keeping: Bool) {
        self.keeping = keeping
    }

    deinit {
        for piece in pieces { piece.deallocate() }
    }

    /// The builder's output: appends bytes.
    /// - Throws: ``OverlayReads/Stopped`` once the spool was abandoned (the bake failed).
    func write(_ chunk: UnsafeRawBufferPointer) throws {
        var rest = chunk
        let (held, stopped, spilled) = condition.withLock { (written, abandoned, file) }
        if stopped { throw OverlayReads.Stopped() }
        guard keeping else { return }
        var memory = spilled == nil ? Int64(Self.memoryLimit) - held : 0
        var offset = Int(held) % Self.pieceSize
        while !rest.isEmpty && memory > 0 {
            // A new piece when the last is full (or there is none).
            if offset == 0 {
                let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.pieceSize, alignment: 16)
                condition.withLock { pieces.append(piece) }
            }
            let piece = condition.withLock { pieces[pieces.count - 1] }
            let count = min(rest.count, Self.pieceSize - offset, Int(memory))
            UnsafeMutableRawBufferPointer(rebasing: piece[offset..<offset + count]).copyMemory(from: UnsafeRawBufferPointer(rebasing: rest[0..<count]))
            publish(count)
            rest = UnsafeRawBufferPointer(rebasing: rest[count...])
            memory -= Int64(count)
            offset = (offset + count) % Self.pieceSize
        }
        guard !rest.isEmpty else { return }
        let target: SpoolFile
        if let spilled {
            target = spilled
        } else {
            target = try SpoolFile(label: "the new layer's spool")
            condition.withLock { file = target }
        }
        try target.write(rest)
        publish(rest.count)
    }

    /// The builder's end: the layer it built, or why it failed.
    func finish(_ result: Result<BuiltLayer, any Error>) {
        condition.withLock {
            ending = result
            condition.broadcast()
        }
    }

    /// The bake failed: the builder's next write fails, and what it wrote is dropped with the spool.
    func abandon() {
        condition.withLock { abandoned = true }
    }

    /// Hands the layer's bytes to `body` as they come, from the start, until the builder
    /// finished, and checks that they were all of them (the size the builder counted). They are
    /// not hashed again: the spool is this process's memory and a nameless file only it holds
    /// (as a registry upload's ``SpoolFile`` is), the builder hashed them as it wrote them, and
    /// a registry checks the digest on upload. Without `body` (or for a spool that keeps
    /// nothing), waits for the end.
    /// Called once, by one reader.
    /// - Returns: the layer.
    /// - Throws: the builder's error, `body`'s, or ``StoreError`` when the bytes are not the layer's.
    func drain(into body: ((UnsafeRawBufferPointer) throws -> Void)?) throws -> BuiltLayer {
        var offset: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.pieceSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            condition.lock()
            while offset == written && ending == nil { condition.wait() }
            let (available, ended, memory, spilled) = (written, ending, pieces, file)
            condition.unlock()
            if offset < available {
                let bytes: UnsafeRawBufferPointer
                let inMemory = Int64(memory.count * Self.pieceSize)
                if offset < inMemory {
                    let piece = memory[Int(offset) / Self.pieceSize]
                    let start = Int(offset) % Self.pieceSize
                    let count = Int(min(Int64(Self.pieceSize - start), available - offset))
                    bytes = UnsafeRawBufferPointer(rebasing: piece[start..<start + count])
                } else {
                    guard let spilled else { throw StoreError.io(path: "the new layer's spool", reason: "its file is missing") }
                    let wanted = Int(min(Int64(buffer.count), available - offset))
                    let count = try spilled.read(at: offset - inMemory, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted]))
                    bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                }
                try body?(bytes)
                offset += Int64(bytes.count)
                continue
            }
            guard let ended else { continue }
            let layer = try ended.get()
            guard keeping else { return layer }
            guard offset == layer.size else {
                throw StoreError.sizeMismatch(location: "the new layer's spool", digest: layer.digest, expected: layer.size, actual: offset)
            }
            return layer
        }
    }

    private func publish(_ count: Int) {
        condition.withLock {
            written += Int64(count)
            condition.broadcast()
        }
    }
}
