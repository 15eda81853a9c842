import AsyncHTTPClient
import Foundation
import KilnStore
import NIOCore
import NIOHTTP1
import OCI

/// One repository reference on a registry, as image source and destination.
// Sendable: the mutable state (`state`) is read and written only under `lock`.
public final class RegistryImage: @unchecked Sendable {
    public let reference: RegistryReference
    public let transport: RegistryTransport

    private struct State {
        var resolvedRoot: (descriptor: Descriptor, bytes: [UInt8])?
        var tagMutability = TagMutability.mutable
        var recordsBlobLocations = true
    }
    private let lock = NSLock()
    private var state = State()

    /// The root manifest as resolved, so it is downloaded once.
    private var resolvedRoot: (descriptor: Descriptor, bytes: [UInt8])? {
        get { lock.withLock { state.resolvedRoot } }
        set { lock.withLock { state.resolvedRoot = newValue } }
    }
    /// The repository's tag rule: ``tag(_:bytes:additionalTags:)`` refuses to move a tag it makes immutable
    /// when that tag holds another digest (ECR's IMMUTABLE tags, or a tag an exclusion filter
    /// makes immutable) instead of leaving it to the registry.
    public var tagMutability: TagMutability {
        get { lock.withLock { state.tagMutability } }
        set { lock.withLock { state.tagMutability = newValue } }
    }
    /// Whether blobs read here are remembered as mount sources (``BlobLocations``). Off for a
    /// mirror: a pull-through repository (ECR's) refuses mounts, and a mirror is no place kiln
    /// writes to.
    var recordsBlobLocations: Bool {
        get { lock.withLock { state.recordsBlobLocations } }
        set { lock.withLock { state.recordsBlobLocations = newValue } }
    }

    public init(_ reference: RegistryReference, transport: RegistryTransport) {
        self.reference = reference
        self.transport = transport
    }

    var session: RegistrySession { get async { await transport.session(for: reference.registry) } }

    /// A document's body (manifest, at most 4 MiB), within an overall deadline of twice the
    /// stall window: a registry trickling bytes cannot hold the run. Errors say which it was.
    static func collectDocument(_ body: HTTPClientResponse.Body, reference: String, host: String, options: TransportOptions) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + .seconds(2 * options.stallSeconds)
        var bytes: [UInt8] = []
        do {
            for try await buffer in body {
                bytes += Array(buffer: buffer)
                guard bytes.count <= maxMetadataBlobSize else { throw RegistryError.manifestTooLarge(reference: reference) }
                guard ContinuousClock.now < deadline else {
                    throw RegistryError.transferFailed(host: host, what: "download of \(reference)", attempts: 1, last: "not complete within \(2 * options.stallSeconds) s")
                }
            }
        } catch let error as RegistryError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw RegistryError.transferFailed(host: host, what: "download of \(reference)", attempts: 1, last: TransportFailure(error).text)
        }
        return bytes
    }
    var repository: String { reference.repository }
    var pullScopes: [String] { ["repository:\(repository):pull"] }
    var pushScopes: [String] { ["repository:\(repository):pull,push"] }

    static let manifestAccept = [
        MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest,
    ].joined(separator: ", ")

    /// Reads the registry's error body (`{"errors":[{"code","message"}]}`) into a short text.
    static func errorMessage(_ response: HTTPClientResponse) async -> (code: String, message: String) {
        guard let body = try? await response.body.collect(upTo: 64 * 1024),
              let object = JSONValue.object(parsing: Array(buffer: body), what: "error body"),
              let first = object["errors"]?.arrayValue?.first else { return ("", "") }
        let code = first["code"]?.stringValue ?? ""
        let message = first["message"]?.stringValue ?? ""
        return (code, String(message.prefix(200)))
    }

    /// Turns a non-success response into the error a user can act on.
    func failure(_ response: HTTPClientResponse, action: String) async -> Error {
        let status = Int(response.status.code)
        let (code, message) = await Self.errorMessage(response)
        let session = await session
        switch (status, code) {
        case (401, _):
            return (try? await session.rejection(repository: repository, action: action)) ?? RegistryError.credentialsRejected(host: reference.registry, source: "the configured credentials")
        case (403, _), (_, "DENIED"), (_, "UNAUTHORIZED"):
            return RegistryError.denied(host: reference.registry, repository: repository, action: action, message: message)
        case (_, "NAME_UNKNOWN"):
            return RegistryError.repositoryNotFound(host: reference.registry, repository: repository)
        default:
            return RegistryError.unexpectedStatus(host: reference.registry, action: action, status: status, message: code.isEmpty ? message : "\(code) \(message)")
        }
    }
}

// MARK: - Source

extension RegistryImage: ImageSource {
    /// The reference without its digest: a base pinned by a lock (`kong:2.6.0-alpine@sha256:…`)
    /// keeps the name it was locked under, so plan and bake annotate alike.
    public var imageName: String? { reference.tag.map { "\(reference.name):\($0)" } ?? reference.name }
    public var registryReference: RegistryReference? { reference }

    public func resolve() async throws -> Descriptor {
        let (descriptor, bytes) = try await getManifest(reference.manifestReference, expected: reference.digest, mediaType: nil)
        resolvedRoot = (descriptor, bytes)
        return descriptor
    }

    /// The digest and media type a reference points at, from a HEAD request (no download) when
    /// the registry announces the digest and a length, else from the manifest itself (a proxy
    /// may answer a HEAD with `Content-Length: 0`).
    public func headDigest() async throws -> Descriptor {
        let session = await session
        let action = "HEAD manifest \(reference)"
        let response = try await session.send(.HEAD, "/v2/\(repository)/manifests/\(reference.manifestReference)",
                                              headers: ["Accept": Self.manifestAccept], scopes: pullScopes, action: action)
        if response.status == .notFound { throw RegistryError.manifestNotFound(reference: reference.description) }
        guard response.status == .ok else { throw await failure(response, action: action) }
        if let text = response.headers.first(name: "Docker-Content-Digest"), let digest = try? Digest(parsing: text),
           let mediaType = response.headers.first(name: "Content-Type"),
           let length = response.headers.first(name: "Content-Length").flatMap(Int64.init), length > 0 {
            if let pinned = reference.digest, pinned != digest {
                throw RegistryError.digestMismatch(reference: reference.description, expected: pinned.description, actual: digest.description)
            }
            return Descriptor(mediaType: mediaType, digest: digest, size: length)
        }
        return try await resolve()
    }

    public func fetch(_ descriptor: Descriptor) async throws -> [UInt8] {
        if let root = resolvedRoot, root.descriptor.digest == descriptor.digest { return root.bytes }
        if MediaType.manifests.contains(descriptor.mediaType) || MediaType.indexes.contains(descriptor.mediaType) {
            return try await getManifest(descriptor.digest.description, expected: nil, mediaType: descriptor.mediaType).bytes
        }
        guard descriptor.size <= Int64(maxMetadataBlobSize) else {
            throw StoreError.tooLarge(location: "\(reference.name)", digest: descriptor.digest, limit: maxMetadataBlobSize)
        }
        // The download resumes a cut transfer itself (``BlobDownload``): no second loop here.
        var bytes: [UInt8] = []
        for try await chunk in try await openBlob(descriptor) {
            bytes += chunk
            // Bounded as the bytes arrive: a registry sending more than the descriptor says
            // is cut off at once, not after it filled memory.
            guard bytes.count <= Int(descriptor.size) else {
                throw StoreError.sizeMismatch(location: "\(reference.registry)/\(repository)", digest: descriptor.digest, expected: descriptor.size, actual: Int64(bytes.count))
            }
        }
        return bytes
    }

    /// GETs a manifest, capped at 4 MiB, and checks it against the expected digest or the
    /// digest the registry announced.
    func getManifest(_ tagOrDigest: String, expected: Digest?, mediaType: String?) async throws -> (descriptor: Descriptor, bytes: [UInt8]) {
        let session = await session
        let shown = "\(reference.name)\(tagOrDigest.hasPrefix("sha256:") ? "@" : ":")\(tagOrDigest)"
        let action = "GET manifest \(shown)"
        let response = try await session.send(.GET, "/v2/\(repository)/manifests/\(tagOrDigest)", headers: ["Accept": Self.manifestAccept], scopes: pullScopes, action: action)
        if response.status == .notFound {
            let (code, _) = await Self.errorMessage(response)
            if code == "NAME_UNKNOWN" { throw RegistryError.repositoryNotFound(host: reference.registry, repository: repository) }
            throw RegistryError.manifestNotFound(reference: shown)
        }
        guard response.status == .ok else { throw await failure(response, action: action) }
        if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > maxMetadataBlobSize {
            throw RegistryError.manifestTooLarge(reference: shown)
        }
        let bytes = try await Self.collectDocument(response.body, reference: shown, host: reference.registry, options: transport.options)
        let actual = Digest.of(bytes)
        if let expected, expected != actual {
            throw RegistryError.digestMismatch(reference: shown, expected: expected.description, actual: actual.description)
        }
        if let announced = response.headers.first(name: "Docker-Content-Digest"), announced != actual.description {
            throw RegistryError.digestMismatch(reference: shown, expected: announced, actual: actual.description)
        }
        let type = response.headers.first(name: "Content-Type").flatMap { $0.split(separator: ";").first.map(String.init) } ?? mediaType ?? ""
        return (Descriptor(mediaType: type, digest: actual, size: Int64(bytes.count)), bytes)
    }
}

/// A retryable HTTP status met in the middle of a transfer.
struct RetryableStatus: Error, CustomStringConvertible {
    let status: Int
    var description: String { "HTTP \(status)" }
}

extension RegistryImage {
    /// Runs a whole transfer again from its start when the connection fails under it (a download
    /// cut short, an upload refused with a retryable status), with backoff. Errors that say
    /// something about the content or the request (digest mismatch, denied, not found) are final.
    func retryingTransfer<T>(_ action: String, _ transfer: () async throws -> T) async throws -> T {
        var backoff = Backoff(transport.options)
        while true {
            do {
                return try await transfer()
            } catch let error as StoreError {
                throw error
            } catch let error as RegistryError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let reason = RegistrySession.describe(error)
                guard try await backoff.retry(after: "\(reference.registry): \(action.redactingUserinfo) interrupted (\(reason))") else {
                    throw RegistryError.retriesExhausted(host: reference.registry, action: action, attempts: backoff.failures, last: reason)
                }
            }
        }
    }
}
