import Foundation
import OCI

/// Runs `docker-credential-NAME get` (the Docker credential helper protocol): the server URL on
/// standard input, `{"Username": …, "Secret": …}` on standard output.
struct CredentialHelper {
    let name: String
    let environment: [String: String]

    func get(serverURL: String) throws -> Credential? {
        let program = "docker-credential-\(name)"
        guard let executable = which(program) else {
            throw RegistryError.credentialHelper(helper: name, reason: "\(program) is not on PATH")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["get"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch {
            throw RegistryError.credentialHelper(helper: name, reason: "could not start: \(error.localizedDescription)")
        }
        // Standard error is read on its own thread while standard output is read here: a helper
        // that writes much to one while kiln waits on the other would otherwise block forever.
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = errors.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
        input.fileHandleForWriting.write(Data(serverURL.utf8))
        try? input.fileHandleForWriting.close()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        // Helpers say "credentials not found" with a non-zero exit: treat as no credentials.
        guard process.terminationStatus == 0 else { return nil }
        guard let object = JSONValue.object(parsing: Array(stdout), what: program),
              let username = object["Username"]?.stringValue, let secret = object["Secret"]?.stringValue else {
            throw RegistryError.credentialHelper(helper: name, reason: "its answer is not {\"Username\",\"Secret\"} JSON")
        }
        return Credential(username: username, secret: secret, source: program)
    }

    private func which(_ program: String) -> String? {
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/\(program)") {
            return "\(directory)/\(program)"
        }
        return nil
    }
}
