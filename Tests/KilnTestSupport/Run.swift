import Foundation

/// The outcome of running a program.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    /// Standard output without the trailing newline.
    public var output: String { stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// Runs a program and waits for it. A missing program is a test failure, never a skip:
/// `.ci/run` installs every peer the tests use.
@discardableResult
public func run(_ program: String, _ arguments: [String], environment: [String: String]? = nil, currentDirectory: String? = nil) throws -> ProcessResult {
    var executable = program.hasPrefix("/") ? program : try which(program)
    var arguments = arguments
    // A child inherits the signal mask of the thread that starts it, and Dispatch's worker
    // threads block nearly every signal, SIGCHLD included. A shell's `wait` then sleeps in
    // sigsuspend for good once its children end while it is not looking (a test hung 15
    // minutes on a loaded machine), so shells start with an empty mask.
    if ["sh", "bash", "dash"].contains((executable as NSString).lastPathComponent) {
        arguments = ["-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])", executable] + arguments
        executable = try which("python3")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let out = closeOnExecPipe()
    let err = closeOnExecPipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read both pipes concurrently with the process so a chatty child never blocks on a full pipe.
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter()
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    process.waitUntilExit()
    group.wait()
    return ProcessResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}

/// Runs a program and fails unless it exits 0.
@discardableResult
public func runChecked(_ program: String, _ arguments: [String], environment: [String: String]? = nil) throws -> ProcessResult {
    let result = try run(program, arguments, environment: environment)
    guard result.status == 0 else {
        throw TestFailure("\(program) \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)\(result.stdout)")
    }
    return result
}

/// The full path of a program on PATH.
public func which(_ program: String) throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(program)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw TestFailure("'\(program)' is not installed; .ci/run installs it (see README)")
}

/// The root of the kiln checkout (for samples/ and overlays/).
public let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The `kiln` executable under test: `$KILN_EXECUTABLE` when set (`.ci/run` runs the CLI suites
/// a second time against the release build, whose optimizer once exposed a crash the debug
/// build hid), else the one SwiftPM built next to the test bundle.
public let kilnExecutable: String = {
    // The blob-location cache is per machine: tests start without one unless they name it.
    setenv("KILN_CACHE_DIR", "", 0)
    if let given = ProcessInfo.processInfo.environment["KILN_EXECUTABLE"], !given.isEmpty { return given }
    let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var url = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
    // On Linux the test binary sits in the build directory itself; elsewhere inside a bundle.
    while !FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("kiln").path), url.path != "/" {
        url.deleteLastPathComponent()
    }
    return url.appendingPathComponent("kiln").path
}()

/// Runs `kiln` with the arguments; the environment is the test's plus `extra`.
public func kiln(_ arguments: [String], extraEnvironment: [String: String] = [:], removing: [String] = ["SOURCE_DATE_EPOCH"]) throws -> ProcessResult {
    var environment = ProcessInfo.processInfo.environment
    for key in removing { environment[key] = nil }
    environment.merge(extraEnvironment) { $1 }
    return try run(kilnExecutable, arguments, environment: environment)
}

/// A pipe whose descriptors are not inherited by other children started meanwhile: tests run in
/// parallel, and a server started by one test must not hold another test's pipe open (its
/// reader would never see the end).
public func closeOnExecPipe() -> Pipe {
    let pipe = Pipe()
    _ = fcntl(pipe.fileHandleForReading.fileDescriptor, F_SETFD, FD_CLOEXEC)
    _ = fcntl(pipe.fileHandleForWriting.fileDescriptor, F_SETFD, FD_CLOEXEC)
    return pipe
}
