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
        process = Process()
        process.executableURL = URL(fileURLWithPath: try which("python3"))
        process.arguments = ["\(repositoryRoot)/Tests/Fixtures/fault_proxy.py", "--upstream", upstreamHost] + faults
        let output = closeOnExecPipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let port = Int(line) else { throw TestFailure("the fault proxy did not start: '\(line)'") }
        self.port = port
        try waitUntilListening(port: port, process: process)
    }

    /// The URL to give `--registry-endpoint`.
    public var url: String { "http://127.0.0.1:\(port)" }

    deinit {
        // SIGKILL: a child may have inherited a mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
