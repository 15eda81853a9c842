import Foundation

/// Starts one of `Tests/Fixtures/*.py` (a fault proxy, a hostile registry, a token issuer): each
/// prints its port once it listens on 127.0.0.1.
/// - Returns: the running process and its port; the caller kills the process when done.
func startPythonFixture(_ script: String, _ arguments: [String], what: String) throws -> (process: Process, port: Int) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try which("python3"))
    process.arguments = ["\(repositoryRoot)/Tests/Fixtures/\(script)"] + arguments
    let output = closeOnExecPipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard let port = Int(line) else { throw TestFailure("\(what) did not start: '\(line)'") }
    try waitUntilListening(port: port, process: process)
    return (process, port)
}

/// The test's environment with a Docker config of its own (no credentials), so the machine's
/// own credentials never take part, and no `SOURCE_DATE_EPOCH`.
public func isolatedDockerEnvironment(_ dir: TemporaryDirectory) throws -> [String: String] {
    try dir.write("docker/config.json", #"{"auths":{}}"#)
    var environment = ProcessInfo.processInfo.environment
    environment["SOURCE_DATE_EPOCH"] = nil
    environment.merge(["DOCKER_CONFIG": dir("docker"), "REGISTRY_AUTH_FILE": ""]) { $1 }
    return environment
}
