import KilnStore
import OCI

/// Gets one base blob into the destination the cheapest way that works: already there, mounted
/// from the source repository on the same registry, or streamed from source to destination.
enum BlobCopier {
    static func copy(_ descriptor: Descriptor, from source: ImageSource, to destination: ImageDestination) async throws {
        if try await destination.hasBlob(descriptor) { return }
        if let origin = source.registryReference, try await destination.mountBlob(descriptor, from: origin) { return }
        try await destination.putBlob(descriptor) { try await source.openBlob(descriptor) }
    }
}
