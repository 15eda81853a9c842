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

    /// What moto says about an ECR repository in eu-west-1, asked with boto3: `NAME MUTABILITY`.
    public func describe(_ repository: String) throws -> String {
        try runChecked("python3", ["-c", """
            import boto3
            c = boto3.client("ecr", region_name="eu-west-1", endpoint_url="\(url)", aws_access_key_id="x", aws_secret_access_key="y")
            r = c.describe_repositories(repositoryNames=["\(repository)"])["repositories"][0]
            print(r["repositoryName"], r["imageTagMutability"])
            """]).output
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
