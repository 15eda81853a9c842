import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// Sends one AWS API request and returns its status and body (capped at 1 MiB). A request that
/// never got an answer becomes ``AWSError/unreachable(endpoint:reason:)``.
func sendAWSRequest(_ request: HTTPClientRequest, endpoint: String, timeout: TimeAmount = .seconds(30)) async throws -> (status: UInt, body: Data) {
    do {
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        return (response.status.code, Data(buffer: try await response.body.collect(upTo: 1 << 20)))
    } catch {
        throw AWSError.unreachable(endpoint: endpoint, reason: String(String(describing: error).prefix(160)))
    }
}
