/// `.dockerignore` as moby/patternmatcher reads and applies it: one pattern a line, `#` lines
/// are comments, `!` re-includes, a leading `/` or `./` and `..` are cleaned away, `*` and `?`
/// stop at `/`, `**` crosses directories, and a path is excluded when the LAST pattern that
/// matches it or one of its parent directories is not a `!` pattern.
public struct DockerIgnore: Sendable, Equatable {
    struct Rule: Sendable, Equatable {
        enum Kind: Sendable, Equatable {
            case exact([Unicode.Scalar])
            case prefix([Unicode.Scalar])
            case suffix([Unicode.Scalar])
            case glob(GlobPattern)
        }

        var kind: Kind
        var isException: Bool

        /// Whether the rule matches `path` or one of its parent directories (patternmatcher's
        /// `MatchesOrParentMatches`): `ends` are the ends of the parents (each `/`'s position).
        /// One pass over the path per rule, so a check costs path length times pattern length.
        func matches(_ path: [Unicode.Scalar], parentEnds ends: [Int]) -> Bool {
            switch kind {
            case .exact(let text):
                // A parent equal to the text: the path goes on with `/` after it.
                return path.count == text.count ? path == text : path.count > text.count && path[text.count] == "/" && path.starts(with: text)
            case .prefix(let text):
                // A parent starting with the text means the path starts with it.
                return path.starts(with: text)
            case .suffix(let text):
                // `**/foo` matches `foo` itself.
                let bare = text.first == "/" ? text.dropFirst() : nil
                for end in ends + [path.count] {
                    let candidate = path[..<end]
                    if candidate.count >= text.count, candidate[(end - text.count)...].elementsEqual(text) { return true }
                    if let bare, candidate.elementsEqual(bare) { return true }
                }
                return false
            case .glob(let pattern):
                return pattern.matchesWhole(path, orPrefixesEndingAt: ends)
            }
        }
    }

    /// The most patterns one file may hold (real ones hold tens to hundreds).
    public static let maximumPatterns = 10_000
    /// The longest pattern, in bytes: a path is at most `PATH_MAX` (4096) bytes.
    public static let maximumPatternLength = 4096

    /// The patterns as cleaned, `!` kept: what `docker build` would use.
    public let patterns: [String]
    let rules: [Rule]

    /// No patterns: nothing is excluded.
    public init() {
        patterns = []
        rules = []
    }

    /// Reads a `.dockerignore` file's text (moby's `ignorefile.ReadAll`).
    /// - Throws: ``DockerfileError`` naming `path` and the line of a malformed pattern.
    public init(parsing text: String, path: String = ".dockerignore") throws {
        var cleaned: [(pattern: String, line: Int)] = []
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
        if let first = lines.first, first.hasPrefix("\u{FEFF}") { lines[0] = String(first.dropFirst()) }
        for (index, raw) in lines.enumerated() {
            if raw.hasPrefix("#") { continue }
            var pattern = raw.trimmingWhitespace
            if pattern.isEmpty { continue }
            let invert = pattern.hasPrefix("!")
            if invert { pattern = String(pattern.dropFirst()).trimmingWhitespace }
            if !pattern.isEmpty {
                pattern = cleanPath(pattern)
                if pattern.count > 1, pattern.hasPrefix("/") { pattern = String(pattern.dropFirst()) }
            }
            cleaned.append(((invert ? "!" : "") + pattern, index + 1))
        }
        try self.init(patterns: cleaned.map(\.pattern)) { line, message in DockerfileError(file: path, line: cleaned[line].line, message: message) }
    }

    /// Compiles patterns as patternmatcher's `New` does.
    public init(patterns: [String]) throws {
        try self.init(patterns: patterns) { _, message in DockerfileError(file: ".dockerignore", line: 0, message: message) }
    }

    /// - Parameter error: the error for the pattern at an index, given the message.
    private init(patterns: [String], error: (Int, String) -> DockerfileError) throws {
        var kept: [String] = []
        var rules: [Rule] = []
        for (index, original) in patterns.enumerated() {
            var pattern = original.trimmingWhitespace
            if pattern.isEmpty { continue }
            // Bounded before it is compiled: each pattern costs every path checked.
            guard pattern.utf8.count <= Self.maximumPatternLength else {
                throw error(index, "pattern '\(UntrustedText.excerpt(pattern))' is longer than \(Self.maximumPatternLength) bytes")
            }
            guard rules.count < Self.maximumPatterns else { throw error(index, "more than \(Self.maximumPatterns) patterns") }
            pattern = cleanPath(pattern)
            var isException = false
            if pattern.hasPrefix("!") {
                guard pattern.count > 1 else { throw error(index, "invalid pattern '\(UntrustedText.excerpt(original))'") }
                isException = true
                pattern = String(pattern.dropFirst())
            }
            guard let kind = try? Self.compile(pattern) else { throw error(index, "invalid pattern '\(UntrustedText.excerpt(original))'") }
            kept.append((isException ? "!" : "") + pattern)
            rules.append(Rule(kind: kind, isException: isException))
        }
        self.patterns = kept
        self.rules = rules
    }

    /// patternmatcher's `compile`, including its shortcuts: a pattern with no wildcard is an
    /// exact match, `abc**` a prefix, `**abc` a suffix (which are not quite what the regular
    /// expression would say, and Docker uses the shortcuts).
    static func compile(_ pattern: String) throws -> Rule.Kind {
        // Syntax check first, as patternmatcher calls filepath.Match for its error.
        _ = try GlobPattern(filepathMatch: pattern)
        enum Detected { case exact, prefix, suffix, glob }
        var detected = Detected.exact
        var tokens: [GlobPattern.Token] = []
        let scalars = Array(pattern.unicodeScalars)
        var index = 0
        var position = 0
        while index < scalars.count {
            defer { position += 1 }
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "*":
                if index < scalars.count, scalars[index] == "*" {
                    index += 1
                    if index < scalars.count, scalars[index] == "/" { index += 1 }
                    if index == scalars.count {
                        if detected == .exact {
                            detected = .prefix
                        } else {
                            tokens.append(.run(crossesSlash: true))
                            detected = .glob
                        }
                    } else {
                        tokens.append(.directories)
                        detected = .glob
                    }
                    if position == 0 { detected = .suffix }
                } else {
                    tokens.append(.run(crossesSlash: false))
                    detected = .glob
                }
            case "?":
                tokens.append(.one(crossesSlash: false))
                detected = .glob
            case "\\":
                if index < scalars.count {
                    tokens.append(.literal(scalars[index]))
                    index += 1
                    detected = .glob
                } else {
                    tokens.append(.literal("\\"))
                }
            case "[":
                var start = index - 1
                tokens.append(.set(try GlobPattern.readSet(scalars, from: &start)))
                index = start
                detected = .glob
            default:
                tokens.append(.literal(scalar))
            }
        }
        switch detected {
        case .exact: return .exact(scalars)
        case .prefix: return .prefix(Array(scalars.dropLast(2)))
        case .suffix: return .suffix(Array(scalars.dropFirst(2)))
        case .glob: return .glob(GlobPattern(tokens: tokens))
        }
    }

    /// Whether patterns could re-include something below an excluded directory.
    var hasExceptions: Bool { rules.contains(where: \.isException) }

    /// Whether `path` (relative to the context, `/`-separated) is left out of the context.
    public func excludes(_ path: String) -> Bool {
        let file = cleanPath(path)
        if file == "." { return false }
        let scalars = Array(file.unicodeScalars)
        // The parents are the text before each `/` (Go's `filepath.Dir` split at `/`).
        let parentEnds = scalars.indices.filter { scalars[$0] == "/" }
        var excluded = false
        for rule in rules where rule.isException == excluded {
            if rule.matches(scalars, parentEnds: parentEnds) { excluded = !rule.isException }
        }
        return excluded
    }
}

extension String {
    /// Leading and trailing whitespace removed, as Go's `strings.TrimSpace`.
    var trimmingWhitespace: String {
        let scalars = Array(unicodeScalars)
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars[first...last])
        return String(result)
    }
}
