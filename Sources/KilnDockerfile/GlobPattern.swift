/// A wildcard pattern compiled to tokens and matched by dynamic programming: time linear in
/// pattern length times text length, whatever the pattern (no backtracking a hostile
/// `.dockerignore` or `${v/*a*a*a/}` could make exponential).
///
/// One engine serves three syntaxes: Go's `filepath.Match` (COPY wildcards), moby's
/// patternmatcher (`.dockerignore`, with `**`) and the shell patterns of `${v#p}`, `${v%p}` and
/// `${v/p/r}`.
package struct GlobPattern: Sendable, Equatable {
    enum Token: Sendable, Equatable {
        case literal(Unicode.Scalar)
        /// One character; `/` only when `crossesSlash`.
        case one(crossesSlash: Bool)
        /// Any run of characters; `/` only when `crossesSlash`.
        case run(crossesSlash: Bool)
        /// `(.*/)?`: nothing, or anything that ends in `/` (the middle of `a/**/b`).
        case directories
        case set(CharacterSet)
    }

    /// `[a-z]`, `[^0-9]`: ranges of scalars, maybe negated.
    struct CharacterSet: Sendable, Equatable {
        var negated: Bool
        var ranges: [ClosedRange<UInt32>]

        func contains(_ scalar: Unicode.Scalar) -> Bool {
            ranges.contains { $0.contains(scalar.value) } != negated
        }
    }

    package struct BadPattern: Error {}

    var tokens: [Token]

    /// Reads a `[...]` class starting at `scalars[index]` (the `[`), Go `filepath.Match`
    /// syntax: `^` negates, `\` escapes, `-` makes ranges; unescaped `-` or `]` elsewhere, an
    /// empty class or a missing `]` is a bad pattern.
    static func readSet(_ scalars: [Unicode.Scalar], from index: inout Int) throws -> CharacterSet {
        index += 1
        var negated = false
        if index < scalars.count, scalars[index] == "^" {
            negated = true
            index += 1
        }
        var ranges: [ClosedRange<UInt32>] = []
        func character() throws -> Unicode.Scalar {
            guard index < scalars.count else { throw BadPattern() }
            var scalar = scalars[index]
            if scalar == "-" || scalar == "]" { throw BadPattern() }
            if scalar == "\\" {
                index += 1
                guard index < scalars.count else { throw BadPattern() }
                scalar = scalars[index]
            }
            index += 1
            return scalar
        }
        while true {
            guard index < scalars.count else { throw BadPattern() }
            if scalars[index] == "]", !ranges.isEmpty {
                index += 1
                return CharacterSet(negated: negated, ranges: ranges)
            }
            let low = try character()
            var high = low
            if index < scalars.count, scalars[index] == "-" {
                index += 1
                high = try character()
                guard low.value <= high.value else { throw BadPattern() }
            }
            ranges.append(low.value...high.value)
        }
    }

    /// Go's `filepath.Match` pattern: `*` and `?` stop at `/`, `[...]` classes, `\` escapes.
    package init(filepathMatch pattern: String) throws {
        let scalars = Array(pattern.unicodeScalars)
        var tokens: [Token] = []
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "*":
                tokens.append(.run(crossesSlash: false))
                index += 1
            case "?":
                tokens.append(.one(crossesSlash: false))
                index += 1
            case "[":
                tokens.append(.set(try Self.readSet(scalars, from: &index)))
            case "\\":
                index += 1
                guard index < scalars.count else { throw BadPattern() }
                tokens.append(.literal(scalars[index]))
                index += 1
            default:
                tokens.append(.literal(scalar))
                index += 1
            }
        }
        self.tokens = tokens
    }

    init(tokens: [Token]) { self.tokens = tokens }

    /// Where matches can end, as an array indexed by end position holding the smallest start
    /// of a match ending there (`Int.max`: none). Anchored matches start at 0 only. Each cell
    /// depends only on the text before its position, so the entry at `end` is also what
    /// matching `text[..<end]` alone gives. Two rows, reused; it stops when no match is alive.
    func matchStarts(_ text: [Unicode.Scalar], anchored: Bool) -> [Int] {
        let count = text.count
        var row = anchored ? [0] + Array(repeating: Int.max, count: count) : Array(0...count)
        var next = Array(repeating: Int.max, count: count + 1)
        for token in tokens {
            for index in 0...count { next[index] = Int.max }
            switch token {
            case .literal, .one, .set:
                for end in 0..<count where row[end] != Int.max && accepts(token, text[end]) {
                    next[end + 1] = row[end]
                }
            case .run(let crossesSlash):
                next[0] = row[0]
                if count > 0 {
                    for end in 1...count {
                        let extended = crossesSlash || text[end - 1] != "/" ? next[end - 1] : Int.max
                        next[end] = min(row[end], extended)
                    }
                }
            case .directories:
                var smallest = row[0]
                next[0] = row[0]
                if count > 0 {
                    for end in 1...count {
                        let group = text[end - 1] == "/" ? smallest : Int.max
                        next[end] = min(row[end], group)
                        smallest = min(smallest, row[end])
                    }
                }
            }
            swap(&row, &next)
            // Nothing alive stays dead whatever tokens follow.
            if !row.contains(where: { $0 != Int.max }) { return row }
        }
        return row
    }

    private func accepts(_ token: Token, _ scalar: Unicode.Scalar) -> Bool {
        switch token {
        case .literal(let expected): return scalar == expected
        case .one(let crossesSlash): return crossesSlash || scalar != "/"
        case .set(let set): return set.contains(scalar)
        case .run, .directories: return false
        }
    }

    /// Whether the whole text matches.
    package func matches(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        return matchStarts(scalars, anchored: true)[scalars.count] == 0
    }

    /// Whether the whole text, or the text up to one of `ends`, matches: one pass for a path and
    /// all its parent directories (`.dockerignore`), not one per parent.
    func matchesWhole(_ text: [Unicode.Scalar], orPrefixesEndingAt ends: [Int]) -> Bool {
        let row = matchStarts(text, anchored: true)
        return row[text.count] == 0 || ends.contains { row[$0] == 0 }
    }

    /// The tokens in reverse order, for matching a suffix as a prefix of the reversed text.
    var reversed: GlobPattern { GlobPattern(tokens: tokens.reversed()) }
}

/// Go's `path.Clean` for `/`-separated paths: repeated slashes folded, `.` dropped, `..`
/// applied lexically (never above the root of an absolute path), no trailing slash.
func cleanPath(_ path: String) -> String {
    if path.isEmpty { return "." }
    let rooted = path.hasPrefix("/")
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        if part == "." { continue }
        if part == ".." {
            if let last = parts.last, last != ".." {
                parts.removeLast()
            } else if !rooted {
                parts.append(part)
            }
            continue
        }
        parts.append(part)
    }
    let joined = parts.joined(separator: "/")
    if rooted { return "/" + joined }
    return joined.isEmpty ? "." : joined
}
