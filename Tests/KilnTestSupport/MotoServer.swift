import Foundation

/// moto in server mode (`python3 -m moto.server`) on 127.0.0.1: the ECR and STS APIs.
public final class MotoServer: @unchecked Sendable {
    public let port: Int
    private let process: Process

    /// - Parameter environment: extra settings, e.g. `INITIAL_NO_AUTH_ACTION_COUNT` to make moto
    ///   check signatures and IAM policies after that many calls.
    public init(environment: [String: String] = [:]) throws {
        port = try freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: try which("python3"))
        process.arguments = ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try waitUntilListening(port: port, process: process)
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
