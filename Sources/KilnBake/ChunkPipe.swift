import Foundation

/// Hands a blob's chunks from an async producer to a reader on its own thread (libarchive pulls
/// synchronously). At most ``capacity`` chunks wait; the producer is suspended, never blocked,
/// while the reader catches up. When the reader is done early (the tar ended, or it failed),
/// later chunks are dropped so the producer can still read the blob to its end: a blob is
/// verified only once its last byte is read.
// Sendable: every mutable property is read and written only while holding `condition`.
final class ChunkPipe: @unchecked Sendable {
    static let capacity = 4

    private let condition = NSCondition()
    private var queue: [[UInt8]] = []
    private var ended = false
    private var failure: Error?
    private var readerDone = false
    private var waitingProducer: CheckedContinuation<Void, Never>?

    /// Producer: queues a chunk, waiting while the queue is full.
    func send(_ chunk: [UInt8]) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if readerDone {
                condition.unlock()
                continuation.resume()
                return
            }
            queue.append(chunk)
            condition.signal()
            if queue.count < Self.capacity {
                condition.unlock()
                continuation.resume()
            } else {
                waitingProducer = continuation
                condition.unlock()
            }
        }
    }

    /// Producer: no more chunks; `error` when the blob could not be read (or did not verify).
    func finish(_ error: Error?) {
        condition.lock()
        ended = true
        failure = error
        condition.signal()
        condition.unlock()
    }

    /// Whether the reader has stopped: more chunks are only read to verify the blob.
    var isReaderDone: Bool { condition.withLock { readerDone } }

    /// Reader: the next chunk, `nil` at the end, or the producer's error.
    func next() throws -> [UInt8]? {
        condition.lock()
        while queue.isEmpty && !ended { condition.wait() }
        if !queue.isEmpty {
            let chunk = queue.removeFirst()
            let producer = waitingProducer
            waitingProducer = nil
            condition.unlock()
            producer?.resume()
            return chunk
        }
        let failure = self.failure
        condition.unlock()
        if let failure { throw failure }
        return nil
    }

    /// Reader: done reading; what is queued or still comes is dropped.
    func readerFinished() {
        condition.lock()
        readerDone = true
        queue.removeAll()
        let producer = waitingProducer
        waitingProducer = nil
        condition.unlock()
        producer?.resume()
    }
}
