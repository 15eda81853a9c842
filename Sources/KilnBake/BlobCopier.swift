import KilnStore
import OCI

/// Gets base blobs into every destination of a write the cheapest way that works, reading each
/// from its source at most once: already there; mounted from the source repository on the same
/// registry, or from a sibling destination on the same registry that holds it; else streamed.
/// With one destination to stream to, the source streams straight into it (as a single push
/// always did); with several, the blob is read once into a ``SharedBlobSpool`` that each
/// upload reads at its own pace, one upload per registry, and the other destinations on that
/// registry mount from the one that received it (streaming from the spool where the registry
/// refuses the mount, as ECR does unless blob mounting is on).
enum BlobCopier {
    /// Copies every blob into one destination, at most `jobs` at a time; the first failure is thrown.
    static func copyAll(_ descriptors: [Descriptor], from source: ImageSource, to destination: ImageDestination, jobs: Int, progress: TransferProgress) async throws {
        _ = try await BoundedConcurrency.map(descriptors, limit: jobs) { descriptor in
            try await copy(descriptor, from: source, to: destination, progress: progress)
        }
    }

    /// Copies every blob into every live target, at most `jobs` blobs at a time; a target that
    /// fails is given up (``TargetOutcomes``) and gets no further blob.
    static func copyAll(_ descriptors: [Descriptor], from source: ImageSource, to outcomes: TargetOutcomes, jobs: Int, progress: TransferProgress) async {
        // Nothing throws out of a blob: failures are per target.
        _ = try? await BoundedConcurrency.map(descriptors, limit: jobs) { descriptor in
            await copy(descriptor, from: source, to: outcomes, progress: progress)
        }
    }

    static func copy(_ descriptor: Descriptor, from source: ImageSource, to outcomes: TargetOutcomes, progress: TransferProgress) async {
        let live = outcomes.live
        guard !live.isEmpty else { return }
        if live.count == 1 && outcomes.count == 1 {
            // One destination: the single push's own path, no spool.
            let (index, target) = live[0]
            do { try await copy(descriptor, from: source, to: target.destination, progress: progress) } catch { outcomes.fail(index, error) }
            return
        }
        // Which destinations hold it already (and, by that, become mount sources for siblings).
        let held = await parallel(live, limit: outcomes.limit) { entry in try await entry.target.destination.hasBlob(descriptor) }
        var holders: [RegistryReference] = []
        var lacking: [(index: Int, target: ImageGraphWriter.Target)] = []
        for (entry, result) in zip(live, held) {
            switch result {
            case .success(true): if let registry = entry.target.reference.registryReference { holders.append(registry) }
            case .success(false): lacking.append(entry)
            case .failure(let error): outcomes.fail(entry.index, error)
            }
        }
        guard !lacking.isEmpty else {
            progress.finished(descriptor, .exists)
            return
        }
        // Mounted from the base's repository, or from a destination on the same registry that has it.
        let sources = holders
        let mounted = await parallel(lacking, limit: outcomes.limit) { entry in
            let registry = entry.target.reference.registryReference?.registry
            let from = source.registryReference.flatMap { $0.registry == registry ? $0 : nil } ?? sources.first { $0.registry == registry }
            return try await entry.target.destination.mountBlob(descriptor, from: from ?? source.registryReference)
        }
        var streaming: [(index: Int, target: ImageGraphWriter.Target)] = []
        for (entry, result) in zip(lacking, mounted) {
            switch result {
            case .success(true): continue
            case .success(false): streaming.append(entry)
            case .failure(let error): outcomes.fail(entry.index, error)
            }
        }
        guard !streaming.isEmpty else {
            progress.finished(descriptor, .mounted)
            return
        }
        if streaming.count == 1 {
            let (index, target) = streaming[0]
            do { try await stream(descriptor, from: source, to: target.destination, progress: progress) } catch { outcomes.fail(index, error) }
            return
        }
        await fanOut(descriptor, from: source, to: streaming, outcomes: outcomes, progress: progress)
    }

    /// One read of the source into a spool; per registry, one destination uploads from it and
    /// the others mount from that one once it has the blob (or upload too, when refused). At
    /// most ``TargetOutcomes/limit`` registries upload at once; the first of them take the
    /// spool's chunks from memory as they arrive (``SharedBlobSpool/reserve()``), the source
    /// read no further ahead than the slowest of them can keep up with; a later one, a retry,
    /// and a sibling the mount was refused to read the spool's file.
    private static func fanOut(_ descriptor: Descriptor, from source: ImageSource, to streaming: [(index: Int, target: ImageGraphWriter.Target)], outcomes: TargetOutcomes, progress: TransferProgress) async {
        let spool: SharedBlobSpool
        do { spool = try SharedBlobSpool(label: "blob \(descriptor.digest)") } catch {
            for entry in streaming { outcomes.fail(entry.index, error) }
            return
        }
        // Grouped by registry, in the targets' order (a layout is a group of its own).
        var groups: [Group] = []
        for entry in streaming {
            let registry = entry.target.reference.registryReference?.registry
            if let registry, let at = groups.firstIndex(where: { $0.members[0].target.reference.registryReference?.registry == registry }) {
                groups[at].members.append(entry)
            } else {
                groups.append(Group(members: [entry]))
            }
        }
        // Reserved before the fill starts, for the groups that start at once.
        for position in groups.indices.prefix(outcomes.limit) { groups[position].reservation = spool.reserve() }
        progress.started(descriptor)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await spool.fill {
                    let stream = try await source.openBlob(descriptor)
                    return BlobStream(wrapping: stream.makeAsyncIterator()) { chunk in
                        progress.advanced(descriptor.digest, by: chunk.count)
                        return chunk
                    }
                }
            }
            let all = groups
            group.addTask {
                _ = try? await BoundedConcurrency.map(all, limit: outcomes.limit) { members in
                    await upload(descriptor, members, from: spool, outcomes: outcomes)
                }
            }
        }
        progress.finished(descriptor, .copied)
    }

    /// The destinations of one registry in a fan-out, and the spool reservation of its upload.
    private struct Group: Sendable {
        var members: [(index: Int, target: ImageGraphWriter.Target)]
        var reservation: SharedBlobSpool.Reservation?
    }

    /// One registry's part of a fan-out: the first destination uploads, the others mount from it.
    private static func upload(_ descriptor: Descriptor, _ group: Group, from spool: SharedBlobSpool, outcomes: TargetOutcomes) async {
        let (leader, followers) = (group.members[0], Array(group.members.dropFirst()))
        var from: RegistryReference?
        do {
            defer { group.reservation?.release() }
            try await leader.target.destination.putBlob(descriptor) { group.reservation?.open() ?? spool.reader() }
            from = leader.target.reference.registryReference
        } catch {
            outcomes.fail(leader.index, error)
        }
        let mountFrom = from
        await outcomes.forEach(followers) { follower in
            if let mountFrom, try await follower.target.destination.mountBlob(descriptor, from: mountFrom) { return }
            try await follower.target.destination.putBlob(descriptor) { spool.reader() }
        }
    }

    /// The single destination's way: there, mounted, or streamed straight from the source.
    static func copy(_ descriptor: Descriptor, from source: ImageSource, to destination: ImageDestination, progress: TransferProgress) async throws {
        if try await destination.hasBlob(descriptor) {
            progress.finished(descriptor, .exists)
            return
        }
        if try await destination.mountBlob(descriptor, from: source.registryReference) {
            progress.finished(descriptor, .mounted)
            return
        }
        try await stream(descriptor, from: source, to: destination, progress: progress)
    }

    private static func stream(_ descriptor: Descriptor, from source: ImageSource, to destination: ImageDestination, progress: TransferProgress) async throws {
        progress.started(descriptor)
        try await destination.putBlob(descriptor) {
            let stream = try await source.openBlob(descriptor)
            return BlobStream(wrapping: stream.makeAsyncIterator()) { chunk in
                progress.advanced(descriptor.digest, by: chunk.count)
                return chunk
            }
        }
        progress.finished(descriptor, .copied)
    }

    /// `body` for each entry, `limit` at a time, each result kept (success or failure).
    private static func parallel<Value: Sendable>(_ entries: [(index: Int, target: ImageGraphWriter.Target)], limit: Int, _ body: @escaping @Sendable ((index: Int, target: ImageGraphWriter.Target)) async throws -> Value) async -> [Result<Value, any Error>] {
        // A named struct, not a tuple, as the result (see BoundedConcurrency: Swift 6.3's
        // optimizer drops tuple elements such task closures return).
        let results = try? await BoundedConcurrency.map(entries.map { Positioned(entry: $0.target, index: $0.index) }, limit: limit) { item in
            do { return Outcome(result: .success(try await body((item.index, item.entry)))) } catch { return Outcome<Value>(result: .failure(error)) }
        }
        // Nothing throws out of the bodies above.
        return results?.map(\.result) ?? entries.map { _ in .failure(CancellationError()) }
    }

    private struct Positioned: Sendable {
        var entry: ImageGraphWriter.Target
        var index: Int
    }

    private struct Outcome<Value: Sendable>: Sendable {
        var result: Result<Value, any Error>
    }
}

extension ImageReference {
    /// The registry repository this names, `nil` for a layout or archive.
    var registryReference: RegistryReference? {
        if case .registry(let registry) = self { return registry }
        return nil
    }
}
