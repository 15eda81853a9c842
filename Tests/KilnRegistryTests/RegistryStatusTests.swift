import Foundation
@testable import KilnRegistry
import KilnStore
import OCI
import Testing

/// The transport, one status code at a time, against a scripted in-process server.
@Suite struct RegistryStatusTests {
    struct NoCredentials: CredentialProvider {
        func credential(for registry: String) async throws -> Credential? { nil }
        var searchedLocations: [String] { ["nowhere"] }
    }

    static let manifest = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#.utf8)
    static var digest: Digest { Digest.of(manifest) }

    static func transport(for server: ScriptedHTTPServer, credential: Credential? = nil) throws -> RegistryTransport {
        var options = TransportOptions(credentials: NoCredentials())
        if let credential { options.credentials = RegistryCredentials(flags: (server.host, credential), dockerConfig: DockerConfigCredentials(files: [])) }
        options.retry = RetryPolicy(attempts: 3, baseDelay: 0.01, maxDelay: 0.02)
        options.blobLocationFile = nil
        return try RegistryTransport(options: options)
    }

    static func image(_ server: ScriptedHTTPServer, _ transport: RegistryTransport, tag: String = "1") throws -> RegistryImage {
        RegistryImage(try RegistryReference(parsing: "\(server.host)/app:\(tag)"), transport: transport)
    }

    static func manifestReply(_ request: ScriptedHTTPServer.Request) -> ScriptedHTTPServer.Reply {
        ScriptedHTTPServer.Reply(status: 200, headers: [("Content-Type", MediaType.ociManifest), ("Docker-Content-Digest", digest.description)],
                                 body: request.method == "HEAD" ? [] : manifest)
    }

    @Test func probe200ThenManifest404IsNotFound() async throws {
        let server = try ScriptedHTTPServer { request, _ in
            request.uri == "/v2/" ? .init(status: 200) : .json(404, #"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}"#)
        }
        let transport = try Self.transport(for: server)
        await #expect(throws: RegistryError.manifestNotFound(reference: "\(server.host)/app:1")) {
            _ = try await Self.image(server, transport).resolve()
        }
        let repoUnknown = try ScriptedHTTPServer { request, _ in
            request.uri == "/v2/" ? .init(status: 200) : .json(404, #"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}"#)
        }
        let second = try Self.transport(for: repoUnknown)
        await #expect(throws: RegistryError.repositoryNotFound(host: repoUnknown.host, repository: "app")) {
            _ = try await Self.image(repoUnknown, second).resolve()
        }
        await transport.shutdown()
        await second.shutdown()
    }

    @Test func basicChallengeSendsTheCredentialOrSaysNoneWasFound() async throws {
        let server = try ScriptedHTTPServer { request, _ in
            if request.uri == "/v2/" { return .init(status: 401, headers: [("WWW-Authenticate", #"Basic realm="test""#)]) }
            guard request.headers["authorization"] == "Basic " + Data("ci:pw".utf8).base64EncodedString() else { return .init(status: 401) }
            return Self.manifestReply(request)
        }
        let authorized = try Self.transport(for: server, credential: Credential(username: "ci", secret: "pw", source: "test"))
        #expect(try await Self.image(server, authorized).resolve().digest == Self.digest)
        let anonymous = try Self.transport(for: server)
        await #expect(throws: RegistryError.authenticationRequired(host: server.host, repository: "app", lookedIn: ["nowhere"])) {
            _ = try await Self.image(server, anonymous).resolve()
        }
        await authorized.shutdown()
        await anonymous.shutdown()
    }

    /// Eight requests at once on a fresh session: one probe and one token fetch in all.
    @Test func bearerProbeAndTokenAreFetchedOnceForConcurrentRequests() async throws {
        let server = try ScriptedHTTPServer { request, server in
            if request.uri == "/v2/" {
                return .init(status: 401, headers: [("WWW-Authenticate", #"Bearer realm="http://\#(server.host)/token",service="test""#)])
            }
            if request.uri.hasPrefix("/token") {
                Thread.sleep(forTimeInterval: 0.05)
                return .json(200, #"{"token":"t0k3n","expires_in":300}"#)
            }
            guard request.headers["authorization"] == "Bearer t0k3n" else { return .init(status: 401) }
            return Self.manifestReply(request)
        }
        let transport = try Self.transport(for: server)
        try await withThrowingTaskGroup(of: Digest.self) { group in
            for _ in 0..<8 { group.addTask { try await Self.image(server, transport).headDigest().digest } }
            for try await digest in group { #expect(digest == Self.digest) }
        }
        #expect(server.count { $0.uri == "/v2/" } == 1)
        #expect(server.count { $0.uri.hasPrefix("/token") } == 1)
        await transport.shutdown()
    }

    @Test func retryableStatusesAreRetriedAndThenNamed() async throws {
        let server = try ScriptedHTTPServer { request, server in
            if request.uri == "/v2/" { return .init(status: 200) }
            let earlier = server.count { $0.uri == request.uri } - 1
            if request.uri.hasSuffix("/manifests/1") { return earlier == 0 ? .init(status: 429, headers: [("Retry-After", "0")]) : Self.manifestReply(request) }
            return .init(status: 503)
        }
        let transport = try Self.transport(for: server)
        #expect(try await Self.image(server, transport).resolve().digest == Self.digest)
        await #expect(throws: RegistryError.retriesExhausted(host: server.host, action: "GET manifest \(server.host)/app:2", attempts: 3, last: "HTTP 503")) {
            _ = try await Self.image(server, transport, tag: "2").resolve()
        }
        #expect(server.count { $0.uri.hasSuffix("/manifests/2") } == 3)
        await transport.shutdown()
    }

    @Test func deniedAndRejectedAreTold() async throws {
        let server = try ScriptedHTTPServer { request, _ in
            if request.uri == "/v2/" { return .init(status: 200) }
            if request.uri.hasSuffix("/manifests/1") { return .json(403, #"{"errors":[{"code":"DENIED","message":"no pull for you"}]}"#) }
            return .init(status: 401)
        }
        let transport = try Self.transport(for: server)
        await #expect(throws: RegistryError.denied(host: server.host, repository: "app", action: "GET manifest \(server.host)/app:1", message: "no pull for you")) {
            _ = try await Self.image(server, transport).resolve()
        }
        await transport.shutdown()
    }

    @Test func aProbeAnswering500IsNotMistakenForTLS() async throws {
        let server = try ScriptedHTTPServer { _, _ in .init(status: 500) }
        let transport = try Self.transport(for: server)
        do {
            _ = try await Self.image(server, transport).resolve()
            Issue.record("a 500 probe was accepted")
        } catch {
            #expect("\(error)".contains("HTTP 500") && !"\(error)".contains("TLS"), "\(error)")
        }
        // One plain request decided, then the retries of the probe itself.
        #expect(server.count { $0.uri == "/v2/" } == 1 + 3)
        await transport.shutdown()
    }
}

/// What a registry refuses or overdoes while kiln writes or reads blobs.
@Suite struct RegistryBlobStatusTests {
    /// A refused upload start (403 with the registry's message) is an error naming it; the
    /// body is read once (reading it twice trapped in NIO).
    @Test func aRefusedUploadStartIsAnErrorNotATrap() async throws {
        let server = try ScriptedHTTPServer { request, _ in
            if request.uri == "/v2/" { return .init(status: 200) }
            if request.method == "HEAD" { return .init(status: 404) }
            return .json(403, #"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#)
        }
        let transport = try RegistryStatusTests.transport(for: server)
        let image = try RegistryStatusTests.image(server, transport)
        let blob: [UInt8] = Array("layer".utf8)
        let descriptor = Descriptor(mediaType: MediaType.ociLayerGzip, digest: Digest.of(blob), size: Int64(blob.count))
        await #expect(throws: RegistryError.denied(host: server.host, repository: "app", action: "start upload of \(descriptor.digest)", message: "requested access to the resource is denied")) {
            try await image.putBlob(descriptor) { BlobStream.once(blob) }
        }
        await transport.shutdown()
    }

    /// A config blob answered with far more bytes than its descriptor says is cut off as the
    /// bytes arrive.
    @Test func anOversizedDocumentIsCutOff() async throws {
        let config: [UInt8] = Array("{}".utf8)
        let descriptor = Descriptor(mediaType: MediaType.ociConfig, digest: Digest.of(config), size: Int64(config.count))
        let server = try ScriptedHTTPServer { request, _ in
            if request.uri == "/v2/" { return .init(status: 200) }
            return .init(status: 200, headers: [("Content-Type", "application/octet-stream")], body: [UInt8](repeating: 0x20, count: 1 << 20))
        }
        let transport = try RegistryStatusTests.transport(for: server)
        await #expect(throws: StoreError.self) {
            _ = try await RegistryStatusTests.image(server, transport).fetch(descriptor)
        }
        await transport.shutdown()
    }
}

/// The blob-location cache file is shared by concurrent runs: each save replays only what that
/// run saw over the file as it is now.
@Suite struct BlobLocationCacheTests {
    @Test func aSaveKeepsWhatOthersDroppedDroppedAndWhatTheyAddedAdded() throws {
        let dir = NSTemporaryDirectory() + "kiln-locations-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "\(dir)/blob-locations.json"
        let x = Digest.of(Array("x".utf8)), y = Digest.of(Array("y".utf8)), z = Digest.of(Array("z".utf8))
        let seed = BlobLocations(file: file)
        seed.record(x, registry: "r", repository: "old")
        seed.save()

        let first = BlobLocations(file: file)   // loads x@old
        let second = BlobLocations(file: file)  // loads x@old
        second.forget(x, registry: "r", repository: "old")
        second.record(z, registry: "r", repository: "svc/z")
        second.save()
        first.record(y, registry: "r", repository: "svc/y")
        first.save()

        let result = BlobLocations(file: file)
        #expect(result.repositories(holding: x, on: "r").isEmpty, "an entry another run dropped came back")
        #expect(result.repositories(holding: y, on: "r") == ["svc/y"])
        #expect(result.repositories(holding: z, on: "r") == ["svc/z"], "what another run added was lost")
    }
}
