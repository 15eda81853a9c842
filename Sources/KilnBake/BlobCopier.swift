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
        let held = await parallel(live) { entry in try await entry.target.destination.hasBlob(descriptor) }
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
        let mounted = await parallel(lacking) { entry in
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
    /// the others mount from that one once it has the blob (or upload too, when refused).
    private static func fanOut(_ descriptor: Descriptor, from source: ImageSource, to streaming: [(index: Int, target: ImageGraphWriter.Target)], outcomes: TargetOutcomes, progress: TransferProgress) async {
        let spool: SharedBlobSpool
        do { spool = try SharedBlobSpool(label: "blob \(descriptor.digest)") } catch {
            for entry in streaming { outcomes.fail(entry.index, error) }
            return
        }
        // Grouped by registry, in the targets' order (a layout is a group of its own).
        var groups: [[(index: Int, target: ImageGraphWriter.Target)]] = []
        for entry in streaming {
            let registry = entry.target.reference.registryReference?.registry
            if let registry, let at = groups.firstIndex(where: { $0[0].target.reference.registryReference?.registry == registry }) {
                groups[at].append(entry)
            } else {
                groups.append([entry])
            }
        }
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
            for members in groups {
                group.addTask {
                    let (leader, followers) = (members[0], members.dropFirst())
                    var from: RegistryReference?
                    do {
                        try await leader.target.destination.putBlob(descriptor) { spool.reader() }
                        from = leader.target.reference.registryReference
                    } catch {
                        outcomes.fail(leader.index, error)
                    }
                    let mountFrom = from
                    await withTaskGroup(of: Void.self) { followersGroup in
                        for follower in followers {
                            followersGroup.addTask {
                                do {
                                    if let mountFrom, try await follower.target.destination.mountBlob(descriptor, from: mountFrom) { return }
                                    try await follower.target.destination.putBlob(descriptor) { spool.reader() }
                                } catch {
                                    outcomes.fail(follower.index, error)
                                }
                            }
                        }
                    }
                }
            }
        }
        progress.finished(descriptor, .copied)
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

    /// `body` for each entry at once, each result kept (success or failure).
    private static func parallel<Value: Sendable>(_ entries: [(index: Int, target: ImageGraphWriter.Target)], _ body: @escaping @Sendable ((index: Int, target: ImageGraphWriter.Target)) async throws -> Value) async -> [Result<Value, any Error>] {
        // A named struct, not a tuple, as the task's result (see BoundedConcurrency: Swift 6.3's
        // optimizer drops tuple elements such task closures return).
        await withTaskGroup(of: Positioned<Value>.self) { group in
            for (position, entry) in entries.enumerated() {
                group.addTask {
                    do { return Positioned(position: position, result: .success(try await body(entry))) } catch {
                        return Positioned(position: position, result: .failure(error))
                    }
                }
            }
            var results = [Result<Value, any Error>?](repeating: nil, count: entries.count)
            for await done in group { results[done.position] = done.result }
            return results.map { $0! }
        }
    }

    private struct Positioned<Value: Sendable>: Sendable {
        var position: Int
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
