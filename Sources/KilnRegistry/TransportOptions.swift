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
    public var credentials: CredentialProvider
    public var retry = RetryPolicy()
    /// Blob transfers in parallel.
    public var jobs = 4
    public var logger = Logger(label: "kiln")

    public init(credentials: CredentialProvider = DockerConfigCredentials()) {
        self.credentials = credentials
    }
}
