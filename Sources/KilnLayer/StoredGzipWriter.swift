/// A gzip stream (RFC 1952) whose deflate data (RFC 1951) is made only of stored blocks, written
/// by kiln itself: its bytes depend on the input alone, never on the machine's zlib (zlib 1.2.13,
/// zlib-ng and Apple's zlib give different bytes for the same input at the same level).
///
/// Every gzip reader accepts it, under the usual `tar+gzip` media types. The layout is fixed:
/// - header: `1f 8b 08 00 00000000 00 ff` (deflate, no flags, MTIME 0, XFL 0, OS 255 "unknown",
///   so the bytes name no operating system);
/// - blocks of exactly 65,535 input bytes (a stored block's maximum), each `00` (BFINAL 0,
///   BTYPE 00, padded to the byte), LEN and NLEN little-endian, then the bytes; the last block,
///   holding the remaining 1 to 65,535 bytes (0 only for empty input), starts with `01`;
/// - trailer: CRC-32 and ISIZE (input length modulo 2^32), little-endian.
///
/// Streaming with bounded memory: one block is buffered, so a full block is known not to be the
/// last only when more input arrives.
package final class StoredGzipWriter: LayerCompressor {
    package typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    /// A stored block's largest payload: LEN is 16 bits.
    package static let maximumBlock = 65_535
    package static let header: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF]
    private static let blockHeaderSize = 5

    private let sink: Sink
    /// The block being filled: five header bytes, then up to ``maximumBlock`` payload bytes.
    private let block: UnsafeMutableRawBufferPointer
    private var filled = 0
    private var crc = CRC32()
    private var length: UInt32 = 0
    private var finished = false

    /// Writes the gzip header to `sink` at once.
    package init(sink: @escaping Sink) throws {
        self.sink = sink
        block = .allocate(byteCount: Self.blockHeaderSize + Self.maximumBlock, alignment: 16)
        try Self.header.withUnsafeBytes { try sink($0) }
    }

    deinit { block.deallocate() }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "StoredGzipWriter.write after finish")
        var offset = 0
        while offset < bytes.count {
            // Only now is the full block known to have a successor.
            if filled == Self.maximumBlock { try emitBlock(final: false) }
            let count = min(Self.maximumBlock - filled, bytes.count - offset)
            UnsafeMutableRawBufferPointer(rebasing: block[(Self.blockHeaderSize + filled)...])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
            filled += count
            offset += count
        }
        crc.update(bytes)
        length &+= UInt32(truncatingIfNeeded: bytes.count)
    }

    /// Writes the last block and the trailer.
    package func finish() throws {
        precondition(!finished, "StoredGzipWriter.finish called twice")
        finished = true
        try emitBlock(final: true)
        var trailer = [UInt8](repeating: 0, count: 8)
        for shift in 0..<4 {
            trailer[shift] = UInt8(truncatingIfNeeded: crc.value >> (8 * shift))
            trailer[4 + shift] = UInt8(truncatingIfNeeded: length >> (8 * shift))
        }
        try trailer.withUnsafeBytes { try sink($0) }
    }

    private func emitBlock(final: Bool) throws {
        let count = UInt16(filled)
        block[0] = final ? 0x01 : 0x00
        block[1] = UInt8(truncatingIfNeeded: count)
        block[2] = UInt8(truncatingIfNeeded: count >> 8)
        block[3] = UInt8(truncatingIfNeeded: ~count)
        block[4] = UInt8(truncatingIfNeeded: ~count >> 8)
        try sink(UnsafeRawBufferPointer(rebasing: block[0..<(Self.blockHeaderSize + filled)]))
        filled = 0
    }
}
