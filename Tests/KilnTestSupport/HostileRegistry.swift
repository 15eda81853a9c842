import Foundation

/// `Tests/Fixtures/hostile_registry.py` on 127.0.0.1: a registry that names whatever a test
/// wants (a token realm, an upload location) and logs every request it gets, with whether it
/// carried an Authorization header. Stopped when released.
public final class HostileRegistry: @unchecked Sendable {
    public let port: Int
    public let directory: TemporaryDirectory
    private let process: Process

    /// - Parameters:
    ///   - challenge: the `WWW-Authenticate` value of `/v2/` without credentials.
    ///   - uploadLocation: the `Location` of a started blob upload.
    ///   - pingStatus: what `/v2/` always answers instead (503: kiln retries, printing notes).
    public init(challenge: String = #"Basic realm="hostile""#, uploadLocation: String? = nil, pingStatus: Int? = nil) throws {
        directory = try TemporaryDirectory("kiln-hostile")
        _ = FileManager.default.createFile(atPath: directory("requests.log"), contents: nil)
        let arguments = ["--challenge", challenge, "--log", directory("requests.log")]
            + (uploadLocation.map { ["--upload-location", $0] } ?? [])
            + (pingStatus.map { ["--ping-status", String($0)] } ?? [])
        (process, port) = try startPythonFixture("hostile_registry.py", arguments, what: "the hostile registry")
    }

    /// `127.0.0.1:PORT`, its name in references.
    public var host: String { "127.0.0.1:\(port)" }

    /// The requests so far as `METHOD PATH auth|none`.
    public func requests() -> [String] {
        ((try? String(contentsOfFile: directory("requests.log"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    deinit {
        // SIGKILL: a child may have inherited a mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
