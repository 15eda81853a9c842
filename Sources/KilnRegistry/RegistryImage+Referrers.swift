import AsyncHTTPClient
import Foundation
import KilnStore
import NIOHTTP1
import OCI

/// An image's referrers as one repository holds them: each manifest read by digest, checked
/// against that digest, and naming the image as its `subject`.
public struct Referrers: Sendable {
    /// One referrer: its descriptor (as listed, with the digest and size of the bytes read) and
    /// its manifest.
    public struct Referrer: Sendable {
        public var descriptor: Descriptor
        public var manifest: ArtifactManifest
    }

    /// Whether the registry answered the referrers API (else the list came from the tag schema).
    public var viaAPI: Bool
    public var referrers: [Referrer]
}

/// Where an attach left the referrer.
public enum AttachOutcome: Sendable, Equatable {
    /// The registry indexed it (it answered `OCI-Subject`).
    case indexedByRegistry
    /// It was added to the tag schema's index (`sha256-<hex>`).
    case addedToSchemaIndex
    /// The tag schema's index already listed it: nothing was written.
    case alreadyListed
}

extension RegistryImage {
    /// The most referrers kiln follows for one image: each one costs a GET.
    static let maxReferrers = 256

    /// The tag the referrers tag schema keeps `subject`'s referrers under: `sha256-<hex>`, the
    /// one tag of that shape kiln writes, and only through ``attach(_:to:)``.
    static func schemaTag(of subject: Digest) -> String { "\(subject.algorithm)-\(subject.hex)" }

    /// Lists the referrers of `subject` in this repository: the referrers API
    /// (`GET /v2/<name>/referrers/<digest>`) where the registry answers it with an OCI index,
    /// else the tag schema's index; none when neither exists. The list is only a hint: each
    /// referrer is fetched by digest and verified, and one whose `subject` is not `subject`
    /// is ignored (with a note), as is one listed but not there (a stale entry). `artifactType`
    /// filters client-side too (a registry may not).
    public func referrers(of subject: Digest, artifactType: String? = nil) async throws -> Referrers {
        let (listed, viaAPI) = try await listReferrers(of: subject)
        var referrers: [Referrers.Referrer] = []
        var seen = Set<Digest>()
        for descriptor in listed where seen.insert(descriptor.digest).inserted {
            guard referrers.count < Self.maxReferrers else {
                transport.options.logger.notice("\(reference.name)@\(subject): more than \(Self.maxReferrers) referrers; the rest are left out")
                break
            }
            guard descriptor.mediaType == MediaType.ociManifest else {
                // An index as a referrer (rare): kiln copies manifests with their blobs only.
                transport.options.logger.notice("\(reference.name)@\(subject): referrer \(descriptor.digest) of type '\(descriptor.mediaType)' is left out (kiln follows manifest referrers only)")
                continue
            }
            let read: Descriptor
            let bytes: [UInt8]
            do {
                (read, bytes) = try await getManifest(descriptor.digest.description, expected: descriptor.digest, mediaType: descriptor.mediaType)
            } catch RegistryError.manifestNotFound {
                // A stale entry of the tag schema's index (the referrer was deleted since): the
                // list is a hint, and the image is still copied.
                transport.options.logger.notice("\(reference.name)@\(subject): listed referrer \(descriptor.digest) is not there; left out")
                continue
            }
            let manifest = try ArtifactManifest(raw: bytes, descriptorMediaType: read.mediaType, what: "referrer \(descriptor.digest) of \(reference.name)@\(subject)")
            guard manifest.subject?.digest == subject else {
                transport.options.logger.notice("\(reference.name)@\(subject): listed referrer \(descriptor.digest) names another subject; ignored")
                continue
            }
            if let artifactType, manifest.artifactType != artifactType { continue }
            var kept = Descriptor(mediaType: MediaType.ociManifest, digest: read.digest, size: read.size)
            kept.annotations = descriptor.annotations
            referrers.append(.init(descriptor: kept, manifest: manifest))
        }
        return Referrers(viaAPI: viaAPI, referrers: referrers)
    }

    /// The descriptors the registry lists for `subject` (hints: nothing fetched or checked), and
    /// whether they came from the API.
    public func referrerDescriptors(of subject: Digest) async throws -> (descriptors: [Descriptor], viaAPI: Bool) {
        try await listReferrers(of: subject)
    }

    /// The descriptors the registry lists for `subject`, and whether they came from the API.
    private func listReferrers(of subject: Digest) async throws -> (descriptors: [Descriptor], viaAPI: Bool) {
        let session = await session
        let what = "referrers of \(reference.name)@\(subject)"
        let action = "GET \(what)"
        let response = try await session.send(.GET, "/v2/\(repository)/referrers/\(subject)", headers: ["Accept": MediaType.ociIndex], scopes: pullScopes, action: action)
        let type = response.headers.first(name: "Content-Type")?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
        switch response.status.code {
        case 200 where type == MediaType.ociIndex:
            if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > maxMetadataBlobSize {
                throw RegistryError.manifestTooLarge(reference: what)
            }
            let bytes = try await Self.collectDocument(response.body, reference: what, host: reference.registry, options: transport.options)
            return (try ReferrersIndex(raw: bytes, what: what).manifests, true)
        case 401, 403:
            throw await failure(response, action: action)
        default:
            // 404 (no such route: registry 2.8), 400, 405, or a 200 that is not an index (a
            // registry answering the path with something else): the tag schema, as
            // distribution-spec 1.1 says clients fall back to.
            await response.drain()
            guard let (_, bytes) = try await schemaIndex(of: subject) else { return ([], false) }
            return (try ReferrersIndex(raw: bytes, what: "referrers index \(reference.name):\(Self.schemaTag(of: subject))").manifests, false)
        }
    }

    /// The tag schema's index of `subject`'s referrers, when the tag exists.
    private func schemaIndex(of subject: Digest) async throws -> (Descriptor, [UInt8])? {
        do {
            let read = try await getManifest(Self.schemaTag(of: subject), expected: nil, mediaType: MediaType.ociIndex)
            return (read.descriptor, read.bytes)
        } catch RegistryError.manifestNotFound {
            return nil
        } catch RegistryError.repositoryNotFound {
            return nil
        }
    }

    /// Attaches referrer manifests to `subject` in this repository; the blobs they name must
    /// already be here, `subject` need not be (distribution-spec 1.1: a registry must accept a
    /// referrer before its subject, so a writer can tag the subject last). Each manifest is PUT
    /// by digest; a registry that answers `OCI-Subject` indexed it. The others are added to the
    /// tag schema's index (`sha256-<hex>`) in one read-modify-write: one GET (a 404 is an empty
    /// index), every other entry kept as it was, one PUT, and nothing written when all are
    /// listed already. Distribution has no conditional PUT, so a writer updating the same index
    /// in the same moment can drop an entry (last write wins); reading the index back would
    /// catch only part of that window at the price of a request per subject, so it is not read
    /// back (docs/internals.md, "Referrers"; `kiln verify` reports an entry that went missing).
    /// - Returns: one outcome per manifest, in order.
    @discardableResult
    public func attach(_ manifests: [ArtifactManifest], to subject: Digest) async throws -> [AttachOutcome] {
        var outcomes: [AttachOutcome] = []
        var pending: [ArtifactManifest] = []
        for manifest in manifests {
            guard manifest.subject?.digest == subject else {
                throw RegistryError.invalidResponse(host: reference.registry, reason: "referrer \(Digest.of(manifest.raw)) does not name \(subject) as its subject")
            }
            if try await pushReferrer(manifest) {
                outcomes.append(.indexedByRegistry)
            } else {
                outcomes.append(.alreadyListed)
                pending.append(manifest)
            }
        }
        guard !pending.isEmpty else { return outcomes }
        let added = try await listInSchemaIndex(pending, subject: subject)
        var position = 0
        for (index, outcome) in outcomes.enumerated() where outcome == .alreadyListed {
            if added.contains(Digest.of(pending[position].raw)) { outcomes[index] = .addedToSchemaIndex }
            position += 1
        }
        return outcomes
    }

    /// The first half of ``attach(_:to:)``: PUTs a referrer manifest by digest (the blobs it
    /// names must be here, its subject need not be).
    /// - Returns: whether the registry indexed it (it answered `OCI-Subject`); when not, the
    ///   referrer belongs in the tag schema's index (``listInSchemaIndex(_:subject:)``).
    public func pushReferrer(_ manifest: ArtifactManifest) async throws -> Bool {
        guard let subject = manifest.subject?.digest else {
            throw RegistryError.invalidResponse(host: reference.registry, reason: "referrer \(Digest.of(manifest.raw)) names no subject")
        }
        let descriptor = Descriptor.of(manifest.raw, mediaType: MediaType.ociManifest)
        let headers = try await putManifest(manifest.raw, descriptor: descriptor, reference: descriptor.digest.description)
        return headers.first(name: "OCI-Subject") == subject.description
    }

    /// The tag schema's index of `subject`'s referrers as it is now (one GET; a 404 is an empty
    /// index), for ``listInSchemaIndex(_:subject:read:)``.
    public func readSchemaIndex(of subject: Digest) async throws -> ReferrersIndex {
        guard let (_, bytes) = try await schemaIndex(of: subject) else { return ReferrersIndex() }
        return try ReferrersIndex(raw: bytes, what: "referrers index \(reference.name):\(Self.schemaTag(of: subject))")
    }

    /// The second half of ``attach(_:to:)``: one read-modify-write of `subject`'s tag-schema
    /// index for referrers already pushed.
    /// - Parameter read: the index as ``readSchemaIndex(of:)`` read it a moment ago (a caller
    ///   that read it beside other work); `nil`: read here.
    /// - Returns: the digests it added (none when all were listed already: nothing written).
    @discardableResult
    public func listInSchemaIndex(_ manifests: [ArtifactManifest], subject: Digest, read: ReferrersIndex? = nil) async throws -> Set<Digest> {
        for manifest in manifests where manifest.subject?.digest != subject {
            throw RegistryError.invalidResponse(host: reference.registry, reason: "referrer \(Digest.of(manifest.raw)) does not name \(subject) as its subject")
        }
        let tag = Self.schemaTag(of: subject)
        var index: ReferrersIndex
        if let read { index = read } else { index = try await readSchemaIndex(of: subject) }
        var added = Set<Digest>()
        for manifest in manifests {
            let digest = Digest.of(manifest.raw)
            if let next = try index.adding(manifest.referrerDescriptor, digest: digest) {
                index = next
                added.insert(digest)
            }
        }
        guard !added.isEmpty else { return [] }
        let bytes = index.bytes
        try await putManifest(bytes, descriptor: Descriptor.of(bytes, mediaType: MediaType.ociIndex), reference: tag)
        return added
    }

    /// Whether a manifest with this digest is in the repository (one HEAD).
    public func hasManifest(_ digest: Digest) async throws -> Bool {
        let session = await session
        let action = "HEAD manifest \(reference.name)@\(digest)"
        let response = try await session.send(.HEAD, "/v2/\(repository)/manifests/\(digest)", headers: ["Accept": Self.manifestAccept + ", " + MediaType.ociManifest], scopes: pullScopes, action: action)
        switch response.status.code {
        case 200: return true
        case 404: return false
        default: throw await failure(response, action: action)
        }
    }
}
