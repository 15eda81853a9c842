import AsyncHTTPClient
import NIOCore
import NIOSSL

/// The HTTP client and per-registry sessions of one kiln run. Call ``shutdown()`` when done.
public final class RegistryTransport: Sendable {
    let http: HTTPClient
    public let options: TransportOptions
    private let sessions = SessionTable()
    /// Where blobs were seen on each registry: this run's knowledge, over the cache file's.
    let locations: BlobLocations
    /// Mirror hosts that could not be reached this run: not asked again (``MirroredSource``).
    private let unreachableMirrors = UnreachableMirrors()

    public init(options: TransportOptions) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = options.caFile {
            do {
                tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
            } catch {
                throw RegistryError.invalidConfig(path: caFile, reason: "not a PEM certificate file")
            }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(Int64(options.stallSeconds)))
        // kiln retries (with backoff, and not at all where retrying cannot help); the client's
        // own silent reconnecting until a deadline made a refused port take 30 s to report.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.options = options
        locations = BlobLocations(file: options.blobLocationFile)
    }

    /// The session for a registry name, created on first use.
    func session(for registry: String) async -> RegistrySession {
        await sessions.session(for: registry) { RegistrySession(registry: registry, transport: self) }
    }

    func isUnreachableMirror(_ host: String) -> Bool { unreachableMirrors.contains(host) }
    func noteUnreachableMirror(_ host: String) { unreachableMirrors.insert(host) }

    /// The run's HTTP client, for other API calls of the run (AWS) that should share its TLS
    /// settings and connections.
    public var httpClient: HTTPClient { http }

    /// A short, secret-free description of a transport error (no build paths).
    public static func describe(_ error: Error) -> String { RegistrySession.describe(error) }

    public func shutdown() async {
        locations.save()
        try? await http.shutdown()
    }
}

private actor SessionTable {
    private var sessions: [String: RegistrySession] = [:]

    func session(for registry: String, make: () -> RegistrySession) -> RegistrySession {
        if let existing = sessions[registry] { return existing }
        let made = make()
        sessions[registry] = made
        return made
    }
}
