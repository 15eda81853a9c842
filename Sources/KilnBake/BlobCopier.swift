import KilnStore
import OCI

/// Gets base blobs into the destination the cheapest way that works: already there, mounted
/// from the source repository on the same registry, or streamed from source to destination.
enum BlobCopier {
    /// Copies every blob, at most `jobs` at a time; the first failure cancels the rest.
    static func copyAll(_ descriptors: [Descriptor], from source: ImageSource, to destination: ImageDestination, jobs: Int, progress: TransferProgress) async throws {
        _ = try await BoundedConcurrency.map(descriptors, limit: jobs) { descriptor in
            try await copy(descriptor, from: source, to: destination, progress: progress)
        }
    }

    static func copy(_ descriptor: Descriptor, from source: ImageSource, to destination: ImageDestination, progress: TransferProgress) async throws {
        if try await destination.hasBlob(descriptor) {
            progress.finished(descriptor, .exists)
            return
        }
        if try await destination.mountBlob(descriptor, from: source.registryReference) {
            progress.finished(descriptor, .mounted)
            return
        }
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
}
