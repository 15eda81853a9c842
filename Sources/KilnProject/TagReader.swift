import KilnRegistry
import KilnStore
import OCI

/// Reads and moves the tags of a target (registry repository or layout) without baking: what
/// `build` needs to see that an image is already there, and `verify` to compare.
struct TagReader: Sendable {
    let transport: TransportOptions

    /// What each tag holds; a missing tag (or repository, or layout) has no entry.
    func descriptors(of target: ImageReference, tags: [String]) async throws -> [String: Descriptor] {
        var found: [String: Descriptor] = [:]
        switch target {
        case .layout(let layout):
            for tag in tags {
                if let descriptor = try? await OCILayout(LayoutReference(directory: layout.directory, tag: tag)).resolve() {
                    found[tag] = descriptor
                }
            }
        case .registry(let registry):
            try await withTransport { registries in
                for tag in tags {
                    do {
                        found[tag] = try await RegistryImage(registry.with(tag: tag), transport: registries).headDigest()
                    } catch RegistryError.manifestNotFound, RegistryError.repositoryNotFound {
                        continue
                    }
                }
            }
        }
        return found
    }

    /// Points `tags` at a root whose blobs and children are already in place.
    func point(_ target: ImageReference, tags: [String], at root: Descriptor, bytes: [UInt8]) async throws {
        switch target {
        case .layout(let layout):
            guard let first = tags.first else { return }
            try await OCILayout(LayoutReference(directory: layout.directory, tag: first)).tag(root, bytes: bytes, additionalTags: Array(tags.dropFirst()))
        case .registry(let registry):
            try await withTransport { registries in
                for tag in tags { try await RegistryImage(registry.with(tag: tag), transport: registries).tag(root, bytes: bytes) }
            }
        }
    }

    /// Fetches a document of the target (verified against its digest).
    func fetch(_ target: ImageReference, _ descriptor: Descriptor) async throws -> [UInt8] {
        switch target {
        case .layout(let layout):
            return try await OCILayout(LayoutReference(directory: layout.directory, digest: descriptor.digest)).fetch(descriptor)
        case .registry(let registry):
            var bytes: [UInt8] = []
            try await withTransport { registries in
                bytes = try await RegistryImage(registry.with(digest: descriptor.digest), transport: registries).fetch(descriptor)
            }
            return bytes
        }
    }

    private func withTransport(_ body: (RegistryTransport) async throws -> Void) async throws {
        let registries = try RegistryTransport(options: transport)
        do {
            try await body(registries)
            await registries.shutdown()
        } catch {
            await registries.shutdown()
            throw error
        }
    }
}
