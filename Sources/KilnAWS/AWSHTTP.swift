import AsyncHTTPClient
import Foundation
import KilnRegistry
import NIOCore
import NIOFoundationCompat

/// The HTTP client AWS calls go through: the run's (the CLI sets it for the command, so
/// `--ca-file` and the run's TLS settings apply to STS, ECR and the credential endpoints too),
/// else the shared default client. A process-wide setting, not a task-local: `TaskLocal.withValue`
/// crashed in release builds of Swift 6.3.1 here (swift_task_localValuePush), and a kiln
/// process runs one command.
package enum AWSHTTPClient {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var provider: (@Sendable () throws -> HTTPClient)?

    /// Sets the run's client provider; `nil` goes back to the shared client.
    package static func use(_ newProvider: (@Sendable () throws -> HTTPClient)?) {
        lock.withLock { provider = newProvider }
    }

    static func client() throws -> HTTPClient {
        try lock.withLock { provider }?() ?? HTTPClient.shared
    }
}

/// Sends one AWS API request and returns its status and body (capped at 1 MiB). A request that
/// never got an answer becomes ``AWSError/unreachable(endpoint:reason:)``.
func sendAWSRequest(_ request: HTTPClientRequest, endpoint: String, timeout: TimeAmount = .seconds(30)) async throws -> (status: UInt, body: Data) {
    do {
        let client = try AWSHTTPClient.client()
        let response = try await client.execute(request, timeout: timeout)
        return (response.status.code, Data(buffer: try await response.body.collect(upTo: 1 << 20)))
    } catch {
        throw AWSError.unreachable(endpoint: endpoint, reason: RegistryTransport.describe(error))
    }
}
