import KilnBake
import KilnRegistry
import KilnStore
import OCI

/// Reads and moves the tags of a target (registry repository or layout) without baking: what
/// `build` needs to see that an image is already there, and `verify` to compare. Everything
/// goes through the run's store, so a registry is probed and authenticated once per run.
struct TargetTags: Sendable {
    let store: ImageSession

    /// What each tag holds; a missing tag (or repository, or layout) has no entry.
    func descriptors(of target: ImageReference, tags: [String]) async throws -> [String: Descriptor] {
        var found: [String: Descriptor] = [:]
        for tag in tags {
            do {
                found[tag] = try await store.head(ImagePlan.output(target, tag: tag))
            } catch RegistryError.manifestNotFound, RegistryError.repositoryNotFound {
                continue
            } catch is StoreError where target.isLayout {
                // A layout that does not exist yet, or lacks the tag, simply does not hold it.
                continue
            }
        }
        return found
    }

    /// Points `tags` at a root whose blobs and children are already in place, in one step
    /// where the target allows it (a layout's index).
    func point(_ target: ImageReference, tags: [String], at root: Descriptor, bytes: [UInt8]) async throws {
        guard let first = tags.first else { return }
        let graph = ImageGraphWriter.Graph(root: .init(descriptor: root, bytes: bytes), additionalTags: Array(tags.dropFirst()))
        // Prepared like any write: an ECR repository's immutable tags are never moved.
        try await ImageGraphWriter(store: store, to: ImagePlan.output(target, tag: first), progress: TransferProgress(mode: .quiet)).write(graph, from: nil)
    }

    /// Fetches a document of the target (verified against its digest).
    func fetch(_ target: ImageReference, _ descriptor: Descriptor) async throws -> [UInt8] {
        try await store.source(target.pinnedReference(descriptor.digest)).fetch(descriptor)
    }
}

extension ImageReference {
    var isLayout: Bool { if case .layout = self { true } else { false } }
    var isArchive: Bool { if case .archive = self { true } else { false } }
}
