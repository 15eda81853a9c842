import ArgumentParser
import Foundation
import KilnAWS
import KilnBake
import KilnProject
import KilnRegistry

/// Where the specs and the lock are; shared by lock, plan, build and verify.
struct ProjectFlags: ParsableArguments {
    @Option(help: ArgumentHelp("The repository root: images/*.yaml and the overlays they name are under it.", valueName: "DIR"))
    var root: String = "."

    @Option(help: ArgumentHelp("The lock file (default: ROOT/kiln.lock).", valueName: "FILE"))
    var lock: String?

    @Argument(help: ArgumentHelp("Spec files (default: every images/*.yaml under the root).", valueName: "SPEC"))
    var specs: [String] = []

    var project: Project { Project(root: root, lockPath: lock) }
}

/// Runs a command body; an error becomes one `kiln: error:` line and exit status 1.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ValidationError {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("\(error)")
        throw ExitCode.failure
    }
}

/// Runs a command's work with the run's one store; AWS calls (ECR, STS, credential endpoints)
/// go through the store's HTTP client too, so `--ca-file` applies to them.
func withRunSession<T>(_ options: TransportOptions, _ body: (ImageSession) async throws -> T) async throws -> T {
    try await ImageSession.withSession(options: options) { store in
        AWSHTTPClient.use { try store.httpClient() }
        defer { AWSHTTPClient.use(nil) }
        return try await body(store)
    }
}

/// A bad flag value found after parsing: one `kiln: error:` line and exit 1, like every other
/// bad input (ArgumentParser's ValidationError would add the usage text and exit 64).
struct InputError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Prints `message` after `kiln: error: `, and after `subject` (a spec, a target) when given.
/// A message of several lines (one per secret finding, each after `\nkiln: error: `) gets the
/// subject on every line, so the lines of several specs or targets can be told apart.
func printError(_ message: String, about subject: String? = nil) {
    let prefix = subject.map { "kiln: error: \($0): " } ?? "kiln: error: "
    let lines = message.components(separatedBy: "\nkiln: error: ")
    FileHandle.standardError.write(Data((lines.map { prefix + $0 }.joined(separator: "\n") + "\n").utf8))
}
