import KilnStore
import OCI

/// Gets one base blob into the destination the cheapest way that works: already there, mounted
/// from the source repository on the same registry, or streamed from source to destination.
enum BlobCopier {
    /// Copies every blob, at most `jobs` at a time; the first failure cancels the rest.
    static func copyAll(_ descriptors: [Descriptor], from source: ImageSource, to destination: ImageDestination, jobs: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for descriptor in descriptors {
                if running == jobs {
                    try await group.next()
                    running -= 1
                }
                group.addTask { try await copy(descriptor, from: source, to: destination) }
                running += 1
            }
            try await group.waitForAll()
        }
    }

    static func copy(_ descriptor: Descriptor, from source: ImageSource, to destination: ImageDestination) async throws {
        if try await destination.hasBlob(descriptor) { return }
        if let origin = source.registryReference, try await destination.mountBlob(descriptor, from: origin) { return }
        try await destination.putBlob(descriptor) { try await source.openBlob(descriptor) }
    }
}
