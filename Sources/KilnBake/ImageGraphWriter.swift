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

    let store: ImageSession
    let reference: ImageReference
    /// Where the graph goes; ``destination(_:)`` unless the caller chose another (`kiln docker`'s store).
    package let destination: ImageDestination
    let create: RepositoryCreation?
    let progress: TransferProgress

    /// - Parameters:
    ///   - reference: the destination reference (its preparation and errors name it).
    ///   - destination: where to write instead of the store's destination for `reference`.
    ///   - create: `--create-repository`.
    package init(store: ImageSession, to reference: ImageReference, destination: ImageDestination? = nil, create: RepositoryCreation? = nil, progress: TransferProgress) throws {
        self.store = store
        self.reference = reference
        self.destination = try destination ?? store.destination(reference)
        self.create = create
        self.progress = progress
    }

    /// Writes `graph` as one transaction (see ``write(from:_:beforeTagging:)``).
    package func write(_ graph: Graph, from source: ImageSource?, beforeTagging: () async throws -> Void = {}) async throws {
        try await write(from: source, { _ in (graph, ()) }, beforeTagging: beforeTagging)
    }

    /// The whole write, in the one order no caller can skip a step of: the destination's
    /// preparation (an ECR repository exists or is created, its tag rules learnt) before a byte
    /// is written; then `stage` (a bake builds its layer into the destination there and derives
    /// the documents); the graph's blobs, documents and children; `beforeTagging`; the root
    /// under all its tags last. Anything written is removed again when a step fails.
    /// - Parameters:
    ///   - stage: writes what only the caller can (the new layer); returns the graph to write
    ///     and what the caller wants back.
    ///   - beforeTagging: runs after everything but the tag is written (a copy attaches the
    ///     image's referrers there, so the tag stays last).
    /// - Returns: what `stage` returned beside the graph.
    @discardableResult
    package func write<Staged>(from source: ImageSource?, _ stage: (ImageDestination) async throws -> (Graph, Staged), beforeTagging: () async throws -> Void = {}) async throws -> Staged {
        try await store.prepare(destination, reference: reference, create: create)
        do {
            let (graph, staged) = try await stage(destination)
            try await writeGraph(graph, from: source, beforeTagging: beforeTagging)
            return staged
        } catch {
            destination.abort()
            throw error
        }
    }

    private func writeGraph(_ graph: Graph, from source: ImageSource?, beforeTagging: () async throws -> Void) async throws {
        // Each distinct blob once (platforms often share some).
        var seen = Set<Digest>()
        let blobs = graph.blobs.filter { seen.insert($0.digest).inserted }
        if let source, !blobs.isEmpty {
            try await BlobCopier.copyAll(blobs, from: source, to: destination, jobs: store.options.jobs, progress: progress)
        }
        for document in graph.documents { try await destination.put(document.bytes, as: document.descriptor) }
        for child in graph.children { try await destination.putManifest(child.bytes, as: child.descriptor) }
        try await beforeTagging()
        try await destination.tag(graph.root.descriptor, bytes: graph.root.bytes, additionalTags: graph.additionalTags)
    }
}
