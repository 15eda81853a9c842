import Foundation
import KilnStore
import OCI
import Testing
@testable import KilnBake

/// A write to many targets works on at most `--jobs` of them at once (a spec may list 256:
/// each at once would be that many connections per blob), and still writes every one.
@Suite struct FanOutLimitTests {
    /// Counts the calls in progress across all destinations that share it.
    final class Gauge: @unchecked Sendable {
        private let lock = NSLock()
        private var current = 0
        private(set) var highest = 0
        func enter() { lock.withLock { current += 1; highest = max(highest, current) } }
        func leave() { lock.withLock { current -= 1 } }
        var peak: Int { lock.withLock { highest } }
    }

    /// A destination in memory whose every call takes a moment and is counted by `gauge`.
    final class SlowDestination: ImageDestination, @unchecked Sendable {
        let images = MemoryImages()
        let gauge: Gauge
        init(gauge: Gauge) { self.gauge = gauge }

        private func counted<Value>(_ body: () async throws -> Value) async throws -> Value {
            gauge.enter()
            defer { gauge.leave() }
            try await Task.sleep(nanoseconds: 3_000_000)
            return try await body()
        }

        func hasBlob(_ descriptor: Descriptor) async throws -> Bool { try await counted { try await images.hasBlob(descriptor) } }
        func mountBlob(_ descriptor: Descriptor, from source: RegistryReference?) async throws -> Bool { try await counted { false } }
        func putBlob(_ descriptor: Descriptor, from open: @escaping () async throws -> BlobStream) async throws {
            try await counted { try await images.putBlob(descriptor, from: open) }
        }
        func makeBlobWriter() throws -> BlobWriter { try images.makeBlobWriter() }
        func put(_ bytes: [UInt8], as descriptor: Descriptor) async throws { try await counted { try await images.put(bytes, as: descriptor) } }
        func putManifest(_ bytes: [UInt8], as descriptor: Descriptor) async throws { try await counted { try await images.putManifest(bytes, as: descriptor) } }
        func tag(_ descriptor: Descriptor, bytes: [UInt8], additionalTags: [String]) async throws {
            try await counted { try await images.tag(descriptor, bytes: bytes, additionalTags: additionalTags) }
        }
        func abort() { images.abort() }
    }

    /// 40 targets, each on a registry of its own (so each streams, none mounts), a limit of 3.
    func targets(_ count: Int, gauge: Gauge) -> [(target: ImageGraphWriter.Target, images: MemoryImages)] {
        (0..<count).map { number in
            let destination = SlowDestination(gauge: gauge)
            let reference = ImageReference.registry(RegistryReference(registry: "registry\(number).test", repository: "app", tag: "v1"))
            return (ImageGraphWriter.Target(reference: reference, destination: destination), destination.images)
        }
    }

    @Test func aBlobGoesToEveryOneOfManyTargetsAtMostTheLimitAtOnce() async throws {
        let source = MemoryImages()
        let blob = source.add([UInt8](repeating: 7, count: 100_000))
        let gauge = Gauge()
        let all = targets(40, gauge: gauge)
        let outcomes = TargetOutcomes(all.map(\.target), limit: 3)
        await BlobCopier.copyAll([blob], from: source, to: outcomes, jobs: 1, progress: TransferProgress(mode: .quiet))
        #expect(outcomes.results().allSatisfy { $0.failure == nil })
        #expect(all.allSatisfy { $0.images.bytes(of: blob.digest) == source.bytes(of: blob.digest) })
        // Read from the source once for all 40.
        #expect(source.events.filter { $0.hasPrefix("open") }.count == 1)
        // The limit held (one blob at a time here), and was used.
        #expect(gauge.peak <= 3 && gauge.peak >= 2, "\(gauge.peak) calls at once")
    }

    @Test func everyStepOfAWriteToManyTargetsKeepsTheLimit() async throws {
        let gauge = Gauge()
        let all = targets(25, gauge: gauge)
        let outcomes = TargetOutcomes(all.map(\.target), limit: 4)
        let document = Array(#"{"config":true}"#.utf8)
        await outcomes.forEachLive { target in try await target.destination.put(document, as: Descriptor.of(document, mediaType: MediaType.ociConfig)) }
        #expect(all.allSatisfy { $0.images.holds(Digest.of(document)) })
        #expect(gauge.peak <= 4 && gauge.peak >= 2, "\(gauge.peak) calls at once")
    }

    /// A target that fails is given up alone; the others of a capped fan-out still get the blob.
    @Test func aFailingTargetAmongManyStopsNoOther() async throws {
        let source = MemoryImages()
        let blob = source.add([UInt8](repeating: 9, count: 50_000))
        let gauge = Gauge()
        let all = targets(12, gauge: gauge)
        all[1].images.failing = "putBlob"
        let outcomes = TargetOutcomes(all.map(\.target), limit: 2)
        await BlobCopier.copyAll([blob], from: source, to: outcomes, jobs: 2, progress: TransferProgress(mode: .quiet))
        let failed = outcomes.results().enumerated().filter { $0.element.failure != nil }.map(\.offset)
        #expect(failed == [1])
        #expect(all.enumerated().allSatisfy { $0.offset == 1 || $0.element.images.holds(blob.digest) })
        #expect(source.events.filter { $0.hasPrefix("open") }.count == 1)
    }
}
