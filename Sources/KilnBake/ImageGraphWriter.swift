import Foundation
import KilnRegistry
import KilnStore
import OCI

/// The one place that knows the order an image is written in, for a bake, a copy, a push and a
/// re-tag alike: the destination's preparation (ECR: the repository exists, its tag rules)
/// first, then blobs (already there, mounted, or streamed and verified, in parallel), the
/// small documents (configs), an index's child manifests, and the root under all its tags
/// last, so nothing is visible under a tag before everything it names is there; a failure
/// removes what was written.
package struct ImageGraphWriter {
    /// A document written as it is: a new config, or a child manifest.
    package struct Document {
        package var descriptor: Descriptor
        package var bytes: [UInt8]

        package init(descriptor: Descriptor, bytes: [UInt8]) {
            self.descriptor = descriptor
            self.bytes = bytes
        }
    }

    /// What one image consists of, beyond blobs the destination already has.
    package struct Graph {
        /// Copied from the source: base layers (a bake) or every config and layer (a copy).
        package var blobs: [Descriptor] = []
        /// Configs made by the bake.
        package var documents: [Document] = []
        /// An index's child manifests (none for a single manifest).
        package var children: [Document] = []
        package var root: Document
        /// Tags besides the destination reference's own, written in the same step.
        package var additionalTags: [String] = []

        package init(blobs: [Descriptor] = [], documents: [Document] = [], children: [Document] = [], root: Document, additionalTags: [String] = []) {
            self.blobs = blobs
            self.documents = documents
            self.children = children
            self.root = root
            self.additionalTags = additionalTags
        }
    }

    /// One destination of a write: where to, and the reference that names it (its preparation
    /// and errors name it).
    package struct Target: Sendable {
        package let reference: ImageReference
        package let destination: ImageDestination
    }

    /// What became of one target of a write to several.
    package struct TargetResult: Sendable {
        package let reference: ImageReference
        /// Why this target was given up (prepared, uploaded or tagged); `nil`: written and tagged.
        package let failure: (any Error)?
    }

    let store: ImageSession
    /// Where the graph goes, in the caller's order; the same image is written to each.
    package let targets: [Target]
    /// The first (for a write to one target, the only) destination.
    package var destination: ImageDestination { targets[0].destination }
    let create: RepositoryCreation?
    /// `create` applies to the destinations that can create a repository (ECR) and is no
    /// error for the others: a write to several targets, of which some may not be ECR.
    let createsWhereItCan: Bool
    let progress: TransferProgress

    /// - Parameters:
    ///   - reference: the destination reference (its preparation and errors name it).
    ///   - destination: where to write instead of the store's destination for `reference`.
    ///   - create: `--create-repository`.
    package init(store: ImageSession, to reference: ImageReference, destination: ImageDestination? = nil, create: RepositoryCreation? = nil, progress: TransferProgress) throws {
        self.store = store
        targets = [Target(reference: reference, destination: try destination ?? store.destination(reference))]
        self.create = create
        createsWhereItCan = false
        self.progress = progress
    }

    /// A writer of one image to several destinations at once (a spec's `targets:`, `kiln copy
    /// SRC DST DST…`): each base blob read from the source once for all of them, the new layer
    /// built once, and each destination tagged only after its own upload matched.
    package init(store: ImageSession, to references: [ImageReference], create: RepositoryCreation? = nil, progress: TransferProgress) throws {
        precondition(!references.isEmpty, "a write has a destination")
        self.store = store
        targets = try references.map { Target(reference: $0, destination: try store.destination($0)) }
        self.create = create
        createsWhereItCan = true
        self.progress = progress
    }

    /// Writes `graph` as one transaction (see ``write(from:_:beforeTagging:)``).
    package func write(_ graph: Graph, from source: ImageSource?, beforeTagging: @escaping @Sendable () async throws -> Void = {}) async throws {
        try await write(from: source, { _ in (graph, ()) }, beforeTagging: beforeTagging)
    }

    /// The whole write to the one target (or every target, failing with the first target's
    /// failure), in the one order no caller can skip a step of: see ``writeAll(from:_:beforeTagging:)``.
    @discardableResult
    package func write<Staged>(from source: ImageSource?, _ stage: (Staging) async throws -> (Graph, Staged), beforeTagging: @escaping @Sendable () async throws -> Void = {}) async throws -> Staged {
        let (staged, results) = try await writeAll(from: source, stage, beforeTagging: { _ in try await beforeTagging() })
        if let failure = results.lazy.compactMap(\.failure).first { throw failure }
        return staged
    }

    /// The whole write, in the one order no caller can skip a step of: each destination's
    /// preparation (an ECR repository exists or is created, its tag rules learnt) before a byte
    /// is written; then `stage` (a bake builds its layer there, once, into every destination,
    /// and derives the documents); the graph's blobs (each read from the source at most once
    /// for all destinations: see ``BlobCopier``), documents and children; `beforeTagging`; the
    /// root under all its tags last. A destination that fails any step is given up alone:
    /// what was written there is removed, it is never tagged, and the others go on.
    /// - Parameters:
    ///   - stage: writes what only the caller can (the new layer); returns the graph to write
    ///     and what the caller wants back. Its failure fails every destination (thrown).
    ///   - beforeTagging: runs per destination after everything but the tag is written there
    ///     (a copy attaches the image's referrers there, so the tag stays last).
    /// - Returns: what `stage` returned beside the graph, and each target's result in order.
    package func writeAll<Staged>(from source: ImageSource?, _ stage: (Staging) async throws -> (Graph, Staged), beforeTagging: @escaping @Sendable (Target) async throws -> Void = { _ in }) async throws -> (Staged, [TargetResult]) {
        let outcomes = TargetOutcomes(targets, limit: store.options.jobs)
        let (store, create) = (store, create)
        let several = targets.count > 1 || createsWhereItCan
        await outcomes.forEachLive { target in
            do {
                try await store.prepare(target.destination, reference: target.reference, create: create)
            } catch BakeError.createRepositoryNeedsECR where several {
                // `--create-repository` for several targets creates the ECR ones; a registry
                // that is not ECR among them has nothing to create.
            }
        }
        // A destination refused at its preparation was never written to: nothing to abort.
        let unprepared = Set(outcomes.results().enumerated().filter { $0.element.failure != nil }.map(\.offset))
        guard !outcomes.live.isEmpty else { return try await abortFailed(outcomes, staged: nil, except: unprepared) }
        let staged: Staged
        let graph: Graph
        do {
            (graph, staged) = try await stage(Staging(outcomes))
        } catch {
            for (index, target) in targets.enumerated() where !unprepared.contains(index) { target.destination.abort() }
            throw error
        }
        // Each distinct blob once (platforms often share some).
        var seen = Set<Digest>()
        let blobs = graph.blobs.filter { seen.insert($0.digest).inserted }
        if let source, !blobs.isEmpty {
            await BlobCopier.copyAll(blobs, from: source, to: outcomes, jobs: store.options.jobs, progress: progress)
        }
        await outcomes.forEachLive { target in
            let destination = target.destination
            for document in graph.documents { try await destination.put(document.bytes, as: document.descriptor) }
            for child in graph.children { try await destination.putManifest(child.bytes, as: child.descriptor) }
            // A registry HEADs its tags while `beforeTagging` runs; nothing is tagged before it ended.
            try await destination.tag(graph.root.descriptor, bytes: graph.root.bytes, additionalTags: graph.additionalTags, after: {
                try await beforeTagging(target)
            })
        }
        return try await abortFailed(outcomes, staged: staged, except: unprepared)
    }

    /// Removes what failed targets were given, and reports every target.
    private func abortFailed<Staged>(_ outcomes: TargetOutcomes, staged: Staged?, except unprepared: Set<Int>) async throws -> (Staged, [TargetResult]) {
        let results = outcomes.results()
        for (index, (target, result)) in zip(targets, results).enumerated() where result.failure != nil && !unprepared.contains(index) {
            target.destination.abort()
        }
        guard let staged else {
            // Every preparation failed: nothing was staged. A write to several says each.
            let first = results.compactMap(\.failure).first!
            throw targets.count > 1 || createsWhereItCan ? TargetsFailed(results: results) : first
        }
        return (staged, results)
    }

    /// A write to several targets where every target failed before anything was staged
    /// (each preparation refused): each target's own failure.
    package struct TargetsFailed: Error, CustomStringConvertible {
        package let results: [TargetResult]
        package var description: String { results.compactMap(\.failure).first.map { "\($0)" } ?? "every target failed" }
    }

    /// Where a bake's stage writes the new layer: into every destination still going, built once.
    package struct Staging {
        let outcomes: TargetOutcomes

        init(_ outcomes: TargetOutcomes) { self.outcomes = outcomes }

        /// A writer of one new blob to every live destination; with one destination, that
        /// destination's own writer.
        package func makeBlobWriter() throws -> BlobWriter {
            let live = outcomes.live
            if live.count == 1, outcomes.count == 1 { return try live[0].target.destination.makeBlobWriter() }
            return FanOutBlobWriter(live.compactMap { entry in
                do { return (entry.index, try entry.target.destination.makeBlobWriter()) } catch {
                    outcomes.fail(entry.index, error)
                    return nil
                }
            }, outcomes: outcomes)
        }
    }
}

/// Each target of a write: still going, or failed with its first error.
// Sendable: `failures` is read and written only under `lock`.
final class TargetOutcomes: @unchecked Sendable {
    let targets: [ImageGraphWriter.Target]
    /// How many targets a step of the write works on at once (`--jobs`): a spec may list 256
    /// targets, and each at once would be that many connections per blob.
    let limit: Int
    private let lock = NSLock()
    private var failures: [Int: any Error] = [:]

    init(_ targets: [ImageGraphWriter.Target], limit: Int) {
        self.targets = targets
        self.limit = max(1, limit)
    }

    var count: Int { targets.count }

    /// The targets not failed yet, with their positions.
    var live: [(index: Int, target: ImageGraphWriter.Target)] {
        lock.withLock { targets.enumerated().filter { failures[$0.offset] == nil }.map { ($0.offset, $0.element) } }
    }

    func isLive(_ index: Int) -> Bool { lock.withLock { failures[index] == nil } }

    /// Gives a target up (its first failure is the one reported).
    func fail(_ index: Int, _ error: any Error) {
        lock.withLock { if failures[index] == nil { failures[index] = error } }
    }

    /// Runs `body` for every live target, ``limit`` at a time; a target whose body throws is failed.
    func forEachLive(_ body: @escaping @Sendable (ImageGraphWriter.Target) async throws -> Void) async {
        let live = live
        if live.count == 1 {
            // One target: no task group, the same path a single write always took.
            do { try await body(live[0].target) } catch { fail(live[0].index, error) }
            return
        }
        await forEach(live) { entry in try await body(entry.target) }
    }

    /// Runs `body` for each of `entries`, ``limit`` at a time; an entry whose body throws is failed.
    func forEach(_ entries: [(index: Int, target: ImageGraphWriter.Target)], _ body: @escaping @Sendable ((index: Int, target: ImageGraphWriter.Target)) async throws -> Void) async {
        // Nothing throws out: failures are per target.
        _ = try? await BoundedConcurrency.map(entries.map { Entry(index: $0.index, target: $0.target) }, limit: limit) { entry in
            do { try await body((entry.index, entry.target)) } catch { self.fail(entry.index, error) }
        }
    }

    private struct Entry: Sendable {
        let index: Int
        let target: ImageGraphWriter.Target
    }

    func results() -> [ImageGraphWriter.TargetResult] {
        lock.withLock { targets.enumerated().map { .init(reference: $0.element.reference, failure: failures[$0.offset]) } }
    }
}

/// The new layer, built once, written into several destinations' writers side by side; a
/// destination whose writer fails is given up alone. Fails as a whole only when none is left.
final class FanOutBlobWriter: BlobWriter {
    private var writers: [(index: Int, writer: BlobWriter)]
    private let outcomes: TargetOutcomes

    init(_ writers: [(Int, BlobWriter)], outcomes: TargetOutcomes) {
        self.writers = writers.map { (index: $0.0, writer: $0.1) }
        self.outcomes = outcomes
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        writers.removeAll { entry in
            do {
                try entry.writer.write(chunk)
                return false
            } catch {
                entry.writer.cancel()
                outcomes.fail(entry.index, error)
                return true
            }
        }
        try checkSomeLeft()
    }

    func commit(as descriptor: Descriptor) async throws {
        let outcomes = outcomes
        let entries = writers.map { Committing(index: $0.index, writer: $0.writer) }
        // At most the write's limit of uploads at once.
        _ = try? await BoundedConcurrency.map(entries, limit: outcomes.limit) { entry in
            do { try await entry.writer.commit(as: descriptor) } catch { outcomes.fail(entry.index, error) }
        }
        writers.removeAll { !outcomes.isLive($0.index) }
        try checkSomeLeft()
    }

    func cancel() {
        for entry in writers { entry.writer.cancel() }
        writers = []
    }

    private func checkSomeLeft() throws {
        guard writers.isEmpty else { return }
        // Every destination failed: the first failure is the write's.
        if let failure = outcomes.results().lazy.compactMap(\.failure).first { throw failure }
    }

    // Sendable only by promise: each writer is committed by one task, after all writes.
    private struct Committing: @unchecked Sendable {
        let index: Int
        let writer: BlobWriter
    }
}
