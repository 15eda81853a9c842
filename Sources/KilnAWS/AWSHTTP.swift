import AsyncHTTPClient
import Foundation
import KilnRegistry
import NIOCore
import NIOFoundationCompat

/// The HTTP client AWS calls go through: the run's (the CLI sets it around each command, so
/// `--ca-file` and the run's TLS settings apply to STS, ECR and the credential endpoints too),
/// else the shared default client.
package enum AWSHTTPClient {
    @TaskLocal package static var provider: (@Sendable () throws -> HTTPClient)?
}

/// Sends one AWS API request and returns its status and body (capped at 1 MiB). A request that
/// never got an answer becomes ``AWSError/unreachable(endpoint:reason:)``.
func sendAWSRequest(_ request: HTTPClientRequest, endpoint: String, timeout: TimeAmount = .seconds(30)) async throws -> (status: UInt, body: Data) {
    do {
        let client = try AWSHTTPClient.provider?() ?? HTTPClient.shared
        let response = try await client.execute(request, timeout: timeout)
        return (response.status.code, Data(buffer: try await response.body.collect(upTo: 1 << 20)))
    } catch {
        throw AWSError.unreachable(endpoint: endpoint, reason: RegistryTransport.describe(error))
    }
}
