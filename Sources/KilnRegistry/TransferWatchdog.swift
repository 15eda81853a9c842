/// Aborts a body that arrives slower than a minimum rate over a window: a registry sending one
/// byte every 20 s would otherwise hold a run forever (the read timeout never fires).
struct TransferWatchdog: Sendable {
    struct Stalled: Error, Sendable {
        let seconds: Int
        let bytesPerSecond: Int
        var text: String { "stalled (below \(bytesPerSecond / 1024) KiB/s for \(seconds) s)" }
    }

    let seconds: Int
    let minimumBytesPerSecond: Int
    private var windowStart = ContinuousClock.now
    private var bytesInWindow = 0

    init(seconds: Int, minimumBytesPerSecond: Int) {
        self.seconds = seconds
        self.minimumBytesPerSecond = minimumBytesPerSecond
    }

    init(_ options: TransportOptions) {
        self.init(seconds: options.stallSeconds, minimumBytesPerSecond: options.minimumBytesPerSecond)
    }

    /// Counts bytes that just arrived; throws when the window that just closed was too slow.
    mutating func record(_ count: Int, now: ContinuousClock.Instant = .now) throws {
        bytesInWindow += count
        guard now - windowStart >= .seconds(seconds) else { return }
        if bytesInWindow < minimumBytesPerSecond * seconds {
            throw Stalled(seconds: seconds, bytesPerSecond: minimumBytesPerSecond)
        }
        windowStart = now
        bytesInWindow = 0
    }

    /// Starts a fresh window (after reconnecting).
    mutating func restart(now: ContinuousClock.Instant = .now) {
        windowStart = now
        bytesInWindow = 0
    }
}
