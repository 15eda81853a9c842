import Foundation
import Logging

/// The one retry loop of the registry layer: every retry (a request met with a connection error
/// or a retryable status, an upload run again from its start, a download resumed where it was
/// cut) counts its failures here, waits the policy's backoff, and gives up here once the
/// attempts are spent. Callers decide only what counts as retryable and what to do again.
struct Backoff {
    let policy: RetryPolicy
    let attempts: Int
    let logger: Logger
    /// Failures so far.
    private(set) var failures = 0

    init(_ options: TransportOptions, attempts: Int? = nil) {
        policy = options.retry
        self.attempts = attempts ?? options.retry.attempts
        logger = options.logger
    }

    /// Records a failure, then either waits before the next attempt (logging `message` with the
    /// delay) and returns true, or returns false when no attempt is left: the caller then
    /// throws its own "gave up" error, with ``failures`` as the count.
    /// - Parameter message: what failed and why, secret-free (shown in the log).
    mutating func retry(after message: String, retryAfter: String? = nil, next: String = "retrying") async throws -> Bool {
        failures += 1
        guard failures < attempts else { return false }
        let delay = policy.delay(afterAttempt: failures, retryAfter: retryAfter)
        logger.info("\(message); \(next) in \(String(format: "%.1f", delay)) s")
        try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
        return true
    }
}
