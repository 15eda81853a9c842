import KilnStore
import OCI

/// The one place that knows the order an image is written in, for a bake, a copy and a
/// re-tag alike: blobs first (already there, mounted, or streamed and verified, in parallel),
/// then the small documents (configs), then an index's child manifests, and the root under
/// all its tags last, so nothing is visible under a tag before everything it names is there.
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

    let destination: ImageDestination
    let progress: TransferProgress
    let jobs: Int

    package init(destination: ImageDestination, progress: TransferProgress, jobs: Int) {
        self.destination = destination
        self.progress = progress
        self.jobs = jobs
    }

    /// - Parameter beforeTagging: runs after everything but the tag is written (a copy attaches
    ///   the image's referrers there, so the tag stays last).
    package func write(_ graph: Graph, from source: ImageSource?, beforeTagging: () async throws -> Void = {}) async throws {
        // Each distinct blob once (platforms often share some).
        var seen = Set<Digest>()
        let blobs = graph.blobs.filter { seen.insert($0.digest).inserted }
        if let source, !blobs.isEmpty {
            try await BlobCopier.copyAll(blobs, from: source, to: destination, jobs: jobs, progress: progress)
        }
        for document in graph.documents { try await destination.put(document.bytes, as: document.descriptor) }
        for child in graph.children { try await destination.putManifest(child.bytes, as: child.descriptor) }
        try await beforeTagging()
        try await destination.tag(graph.root.descriptor, bytes: graph.root.bytes, additionalTags: graph.additionalTags)
    }
}
