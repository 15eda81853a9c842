import Foundation
import OCI

/// Reports blob transfers: on a terminal, one live line per blob in flight (bytes, rate); in CI
/// (no terminal), one plain line per finished blob. Everything goes to standard error, so
/// standard output keeps only the result.
// Sendable: the lines in flight and the drawing state are changed only under `lock`.
public final class TransferProgress: @unchecked Sendable {
    public enum Mode: Sendable { case quiet, lines, live }

    public enum Outcome: String, Sendable {
        case exists = "exists"
        case mounted = "mounted"
        /// A base blob streamed from its source.
        case copied = "copied"
        /// The new layer, written by kiln.
        case written = "written"
    }

    private let mode: Mode
    private let lock = NSLock()
    private var active: [(digest: Digest, size: Int64, done: Int64, started: Date)] = []
    private var drawnLines = 0
    private var lastDraw = Date.distantPast
    private let write: @Sendable (String) -> Void

    /// - Parameter mode: `.live` only makes sense when standard error is a terminal.
    public init(mode: Mode, write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.mode = mode
        self.write = write
    }

    /// `.live` on a terminal, `.lines` otherwise, `.quiet` when asked.
    public static func forStandardError(quiet: Bool) -> TransferProgress {
        TransferProgress(mode: quiet ? .quiet : (isatty(STDERR_FILENO) == 1 ? .live : .lines))
    }

    func started(_ descriptor: Descriptor) {
        guard mode == .live else { return }
        lock.withLock {
            active.append((descriptor.digest, descriptor.size, 0, Date()))
            redraw(force: true)
        }
    }

    func advanced(_ digest: Digest, by bytes: Int) {
        guard mode == .live else { return }
        lock.withLock {
            if let index = active.firstIndex(where: { $0.digest == digest }) { active[index].done += Int64(bytes) }
            redraw(force: false)
        }
    }

    func finished(_ descriptor: Descriptor, _ outcome: Outcome) {
        guard mode != .quiet else { return }
        lock.withLock {
            active.removeAll { $0.digest == descriptor.digest }
            if mode == .live { clear() }
            write("\(descriptor.digest.hex.prefix(12)): \(outcome.rawValue) (\(Self.bytes(descriptor.size)))\n")
            if mode == .live { redraw(force: true) }
        }
    }

    /// Redraws the live block at most ten times a second.
    private func redraw(force: Bool) {
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        clear()
        for transfer in active {
            let seconds = max(now.timeIntervalSince(transfer.started), 0.001)
            let rate = Double(transfer.done) / seconds
            write("\(transfer.digest.hex.prefix(12)): \(Self.bytes(transfer.done)) / \(Self.bytes(transfer.size)) \(Self.bytes(Int64(rate)))/s\n")
        }
        drawnLines = active.count
    }

    /// Moves up over the live block and erases it.
    private func clear() {
        guard drawnLines > 0 else { return }
        write(String(repeating: "\u{1B}[1A\u{1B}[2K", count: drawnLines))
        drawnLines = 0
    }

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }
}
