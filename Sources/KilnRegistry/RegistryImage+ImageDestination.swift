import AsyncHTTPClient
import Foundation
import KilnStore
import NIOCore
import NIOHTTP1
import OCI

extension RegistryImage: ImageDestination {
    public func hasBlob(_ descriptor: Descriptor) async throws -> Bool {
        let session = await session
        let action = "HEAD blob \(descriptor.digest)"
        let response = try await session.send(.HEAD, "/v2/\(repository)/blobs/\(descriptor.digest)", scopes: pushScopes, action: action)
        switch response.status.code {
        case 200:
            noteHeld(descriptor.digest)
            return true
        case 404: return false
        default: throw await failure(response, action: action)
        }
    }

    /// Takes the blob from another repository of this registry without copying it: from
    /// `source` when it is here, then from up to ``siblingMountAttempts`` repositories known to
    /// hold it (``BlobLocations``). A refused mount forgets that location.
    public func mountBlob(_ descriptor: Descriptor, from source: RegistryReference?) async throws -> Bool {
        var candidates: [String] = []
        if let source, source.registry == reference.registry, source.repository != repository { candidates.append(source.repository) }
        let siblings = transport.locations.repositories(holding: descriptor.digest, on: reference.registry)
            .filter { $0 != repository && !candidates.contains($0) }
        candidates += siblings.prefix(Self.siblingMountAttempts)
        for candidate in candidates {
            do {
                if try await mountOnce(descriptor, from: candidate) {
                    noteHeld(descriptor.digest)
                    return true
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // A location kiln only remembered (another run's credentials, a repository this
                // user may not read): any failure means streaming instead, as a refusal does.
                transport.options.logger.info("\(reference.registry): mount of \(descriptor.digest) from \(candidate) failed (\(error)); streaming instead")
            }
            transport.locations.forget(descriptor.digest, registry: reference.registry, repository: candidate)
        }
        return false
    }

    /// Sibling repositories a mount tries after the source's (docs/internals.md: "up to two"): each
    /// refusal costs a request, and a blob that three repositories refuse is streamed anyway.
    static let siblingMountAttempts = 2

    /// `POST /blobs/uploads/?mount=…&from=…`: 201 means mounted; 202 (mounting refused, as ECR
    /// does unless enabled, and from pull-through-cache repositories) opens an upload session,
    /// which is dropped: the caller streams instead.
    private func mountOnce(_ descriptor: Descriptor, from sourceRepository: String) async throws -> Bool {
        let session = await session
        let scopes = ["repository:\(repository):pull,push", "repository:\(sourceRepository):pull"]
        let action = "mount blob \(descriptor.digest) from \(sourceRepository)"
        let query = QueryString.make([("mount", descriptor.digest.description), ("from", sourceRepository)])
        let response = try await session.send(.POST, "/v2/\(repository)/blobs/uploads/?\(query)", headers: ["Content-Length": "0"], scopes: scopes, action: action)
        await response.drain()
        return response.status == .created
    }

    /// Remembers that this repository holds the blob (for mounts into its siblings).
    func noteHeld(_ digest: Digest) {
        guard recordsBlobLocations else { return }
        transport.locations.record(digest, registry: reference.registry, repository: repository)
    }

    /// Uploads a blob as one request (POST, then one PUT `?digest=` carrying the whole body):
    /// ECR drops chunks of multi-request uploads. A failed upload is retried from its start.
    public func putBlob(_ descriptor: Descriptor, from open: @escaping () async throws -> BlobStream) async throws {
        let session = await session
        try await retryingTransfer("upload of blob \(descriptor.digest)") {
            try await self.uploadOnce(descriptor, open: open, session: session)
        }
        noteHeld(descriptor.digest)
    }


    /// - Parameter mountingFrom: starts the upload as a mount from this repository (this one
    ///   itself, or a sibling): a registry that can link the blob answers 201 (nothing to
    ///   send), any other opens the upload session a refused mount falls back to
    ///   (distribution-spec: 202 and a `Location`).
    private func uploadOnce(_ descriptor: Descriptor, open: () async throws -> BlobStream, session: RegistrySession, mountingFrom: String? = nil) async throws {
        let query = mountingFrom.map { "?" + QueryString.make([("mount", descriptor.digest.description), ("from", $0)]) } ?? ""
        let scopes = mountingFrom.map { $0 == repository ? pushScopes : ["repository:\(repository):pull,push", "repository:\($0):pull"] } ?? pushScopes
        let start = try await session.send(.POST, "/v2/\(repository)/blobs/uploads/\(query)", headers: ["Content-Length": "0"], scopes: scopes, action: "start upload of \(descriptor.digest)")
        if mountingFrom != nil, start.status == .created {
            await start.drain()
            return
        }
        // A body can be read once: the error path reads it (the registry's message), the
        // success path drains it.
        guard start.status == .accepted else { throw await failure(start, action: "start upload of \(descriptor.digest)") }
        await start.drain()
        guard let location = start.headers.first(name: "Location") else {
            throw RegistryError.invalidResponse(host: reference.registry, reason: "202 to start upload of \(descriptor.digest) without a Location")
        }
        let base = try await session.prepare()
        var url = try CredentialBoundary.uploadLocation(location, registry: reference.registry, base: base)
        url += (url.contains("?") ? "&" : "?") + QueryString.make([("digest", descriptor.digest.description)])
        let stream = try await open()
        let body = HTTPClientRequest.Body.stream(stream.map { ByteBuffer(bytes: $0) }, length: .known(descriptor.size))
        let response = try await session.sendStreaming(.PUT, url, headers: ["Content-Type": "application/octet-stream"], body: body, scopes: pushScopes)
        guard response.status == .created else {
            if RetryPolicy.retryableStatuses.contains(response.status.code) {
                await response.drain()
                throw RetryableStatus(status: Int(response.status.code))
            }
            throw await failure(response, action: "upload of blob \(descriptor.digest)")
        }
        await response.drain()
    }

    public func makeBlobWriter() throws -> BlobWriter {
        try SpoolingBlobWriter(destination: self)
    }

    public func put(_ bytes: [UInt8], as descriptor: Descriptor) async throws {
        if try await hasBlob(descriptor) { return }
        try await putBlob(descriptor) { BlobStream.once(bytes) }
    }

    /// Puts a small blob (an artifact's empty config, a provenance statement) in one request when
    /// the repository holds it and two when it does not, where ``put(_:as:)`` needs one and three:
    /// the upload starts as a mount (201: linked, nothing sent; 202: the upload session, into
    /// which the bytes go), from a sibling repository known to hold it (``BlobLocations``) when
    /// the registry does not charge a token fetch for the sibling's scope, else from this
    /// repository itself. A registry answering the mount with anything else (a 4xx other than
    /// 401/403) gets the plain HEAD-then-upload.
    public func putSmall(_ bytes: [UInt8], as descriptor: Descriptor) async throws {
        let session = await session
        var from = repository
        if try await !session.scopesCostTokens(), recordsBlobLocations,
           let sibling = transport.locations.repositories(holding: descriptor.digest, on: reference.registry).first(where: { $0 != repository }) {
            from = sibling
        }
        do {
            try await retryingTransfer("upload of blob \(descriptor.digest)") {
                try await self.uploadOnce(descriptor, open: { BlobStream.once(bytes) }, session: session, mountingFrom: from)
            }
        } catch RegistryError.unexpectedStatus(_, _, let status, _) where (400..<500).contains(status) && status != 401 && status != 403 {
            try await put(bytes, as: descriptor)
            return
        }
        noteHeld(descriptor.digest)
    }

    public func putManifest(_ bytes: [UInt8], as descriptor: Descriptor) async throws {
        try await putManifest(bytes, descriptor: descriptor, reference: descriptor.digest.description)
    }

    /// Whether the reference's one tag must be PUT to hold `descriptor`: not when it already
    /// holds exactly this digest (immutable tags reject even an identical re-push).
    /// - Throws: when the tag holds another digest and the repository's rule makes it immutable.
    func needsTag(_ descriptor: Descriptor) async throws -> Bool {
        let tag = reference.tag ?? "latest"
        let session = await session
        let head = try await session.send(.HEAD, "/v2/\(repository)/manifests/\(tag)", headers: ["Accept": Self.manifestAccept], scopes: pushScopes, action: "HEAD manifest \(tag)")
        let current = head.status == .ok ? head.headers.first(name: "Docker-Content-Digest") : nil
        if current == descriptor.digest.description {
            transport.options.logger.info("\(reference.name):\(tag) already is \(descriptor.digest)")
            return false
        }
        if let current, tagMutability.isImmutable(tag) {
            throw RegistryError.immutableTag(reference: "\(reference.name):\(tag)", current: current, new: descriptor.digest.description, reason: tagMutability.reason(for: tag))
        }
        return true
    }

    /// PUTs a manifest under a tag or its digest.
    /// - Returns: the response's headers (`OCI-Subject` says the registry indexed a referrer).
    @discardableResult
    func putManifest(_ bytes: [UInt8], descriptor: Descriptor, reference tagOrDigest: String) async throws -> HTTPHeaders {
        let session = await session
        let action = "PUT manifest \(reference.name):\(tagOrDigest)"
        let response = try await session.send(.PUT, "/v2/\(repository)/manifests/\(tagOrDigest)", headers: ["Content-Type": descriptor.mediaType], body: .bytes(bytes), scopes: pushScopes, action: action)
        guard response.status == .created || response.status == .ok else { throw await failure(response, action: action) }
        await response.drain()
        if let announced = response.headers.first(name: "Docker-Content-Digest"), announced != descriptor.digest.description {
            throw RegistryError.digestMismatch(reference: "\(reference.name)@\(descriptor.digest)", expected: descriptor.digest.description, actual: announced)
        }
        return response.headers
    }

    /// A registry cannot take back what it stored; nothing is tagged before the end, so a failed
    /// bake leaves at most unreferenced blobs, which the registry's garbage collection removes.
    public func abort() {}
}
