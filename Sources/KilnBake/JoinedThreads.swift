import Foundation

/// Threads of the bake's own, started for work that blocks (the secret scan's readers wait while
/// they are ahead of the layer; the layer waits for the scan), awaited before the work's
/// results are read. Neither the cooperative pool nor Dispatch's: a bake's blocked threads take
/// no thread another task is waiting for.
final class JoinedThreads: Sendable {
    private let group = DispatchGroup()

    /// Starts `body` on a new thread.
    func start(_ body: @escaping @Sendable () -> Void) {
        let group = group
        group.enter()
        let thread = Thread {
            body()
            group.leave()
        }
        // The same stack on every platform (a secondary thread gets 512 KiB on macOS, 8 MiB on Linux).
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Returns once every thread started has finished, without holding a thread meanwhile.
    func joined() async {
        let group = group
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            group.notify(queue: .global()) { continuation.resume() }
        }
    }
}
