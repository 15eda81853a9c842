import Foundation
import KilnStore
import OCI
import Testing

/// The spool a fan-out reads a base blob through: filled once, read by several readers at their
/// own pace, each from the start, a failure of the source at every reader's end.
@Suite struct SharedBlobSpoolTests {
    /// A stream of `chunks` chunks of `size` bytes, each pausing before it comes (a slow source).
    static func slowSource(chunks: Int, size: Int) -> (bytes: [UInt8], stream: BlobStream) {
        var bytes: [UInt8] = []
        for index in 0..<chunks { bytes += [UInt8](repeating: UInt8(truncatingIfNeeded: index * 7 + 1), count: size) }
        let all = bytes
        let position = Counter()
        let stream = BlobStream {
            let index = position.next()
            guard index < chunks else { return nil }
            try await Task.sleep(nanoseconds: 2_000_000)
            return Array(all[index * size..<(index + 1) * size])
        }
        return (bytes, stream)
    }

    static func readAll(_ stream: BlobStream, pause: UInt64 = 0) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await chunk in stream {
            out += chunk
            if pause > 0 { try await Task.sleep(nanoseconds: pause) }
        }
        return out
    }

    @Test func everyReaderGetsTheWholeBlobAtItsOwnPace() async throws {
        let (bytes, stream) = Self.slowSource(chunks: 40, size: 3000)
        let spool = try SharedBlobSpool(label: "test blob")
        async let filled: Void = spool.fill { stream }
        // Readers that start before, during and after the fill, fast and slow.
        async let fast = Self.readAll(spool.reader())
        async let slow = Self.readAll(spool.reader(), pause: 3_000_000)
        try await Task.sleep(nanoseconds: 20_000_000)
        async let late = Self.readAll(spool.reader())
        await filled
        let again = try await Self.readAll(spool.reader())
        #expect(try await fast == bytes)
        #expect(try await slow == bytes)
        #expect(try await late == bytes)
        #expect(again == bytes)
    }

    @Test func aSourceFailureReachesEveryReaderAfterWhatArrived() async throws {
        let failing = Counter()
        let spool = try SharedBlobSpool(label: "test blob")
        async let filled: Void = spool.fill {
            BlobStream {
                guard failing.next() < 3 else { throw StoreError.io(path: "source", reason: "digest mismatch") }
                return [1, 2, 3]
            }
        }
        var got: [[UInt8]] = [[], []]
        for index in 0..<2 {
            do {
                for try await chunk in spool.reader() { got[index] += chunk }
                Issue.record("the reader ended without the source's failure")
            } catch StoreError.io(_, let reason) {
                #expect(reason == "digest mismatch")
            }
        }
        await filled
        #expect(got == [[1, 2, 3, 1, 2, 3, 1, 2, 3], [1, 2, 3, 1, 2, 3, 1, 2, 3]])
    }

    /// Reserved readers pace the fill and take its chunks from memory; a blob larger than the
    /// memory window still reaches a reader that falls behind it (from the file), one that
    /// starts after the fill, and a reservation opened again (a retried upload).
    @Test func reservedReadersAndOnesBehindTheWindowGetTheWholeBlob() async throws {
        let size = 300_000
        let (bytes, stream) = Self.slowSource(chunks: 3 * SharedBlobSpool.windowBytes / size, size: size)
        let spool = try SharedBlobSpool(label: "test blob")
        let paced = [spool.reserve(), spool.reserve()]
        async let filled: Void = spool.fill { stream }
        async let first = Self.readAll(paced[0].open())
        async let second = Self.readAll(paced[1].open(), pause: 1_000_000)
        async let behind = Self.readAll(spool.reader(), pause: 5_000_000)
        await filled
        #expect(try await first == bytes)
        #expect(try await second == bytes)
        #expect(try await behind == bytes)
        // Opened again: from the start, from the file.
        #expect(try await Self.readAll(paced[0].open()) == bytes)
        #expect(try await Self.readAll(spool.reader()) == bytes)
    }

    /// A reserved reader that never reads (its destination hangs before its upload starts)
    /// holds the fill back for ``SharedBlobSpool/patience`` at most, then reads from the file.
    @Test func aReservedReaderThatNeverReadsDoesNotStopTheOthers() async throws {
        let size = 1 << 20
        let (bytes, stream) = Self.slowSource(chunks: 2 * SharedBlobSpool.windowBytes / size, size: size)
        let spool = try SharedBlobSpool(label: "test blob")
        let reading = spool.reserve()
        let idle = spool.reserve()
        async let filled: Void = spool.fill { stream }
        #expect(try await Self.readAll(reading.open()) == bytes)
        await filled
        #expect(try await Self.readAll(idle.open()) == bytes)
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int { lock.withLock { defer { value += 1 }; return value } }
    }
}
