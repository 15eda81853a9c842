import Foundation
import Logging

/// How kiln reaches registries: shared by every registry a run talks to.
public struct TransportOptions: Sendable {
    /// Hosts that may be reached over plain HTTP besides loopback (`--insecure`).
    public var insecureHosts: Set<String> = []
    /// A PEM file of extra CA certificates (`--ca-file`, or `SSL_CERT_FILE`).
    public var caFile: String?
    /// Registry name -> base URL (`--registry-endpoint HOST=URL`): where requests for a registry
    /// really go, while references keep their names.
    public var endpoints: [String: String] = [:]
    /// Registry name -> pull-through mirrors read before it (``MirroredSource``); never used
    /// for pushes.
    public var mirrors: [String: RegistryMirrors] = [:]
    public var credentials: CredentialProvider
    public var retry = RetryPolicy()
    /// The cache of which repositories hold which blobs (`nil`: learn for this run only).
    public var blobLocationFile: String? = BlobLocations.defaultFile
    /// Steps run at a registry destination before writing (the ECR layer's repository check).
    public var destinationPreparations: [any DestinationPreparation] = []
    /// Blob transfers in parallel; for several targets, also the targets each step writes to at once.
    public var jobs = 4
    public var logger = Logger(label: "kiln")
    /// A body slower than ``minimumBytesPerSecond`` over this many seconds is a stalled
    /// transfer: a blob download is then resumed, a document (at most 4 MiB) must arrive
    /// within twice this. `$KILN_STALL_SECONDS` sets it (default 60).
    public var stallSeconds: Int = TransportOptions.stallSecondsFromEnvironment()
    /// 1 KiB/s: far below any working link, far above a registry trickling bytes to hold a run.
    public var minimumBytesPerSecond = 1024

    static func stallSecondsFromEnvironment() -> Int {
        guard let text = ProcessInfo.processInfo.environment["KILN_STALL_SECONDS"], let value = Int(text), value >= 1 else { return 60 }
        // A day at most: larger values would overflow the rate and deadline arithmetic.
        return min(value, 86_400)
    }

    public init(credentials: CredentialProvider = DockerConfigCredentials()) {
        self.credentials = credentials
    }
}
