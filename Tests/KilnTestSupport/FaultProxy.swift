import Foundation

/// `Tests/Fixtures/fault_proxy.py` in front of a real registry: injects dropped connections, 503
/// and 429 answers a given number of times. Stopped when released.
public final class FaultProxy: @unchecked Sendable {
    public let port: Int
    private let process: Process

    /// - Parameter faults: e.g. `["--drop-blob-get", "1", "--blob-put-503", "1"]`.
    public convenience init(upstream: RegistryServer, faults: [String]) throws {
        try self.init(upstreamHost: upstream.host, faults: faults)
    }

    /// In front of any plain-HTTP server on 127.0.0.1 (`HOST:PORT`).
    public init(upstreamHost: String, faults: [String]) throws {
        (process, port) = try startPythonFixture("fault_proxy.py", ["--upstream", upstreamHost] + faults, what: "the fault proxy")
    }

    /// The URL to give `--registry-endpoint`.
    public var url: String { "http://127.0.0.1:\(port)" }

    deinit {
        // SIGKILL: a child may have inherited a mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
