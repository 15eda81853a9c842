import Foundation
import KilnStore
import OCI

/// An image of a registry read through its pull-through mirrors (`registries.NAME.mirrors` in
/// the config file): each request goes to each mirror in turn, then to the registry itself.
///
/// The image keeps its own name: ``imageName`` (the `base.name` annotation, the lock) and
/// ``registryReference`` (mount decisions) are the registry's, so a mirror is never used as a
/// mount source (ECR pull-through repositories refuse mounts). Each mirror is a session of its
/// own host, so it gets the credentials stored for that host (an ECR host: ECR's token) and
/// never the registry's.
///
/// A mirror that cannot serve (unreachable, refusing, 401/403, not found, 5xx after retries)
/// is skipped: the next one, then the registry, is asked. A mirror that serves bytes that do not
/// match their digest is not skipped: it is hostile or broken, and the run fails naming it.
/// Every candidate is wrapped in its own ``VerifyingSource`` for that reason.
///
/// Digests protect bytes, not the choice of image: whoever resolves a tag picks the image. So
/// with `pull-from-mirror: all` a tag is resolved at the registry itself (a HEAD, which Docker
/// Hub does not count as a pull) and only documents and blobs, by digest, come through the
/// mirrors. When the registry cannot be asked (unreachable, refused credentials, 5xx or 429
/// after retries: the reasons mirrors exist) the mirrors resolve the tag after all, with a
/// warning; a registry that answers that the tag or repository does not exist is final.
/// `tag-only` asks the mirrors for tags as configured.
// Sendable: `announced` and `skipped` are read and written only under `lock`.
public final class MirroredSource: ImageSource, @unchecked Sendable {
    struct Candidate {
        let source: ImageSource
        let mirror: RegistryMirror
    }

    private let upstream: ImageSource
    /// The registry's own image, when it resolves the tag (``resolve()``); `nil`: the mirrors do.
    private let tagAuthority: RegistryImage?
    private let reference: RegistryReference
    private let candidates: [Candidate]
    private let transport: RegistryTransport
    private let lock = NSLock()
    private var announced = false
    /// Mirrors (by position) that failed for this image.
    private var skipped: Set<Int> = []

    /// The source for `reference`: the registry itself when no mirror applies (none configured,
    /// or `pull-from-mirror` excludes this kind of reference), else a ``MirroredSource``.
    /// Either way verified (every byte checked against its digest).
    public static func source(for reference: RegistryReference, transport: RegistryTransport) -> ImageSource {
        let registryImage = RegistryImage(reference, transport: transport)
        let upstream = VerifyingSource(registryImage, location: "\(reference.registry)/\(reference.repository)")
        let settings = transport.options.mirrors[reference.registry]
        let mirrors = settings?.mirrors(for: reference) ?? []
        guard !mirrors.isEmpty else { return upstream }
        let resolvesTagAtRegistry = reference.digest == nil && settings?.policy == .all
        let candidates = mirrors.map { mirror in
            let mirrored = mirror.reference(for: reference)
            let image = RegistryImage(mirrored, transport: transport)
            image.recordsBlobLocations = false
            return Candidate(source: VerifyingSource(image, location: "\(mirrored.registry)/\(mirrored.repository) (mirror of \(reference.registry)/\(reference.repository))"),
                             mirror: mirror)
        }
        return MirroredSource(upstream: upstream, tagAuthority: resolvesTagAtRegistry ? registryImage : nil, reference: reference,
                              candidates: candidates, transport: transport)
    }

    private init(upstream: ImageSource, tagAuthority: RegistryImage?, reference: RegistryReference, candidates: [Candidate], transport: RegistryTransport) {
        self.upstream = upstream
        self.tagAuthority = tagAuthority
        self.reference = reference
        self.candidates = candidates
        self.transport = transport
    }

    public var imageName: String? { upstream.imageName }
    public var registryReference: RegistryReference? { upstream.registryReference }

    public func resolve() async throws -> Descriptor {
        let what = "manifest \(reference.manifestReference)"
        guard let tagAuthority else { return try await first(what) { try await $0.resolve() } }
        let registryError: Error
        do {
            return try await tagAuthority.headDigest()
        } catch let error where Self.fallsBack(error) && !Self.isAbsent(error) {
            registryError = error
        }
        transport.options.logger.warning("\(reference.name): the registry itself did not resolve tag \(reference.manifestReference) (\(registryError)); the mirrors resolve it, so they choose the image (pull-from-mirror: digest-only never lets them)")
        return try await first(what, last: { _ in throw registryError }) { try await $0.resolve() }
    }

    public func fetch(_ descriptor: Descriptor) async throws -> [UInt8] {
        try await first("document \(descriptor.digest)") { try await $0.fetch(descriptor) }
    }

    public func openBlob(_ descriptor: Descriptor) async throws -> BlobStream {
        try await first("blob \(descriptor.digest)") { try await $0.openBlob(descriptor) }
    }

    /// `body` on each usable mirror in turn, then on the registry itself. A mirror that failed
    /// once is not asked again for this image (one note, not one per blob); one whose host
    /// failed (unreachable, no or rejected credentials) not again in the run.
    /// - Parameter last: what to do when no mirror served (default: `body` on the registry).
    private func first<T>(_ what: String, last: ((ImageSource) async throws -> T)? = nil, _ body: (ImageSource) async throws -> T) async throws -> T {
        let logger = transport.options.logger
        for (index, candidate) in candidates.enumerated() where !isSkipped(index) {
            do {
                let value = try await body(candidate.source)
                if lock.withLock({ defer { announced = true }; return !announced }) {
                    logger.info("\(reference.name): reading through mirror \(candidate.mirror.location)")
                }
                return value
            } catch let error where Self.fallsBack(error) {
                lock.withLock { _ = skipped.insert(index) }
                if Self.isHostFailure(error) { transport.noteUnreachableMirror(candidate.mirror.host) }
                let next = candidates.indices.dropFirst(index + 1).contains { !isSkipped($0) } ? "the next mirror" : last == nil ? "the registry itself" : "nowhere else"
                logger.info("\(reference.name): mirror \(candidate.mirror.location) did not serve \(what) (\(error)); reading from \(next)")
            }
        }
        if let last { return try await last(upstream) }
        return try await body(upstream)
    }

    private func isSkipped(_ index: Int) -> Bool {
        lock.withLock { skipped.contains(index) } || transport.isUnreachableMirror(candidates[index].mirror.host)
    }

    /// Whether a mirror's failure lets the next mirror or the registry be asked: anything but
    /// wrong content (a digest or size that does not match, an oversized document), a URL kiln
    /// refused to follow, and cancellation.
    static func fallsBack(_ error: Error) -> Bool {
        switch error {
        case is CancellationError, is StoreError: return false
        case let error as RegistryError:
            switch error {
            case .digestMismatch, .manifestTooLarge, .refusedURL, .invalidConfig: return false
            default: return true
            }
        default:
            // Credential providers' own errors (no AWS credentials for an ECR mirror): the
            // mirror cannot be used, the registry may still be.
            return true
        }
    }

    /// The registry's answer that the tag or repository does not exist: final, never a reason to
    /// let a mirror resolve the tag.
    static func isAbsent(_ error: Error) -> Bool {
        switch error as? RegistryError {
        case .manifestNotFound?, .repositoryNotFound?: return true
        default: return false
        }
    }

    /// Failures of the mirror host itself rather than of one image on it: the run stops asking it.
    static func isHostFailure(_ error: Error) -> Bool {
        switch error as? RegistryError {
        case .unreachable?, .notARegistry?, .insecureRefused?, .authenticationRequired?, .credentialsRejected?: return true
        default: return false
        }
    }
}

/// The mirror hosts a run found unreachable.
// Sendable: `hosts` is read and written only under `lock`.
final class UnreachableMirrors: @unchecked Sendable {
    private let lock = NSLock()
    private var hosts: Set<String> = []

    func contains(_ host: String) -> Bool { lock.withLock { hosts.contains(host) } }
    func insert(_ host: String) { lock.withLock { _ = hosts.insert(host) } }
}
