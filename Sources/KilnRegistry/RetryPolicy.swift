import Foundation

/// Exponential backoff with full jitter, for connection errors and 408, 429, 500, 502, 503, 504.
public struct RetryPolicy: Sendable {
    public var attempts: Int
    public var baseDelay: Double
    public var maxDelay: Double

    public init(attempts: Int = 5, baseDelay: Double = 0.25, maxDelay: Double = 8) {
        self.attempts = attempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    static let retryableStatuses: Set<UInt> = [408, 429, 500, 502, 503, 504]

    /// How long to wait before attempt `attempt + 1` (attempt counts from 1).
    /// A `Retry-After` in seconds is honoured, capped at 30 s.
    public func delay(afterAttempt attempt: Int, retryAfter: String?) -> Double {
        if let retryAfter, let seconds = Double(retryAfter.trimmingCharacters(in: .whitespaces)), seconds >= 0 {
            return min(seconds, 30)
        }
        let ceiling = min(maxDelay, baseDelay * pow(2, Double(attempt - 1)))
        return Double.random(in: ceiling / 2...ceiling)
    }
}
