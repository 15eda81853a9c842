import KilnCrypto
import OCI

/// A blob's bytes, pulled chunk by chunk: the consumer's pace sets the producer's, so copying a
/// layer of any size holds only a chunk or two in memory.
///
/// Streams from an ``ImageSource`` are verified: after the last chunk, the size and SHA-256 are
/// compared with the descriptor, and a mismatch is thrown instead of the end of the stream.
public struct BlobStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    private let box: Box

    /// A stream whose chunks come from `next`, which returns `nil` at the end.
    public init(next: @escaping @Sendable () async throws -> [UInt8]?) {
        box = Box(next: next)
    }

    /// A stream over `iterator`'s elements, converted to bytes by `bytes`. The iterator is
    /// owned by the stream, which has one consumer at a time.
    public init<Source: AsyncIteratorProtocol>(wrapping iterator: Source, bytes: @escaping @Sendable (Source.Element) -> [UInt8]) {
        let holder = UncheckedBox(iterator)
        self.init { try await holder.value.next().map(bytes) }
    }

    /// One chunk, then the end.
    public static func once(_ bytes: [UInt8]) -> BlobStream {
        let holder = UncheckedBox(Optional(bytes))
        return BlobStream {
            defer { holder.value = nil }
            return holder.value
        }
    }

    /// A file read in 1 MiB chunks.
    public static func file(_ path: String) throws -> BlobStream {
        let file = try FileChunks(path: path)
        return BlobStream { try file.next() }
    }

    public func makeAsyncIterator() -> Iterator { Iterator(box: box) }

    public struct Iterator: AsyncIteratorProtocol {
        let box: Box
        public mutating func next() async throws -> [UInt8]? { try await box.next() }
    }

    final class Box: Sendable {
        let next: @Sendable () async throws -> [UInt8]?
        init(next: @escaping @Sendable () async throws -> [UInt8]?) { self.next = next }
    }

    /// Wraps `stream` so that it checks size and digest against `descriptor` as it ends.
    /// - Parameter location: names where the blob came from in the error.
    public static func verifying(_ stream: BlobStream, against descriptor: Descriptor, location: String) -> BlobStream {
        let state = VerifyState()
        let iterator = UncheckedBox(stream.makeAsyncIterator())
        return BlobStream {
            guard let chunk = try await iterator.value.next() else {
                let actual = state.finish()
                guard actual.digest == descriptor.digest else {
                    throw StoreError.digestMismatch(location: location, expected: descriptor.digest, actual: actual.digest)
                }
                guard actual.size == descriptor.size else {
                    throw StoreError.sizeMismatch(location: location, digest: descriptor.digest, expected: descriptor.size, actual: actual.size)
                }
                return nil
            }
            try state.add(chunk, limit: descriptor.size, location: location, digest: descriptor.digest)
            return chunk
        }
    }
}

/// Running hash and size of a verified stream. A stream has one consumer at a time, so the
/// unchecked sendability is never exercised concurrently.
private final class VerifyState: @unchecked Sendable {
    let hash = SHA256()
    var size: Int64 = 0

    func add(_ chunk: [UInt8], limit: Int64, location: String, digest: Digest) throws {
        size += Int64(chunk.count)
        // Stop a source that sends more than it announced before it fills a disk or a registry.
        guard size <= limit else { throw StoreError.sizeMismatch(location: location, digest: digest, expected: limit, actual: size) }
        hash.update(chunk)
    }

    func finish() -> (digest: Digest, size: Int64) { (Digest(sha256: hash.finalize()), size) }
}

/// Holds a mutable iterator for a single consumer.
// Sendable only by promise: each box is owned by one stream, which has one consumer at a time.
final class UncheckedBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
