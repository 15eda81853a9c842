import Foundation
import KilnPlatform

/// A blob read ONCE from its source for several destinations: the bytes go into a nameless file
/// as they arrive, and every upload reads that file from its start at its own pace, waiting at
/// the end of what has arrived until more comes. A slow destination does not hold the others or
/// the source back, a retried upload starts again from the file (not from the source), and a
/// killed run leaves nothing behind (the file has no name). The stream it is filled from is
/// verified; a mismatch at its end fails every reader at their end.
// Sendable: `written`, `ending` and `waiters` are read and written only under `lock`; the file
// is appended to by the one filler and read with `pread` below `written` only.
package final class SharedBlobSpool: @unchecked Sendable {
    private let fd: Int32
    private let label: String
    private let lock = NSLock()
    private var written: Int64 = 0
    /// Set when the source stream ended: `nil` error for a complete, verified blob.
    private var ending: (any Error)?? = nil
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// - Parameter label: names the blob in errors.
    package init(label: String) throws {
        // 0600 from creation: no other user may open it in the moment before it loses its name.
        let (fd, path) = try FileIO.createTemporary(in: FileIO.temporaryDirectory, mode: 0o600)
        FileIO.remove(path)
        self.fd = fd
        self.label = label
    }

    deinit { FileIO.close(fd) }

    /// Reads `stream` to its end into the file; call once. Never throws: a failure of the
    /// stream is what every reader gets once it has read what arrived before it.
    package func fill(from stream: () async throws -> BlobStream) async {
        do {
            for try await chunk in try await stream() {
                try chunk.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: label) }
                wake { written += Int64(chunk.count) }
            }
            wake { ending = .some(nil) }
        } catch {
            wake { ending = .some(error) }
        }
    }

    /// The blob from its start; each call is an independent reader.
    package func reader() -> BlobStream {
        let offset = Offset()
        return BlobStream { [self] in
            while true {
                let state = lock.withLock { (written, ending) }
                if offset.value < state.0 {
                    var chunk = [UInt8](repeating: 0, count: Int(min(Int64(1 << 20), state.0 - offset.value)))
                    let count = try chunk.withUnsafeMutableBytes { try FileIO.read(fd, at: offset.value, into: $0, path: label) }
                    guard count > 0 else { throw StoreError.io(path: label, reason: "the spool ended before its \(state.0) bytes") }
                    offset.value += Int64(count)
                    chunk.removeLast(chunk.count - count)
                    return chunk
                }
                if let ending = state.1 {
                    if let error = ending { throw error }
                    return nil
                }
                await waitForMore(than: offset.value)
            }
        }
    }

    /// Returns once more than `offset` bytes arrived or the stream ended.
    private func waitForMore(than offset: Int64) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = lock.withLock { () -> Bool in
                if written > offset || ending != nil { return true }
                waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private func wake(_ change: () -> Void) {
        let woken = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            change()
            defer { waiters = [] }
            return waiters
        }
        for waiter in woken { waiter.resume() }
    }

    // Sendable only by promise: each reader owns one offset and has one consumer.
    private final class Offset: @unchecked Sendable { var value: Int64 = 0 }
}
