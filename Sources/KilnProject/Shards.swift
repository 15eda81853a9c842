import KilnSpec
import OCI

/// One of N deterministic groups of a project's specs, for CI jobs that split a build
/// (`kiln build --shard K/N`, `kiln plan --shard K/N`, `kiln plan --matrix --shards N`).
///
/// A spec's group comes from a hash of its name alone, never from its position among the
/// specs: adding or removing a spec moves no other spec to another group, so jobs of one
/// pipeline run agree on the split whatever specs each checkout has, and `kiln plan --matrix`
/// and `kiln build --shard` compute the same groups. Groups are numbered from 1, as GitLab's
/// `CI_NODE_INDEX` and `CI_NODE_TOTAL` are (`--shard $CI_NODE_INDEX/$CI_NODE_TOTAL`).
package struct Shard: Sendable, Hashable, CustomStringConvertible {
    /// 1 to `count`.
    package var index: Int
    package var count: Int

    /// The most groups a split may have: well above any CI's job limit (GitHub Actions runs 256
    /// jobs per matrix, GitLab 200), and small enough that a typo is caught.
    package static let maximumCount = 1000

    package init(index: Int, count: Int) {
        precondition((1...Self.maximumCount).contains(count) && (1...count).contains(index), "a shard is K/N with 1 <= K <= N")
        self.index = index
        self.count = count
    }

    /// Parses `K/N` (decimal, 1 <= K <= N <= 1000).
    /// - Throws: ``ShardError`` naming the text (at most 40 characters of it).
    package init(parsing text: String) throws(ShardError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Self.decimal(parts[0]), let count = Self.decimal(parts[1]) else {
            throw ShardError(text: text, reason: "must be K/N, e.g. 2/3 (the second of three groups, counted from 1)")
        }
        guard (1...Self.maximumCount).contains(count) else {
            throw ShardError(text: text, reason: "N must be from 1 to \(Self.maximumCount)")
        }
        guard (1...count).contains(index) else {
            throw ShardError(text: text, reason: "K must be from 1 to N (groups are counted from 1: 1/\(count) to \(count)/\(count))")
        }
        self.init(index: index, count: count)
    }

    /// `K/N`, as `--shard` takes it.
    package var description: String { "\(index)/\(count)" }

    /// The group (1 to `count`) a spec of this name belongs to: the first 8 bytes of the
    /// SHA-256 of the name's UTF-8, as a big-endian integer, modulo `count`, plus 1.
    package static func index(of name: String, count: Int) -> Int {
        precondition(count >= 1, "there is at least one group")
        let hex = Digest.of(Array(name.utf8)).hex.prefix(16)
        // 16 hex digits always fit a UInt64.
        let value = UInt64(hex, radix: 16) ?? 0
        return Int(value % UInt64(count)) + 1
    }

    package func contains(_ name: String) -> Bool { Self.index(of: name, count: count) == index }

    /// The specs of this group, in their given order.
    package func select(_ specs: [ImageSpec]) -> [ImageSpec] { specs.filter { contains($0.name) } }

    /// Only ASCII digits (no sign, no spaces), at most 9 of them: never an overflow.
    private static func decimal(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 9, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return Int(text)
    }
}

/// A `--shard` value that is not `K/N` with 1 <= K <= N.
package struct ShardError: Error, CustomStringConvertible {
    package var text: String
    package var reason: String

    package var description: String {
        // One line whatever the argument holds: controls, line and paragraph separators (U+2028)
        // and invisible format characters (a right-to-left override) shown as `?`.
        let printable = String(String.UnicodeScalarView(text.prefix(40).unicodeScalars.map { scalar -> Unicode.Scalar in
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: return "?"
            default: return scalar
            }
        }))
        let shown = text.count > 40 ? printable + "…" : printable
        return "'\(shown)' \(reason)"
    }
}
