/// How the layer's entries are dated: the mtime in each tar header.
///
/// Web servers build validators from it (nginx's ETag is `mtime-size` in hex, and
/// `Last-Modified` is the mtime), so one date for every file makes two versions of a file with
/// the same size look the same to a cache: a conditional GET gets 304 and keeps stale content.
/// ``content`` dates each file by its bytes instead, inside a fixed window of recent time.
public enum EntryTimes: Sendable, Equatable {
    /// Each regular file dated by its content: ``windowStart`` plus the first eight bytes of
    /// its SHA-256 (big-endian) modulo ``windowWidth``. Same bytes, same date; different bytes,
    /// a different date but with a chance of 1 in 31,536,000. Directories, symlinks and
    /// whiteouts, which have no content of their own, get ``windowStart``. The default.
    case content
    /// Every entry at this time, in seconds since the epoch (`--mtime epoch`: `SOURCE_DATE_EPOCH`,
    /// else 0).
    case fixed(Int64)

    /// 2025-01-01T00:00:00Z. Fixed, so the digest never depends on when a bake runs; recent, so
    /// caches that guess a lifetime from `Last-Modified` (RFC 9111, 4.2.2: 10% of the time
    /// since) guess weeks, not the years a date in 1970 gives.
    public static let windowStart: Int64 = 1_735_689_600
    /// 365 days: content dates fall in 2025 (before 2026-01-01T00:00:00Z), never in the future.
    public static let windowWidth: Int64 = 31_536_000

    /// The date of a file whose SHA-256 is `digest`.
    public static func contentTime(sha256 digest: [UInt8]) -> Int64 {
        let prefix = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return windowStart + Int64(prefix % UInt64(windowWidth))
    }

    /// Parses `content`, `epoch` or a whole number of seconds.
    ///
    /// - Parameters:
    ///   - text: the flag's or the spec's value.
    ///   - epoch: what `epoch` stands for (`SOURCE_DATE_EPOCH` or 0 for `kiln bake`; 0 for specs,
    ///     which ignore the environment).
    /// - Throws: ``LayerError/invalidEntryTime(_:)`` naming the text.
    public init(parsing text: String, epoch: Int64) throws {
        switch text {
        case "content": self = .content
        case "epoch": self = .fixed(epoch)
        default:
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let seconds = Int64(text) else { throw LayerError.invalidEntryTime(text) }
            self = .fixed(seconds)
        }
    }
}
