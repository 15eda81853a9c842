import AsyncHTTPClient
import Foundation
import KilnRecipe
import KilnRegistry
import KilnStore
import OCI

/// The images of one kiln run: layouts on disk and registries over ONE HTTP client with one
/// session per registry (probe, challenge and tokens found once, however many images the run
/// bakes, reads or tags). Created and shut down once by the command; every operation (bake,
/// copy, digest, lock, build, verify) takes it, none makes its own client.
// Sendable: `transport`, made on first use, is read and written only under `lock`.
public final class ImageSession: @unchecked Sendable {
    public let options: TransportOptions
    private let lock = NSLock()
    /// Made on first use: a run that touches only layouts never starts an event loop.
    private var transport: RegistryTransport?

    public init(options: TransportOptions = TransportOptions()) {
        self.options = options
    }

    /// Runs `body` with a new store and shuts it down afterwards, however `body` ends.
    public static func withSession<T>(options: TransportOptions, _ body: (ImageSession) async throws -> T) async throws -> T {
        let store = ImageSession(options: options)
        do {
            let result = try await body(store)
            await store.shutdown()
            return result
        } catch {
            await store.shutdown()
            throw error
        }
    }

    func registries() throws -> RegistryTransport {
        try lock.withLock {
            if let transport { return transport }
            let made = try RegistryTransport(options: options)
            transport = made
            return made
        }
    }

    /// The run's HTTP client (made on first use), for the run's other API calls (AWS).
    public func httpClient() throws -> HTTPClient { try registries().httpClient }

    /// Where an image is read from; every byte it hands out is checked against its digest.
    public func source(_ reference: ImageReference) throws -> ImageSource {
        switch reference {
        case .layout(let layout): return VerifyingSource(OCILayout(layout), location: "OCI layout '\(layout.directory)'")
        // Through the registry's pull-through mirrors when the config file names some.
        case .registry(let registry): return MirroredSource.source(for: registry, transport: try registries())
        case .archive: throw StoreError.archiveIsOutputOnly(reference.description)
        }
    }

    /// Where an image is written to: named by a tag, never a digest, and never by a tag of the
    /// referrers tag schema (`sha256-<hex>`: what is attached to an image lives there).
    public func destination(_ reference: ImageReference) throws -> ImageDestination {
        let tag: String? = switch reference {
        case .layout(let layout): layout.tag
        case .registry(let registry): registry.tag
        case .archive(let archive): archive.tag
        }
        if let tag, ReferrersTagSchema.collides(tag) {
            throw StoreError.invalidReference(reference.description, reason: "'\(tag)' has the shape of the referrers tag schema (<alg>-<hex>), where an image's signatures and attestations live; kiln never writes such a tag")
        }
        switch reference {
        case .layout(let layout):
            guard layout.digest == nil else {
                throw StoreError.invalidReference(layout.description, reason: "an output is named by a tag, not a digest")
            }
            return OCILayout(layout)
        case .registry(let registry):
            guard registry.digest == nil else {
                throw StoreError.invalidReference(registry.description, reason: "an output is named by a tag, not a digest")
            }
            return RegistryImage(registry, transport: try registries())
        case .archive(let archive):
            return ImageArchive(archive)
        }
    }

    /// The registry repository of a reference, for what only registries have (the referrers
    /// API and tag schema); `nil` for layouts and archives.
    public func registryImage(_ reference: ImageReference) throws -> RegistryImage? {
        guard case .registry(let registry) = reference else { return nil }
        return RegistryImage(registry, transport: try registries())
    }

    /// The digest and media type a reference points at, without downloading the document
    /// where the registry announces it (`kiln digest`, build's up-to-date check).
    public func head(_ reference: ImageReference) async throws -> Descriptor {
        switch reference {
        case .layout(let layout): return try await OCILayout(layout).resolve()
        case .registry(let registry): return try await RegistryImage(registry, transport: try registries()).headDigest()
        case .archive: throw StoreError.archiveIsOutputOnly(reference.description)
        }
    }

    /// Runs the run's destination preparations (ECR: the repository exists, tag rules) before
    /// anything is written.
    /// - Throws: when `create` was asked for and no preparation applies to the destination.
    public func prepare(_ destination: ImageDestination, reference: ImageReference, create: RepositoryCreation?) async throws {
        var prepared = false
        if let image = destination as? RegistryImage {
            for preparation in options.destinationPreparations where try await preparation.prepare(image, create: create) {
                prepared = true
                break
            }
        }
        guard create == nil || prepared else { throw BakeError.createRepositoryNeedsECR(reference.description) }
    }

    public func shutdown() async {
        let made = lock.withLock { () -> RegistryTransport? in
            defer { transport = nil }
            return transport
        }
        await made?.shutdown()
    }
}
