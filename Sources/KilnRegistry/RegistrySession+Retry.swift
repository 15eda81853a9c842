import AsyncHTTPClient
import Foundation
import KilnStore
import NIOCore
import NIOHTTP1
import OCI

extension RegistrySession {
    /// Runs `attempt` again on connection errors and retryable statuses, with backoff.
    func withRetries(action: String, attempts: Int? = nil, _ attempt: @Sendable () async throws -> HTTPClientResponse) async throws -> HTTPClientResponse {
        var backoff = Backoff(options, attempts: attempts)
        while true {
            var retryAfter: String?
            let last: String
            do {
                let response = try await attempt()
                guard RetryPolicy.retryableStatuses.contains(response.status.code) else { return response }
                retryAfter = response.headers.first(name: "Retry-After")
                last = "HTTP \(response.status.code)"
                await response.drain()
            } catch let error as RegistryError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let failure = TransportFailure(error)
                // Refused, unknown host, TLS: nobody (or not the expected server) is there, and
                // a retry seconds later will not change that: say so at once.
                if failure.isFinal {
                    var reason = "\(action.redactingUserinfo): \(failure.text)"
                    if case .tls = failure { reason += "; for a private CA pass --ca-file, for a plain-HTTP registry --insecure" }
                    throw RegistryError.unreachable(host: registry, reason: reason)
                }
                last = failure.text.redactingUserinfo
            }
            guard try await backoff.retry(after: "\(registry): \(action): \(last)".redactingUserinfo, retryAfter: retryAfter) else {
                throw RegistryError.retriesExhausted(host: registry, action: action, attempts: backoff.failures, last: last)
            }
        }
    }

    /// A short, secret-free description of a transport error.
    static func describe(_ error: Error) -> String {
        TransportFailure(error).text.redactingUserinfo
    }
}
