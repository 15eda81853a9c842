import Foundation
import KilnPlatform

/// A blob read ONCE from its source for several destinations: the bytes go into a nameless file
/// as they arrive, and every upload reads from its start at its own pace, waiting at the end of
/// what has arrived until more comes. The latest chunks are also kept in memory (a window of
/// ``windowBytes``): a reader that keeps up takes them from there, shared, with no read of the
/// file and no copy. A reader that falls behind the window, starts late, or restarts (a retried
/// upload) reads the file, so no destination has to read the source again, and a killed run
/// leaves nothing behind (the file has no name). The stream it is filled from is verified; a
/// mismatch at its end fails every reader at their end.
///
/// Readers reserved before the fill (``reserve()``) pace it: the source is read no further than
/// the window ahead of the slowest of them, so they all stay in memory, unless one lags for
/// longer than ``patience`` (a stuck destination): it then goes on from the file, and no longer
/// holds the others back. A reservation released (its upload done or failed) paces nothing.
// Sendable: every mutable property is read and written only under `lock`; the file is appended
// to by the one filler and read with `pread` below `written` only.
package final class SharedBlobSpool: @unchecked Sendable {
    /// How many of the latest bytes stay in memory (whole chunks; at least the last chunk).
    package static let windowBytes = 4 << 20
    /// How long the fill waits for a reserved reader before that one goes on from the file.
    package static let patience: Duration = .seconds(2)

    private let fd: Int32
    private let label: String
    private let lock = NSLock()
    private var written: Int64 = 0
    /// Set when the source stream ended: `nil` error for a complete, verified blob.
    private var ending: (any Error)?? = nil
    private var waiters: [CheckedContinuation<Void, Never>] = []
    /// The latest chunks (where each starts), oldest first, with ``windowBytes`` bytes or fewer.
    private var window: [(start: Int64, bytes: [UInt8])] = []
    private var windowSize = 0
    /// Each reserved reader's position, by reservation; gone once released or out of patience.
    private var paced: [Int: Int64] = [:]
    private var reservations = 0
    /// The fill, waiting for reserved readers to take what the next chunk pushes out of memory.
    private var filler: (continuation: CheckedContinuation<Void, Never>, generation: Int)?
    private var fillerGeneration = 0

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
                await makeRoom(for: chunk.count)
                wake {
                    window.append((written, chunk))
                    windowSize += chunk.count
                    while windowSize > Self.windowBytes, window.count > 1 { windowSize -= window.removeFirst().bytes.count }
                    written += Int64(chunk.count)
                }
            }
            wake { ending = .some(nil) }
        } catch {
            wake { ending = .some(error) }
        }
        // Nobody waits for the window any more; it is not needed for the readers' file path.
        lock.withLock { paced = [:] }
    }

    /// The blob from its start; each call is an independent reader that paces nothing.
    package func reader() -> BlobStream { stream(reservation: nil) }

    /// A reader that paces the fill from now on (make it before the fill starts): its first
    /// stream continues the reservation; a second one (a retried upload) starts again from the
    /// file and releases it.
    package func reserve() -> Reservation {
        let id = lock.withLock { () -> Int in
            reservations += 1
            paced[reservations] = 0
            return reservations
        }
        return Reservation(spool: self, id: id)
    }

    /// One reserved reader (see ``reserve()``).
    // Sendable: `opened` is read and written only under the spool's lock.
    package final class Reservation: @unchecked Sendable {
        private let spool: SharedBlobSpool
        private let id: Int
        private var opened = false

        fileprivate init(spool: SharedBlobSpool, id: Int) {
            self.spool = spool
            self.id = id
        }

        /// The blob from its start: the reserved (pacing) reader the first time.
        package func open() -> BlobStream {
            let first = spool.lock.withLock { () -> Bool in
                defer { opened = true }
                return !opened
            }
            if first { return spool.stream(reservation: id) }
            release()
            return spool.reader()
        }

        /// The reader paces the fill no more (its upload is done, or failed).
        package func release() { spool.unpace(id) }
    }

    private func stream(reservation: Int?) -> BlobStream {
        let offset = Offset()
        return BlobStream { [self] in
            do {
                while true {
                    let state = lock.withLock { () -> (written: Int64, ending: (any Error)??, held: [UInt8]?) in
                        let held = offset.value < written ? windowChunk(at: offset.value) : nil
                        if let held, let reservation, paced[reservation] != nil { paced[reservation] = offset.value + Int64(held.count) }
                        return (written, ending, held)
                    }
                    if let held = state.held {
                        offset.value += Int64(held.count)
                        if reservation != nil { nudgeFiller() }
                        return held
                    }
                    if offset.value < state.written {
                        // Behind the window: from the file.
                        let wanted = Int(min(Int64(1 << 20), state.written - offset.value))
                        let chunk = try [UInt8](unsafeUninitializedCapacity: wanted) { buffer, initialized in
                            initialized = try FileIO.read(fd, at: offset.value, into: UnsafeMutableRawBufferPointer(buffer), path: label)
                        }
                        guard !chunk.isEmpty else { throw StoreError.io(path: label, reason: "the spool ended before its \(state.written) bytes") }
                        offset.value += Int64(chunk.count)
                        return chunk
                    }
                    if let ending = state.ending {
                        if let reservation { unpace(reservation) }
                        if let error = ending { throw error }
                        return nil
                    }
                    await waitForMore(than: offset.value)
                }
            } catch {
                if let reservation { unpace(reservation) }
                throw error
            }
        }
    }

    /// The window's bytes from `offset` to the end of its chunk (the whole chunk, shared, when
    /// `offset` starts one); `nil` when they are no longer in memory. Call under `lock`.
    private func windowChunk(at offset: Int64) -> [UInt8]? {
        guard let first = window.first, offset >= first.start else { return nil }
        // Readers mostly ask for the oldest chunks: search from the start.
        for entry in window where offset < entry.start + Int64(entry.bytes.count) {
            return offset == entry.start ? entry.bytes : Array(entry.bytes[Int(offset - entry.start)...])
        }
        return nil
    }

    /// Waits until the reserved readers have taken what a chunk of `count` more bytes pushes out
    /// of the window, or until ``patience`` runs out (the laggards then read the file).
    private func makeRoom(for count: Int) async {
        let deadline = ContinuousClock.now + Self.patience
        while true {
            let keepFrom = lock.withLock { keptAfter(adding: count) }
            let waiting = lock.withLock { paced.values.contains { $0 < keepFrom } }
            guard waiting else { return }
            guard ContinuousClock.now < deadline else {
                lock.withLock { paced = paced.filter { $0.value >= keepFrom } }
                return
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let generation = lock.withLock { () -> Int? in
                    guard paced.values.contains(where: { $0 < keepFrom }) else { return nil }
                    fillerGeneration += 1
                    filler = (continuation, fillerGeneration)
                    return fillerGeneration
                }
                guard let generation else { return continuation.resume() }
                Task { [weak self] in
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    self?.resumeFiller(generation: generation)
                }
            }
        }
    }

    /// Where the window would start after a chunk of `count` bytes is added. Call under `lock`.
    private func keptAfter(adding count: Int) -> Int64 {
        var size = windowSize + count
        var start = written
        for entry in window {
            if size <= Self.windowBytes { start = entry.start; break }
            size -= entry.bytes.count
        }
        return start
    }

    /// Lets the waiting fill look again (a reserved reader moved on, or paces no more).
    private func nudgeFiller() {
        let waiting = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            defer { filler = nil }
            return filler?.continuation
        }
        waiting?.resume()
    }

    private func resumeFiller(generation: Int) {
        let waiting = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            guard let filler, filler.generation == generation else { return nil }
            self.filler = nil
            return filler.continuation
        }
        waiting?.resume()
    }

    private func unpace(_ reservation: Int) {
        let removed = lock.withLock { paced.removeValue(forKey: reservation) != nil }
        if removed { nudgeFiller() }
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
