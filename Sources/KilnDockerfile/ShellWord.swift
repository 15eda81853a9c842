/// Variable substitution and word splitting as BuildKit's `shell.Lex` does them for the
/// instructions that expand variables (ENV, ARG, LABEL, COPY, ADD, WORKDIR, USER, VOLUME,
/// EXPOSE, STOPSIGNAL, FROM): `$v`, `${v}`, `${v:-w}`, `${v-w}`, `${v:+w}`, `${v+w}`,
/// `${v:?w}`, `${v?w}`, `${v#p}`, `${v##p}`, `${v%p}`, `${v%%p}`, `${v/p/r}`, `${v//p/r}`;
/// single quotes keep everything, double quotes keep all but `$` and escapes; the escape
/// character (`\` or the `# escape=` one) escapes the next character. An unset variable is empty.
struct ShellWord {
    /// The longest a word may grow to by substitution (`ENV a=$a$a` doubles a value per line).
    static let maximumLength = 1 << 16
    /// The most pattern-matching work one substitution may do (text length times pattern length).
    static let maximumMatchWork = 1 << 24
    /// The deepest `${...}` nesting (`${a:-${a:-...}}`): the lexer recurses per level, as
    /// BuildKit's does, and must not run out of stack on a hostile Dockerfile.
    static let maximumDepth = 64

    let escape: Unicode.Scalar
    let lookup: (String) -> String?

    /// Names that were used and not set, for warnings.
    private(set) var unset: [String] = []
    /// BuildKit's `RawQuotes`: quotes stay in the result (the parser compares a here-document
    /// name with and without them to learn whether part of it was quoted).
    var rawQuotes = false
    /// BuildKit's `RawEscapes`: escape characters stay in the result.
    var rawEscapes = false
    /// BuildKit's `SkipUnsetEnv`: an unset variable is left as written (`$NAME`, `${NAME}`).
    var keepsUnset = false

    private var scalars: [Unicode.Scalar] = []
    private var index = 0
    private var depth = 0

    init(escape: Unicode.Scalar, lookup: @escaping (String) -> String?) {
        self.escape = escape
        self.lookup = lookup
    }

    /// One word, quotes removed, spaces kept (`ProcessWord`).
    mutating func word(_ text: String) throws(ShellWordError) -> String {
        try process(text).result
    }

    /// The words after substitution, split at unquoted whitespace (`ProcessWords`).
    mutating func words(_ text: String) throws(ShellWordError) -> [String] {
        try process(text).words
    }

    private mutating func process(_ text: String) throws(ShellWordError) -> (result: String, words: [String]) {
        scalars = Array(text.unicodeScalars)
        index = 0
        return try processUntil(nil, rawEscapes: rawEscapes)
    }

    private var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    private mutating func next() -> Unicode.Scalar? {
        guard index < scalars.count else { return nil }
        defer { index += 1 }
        return scalars[index]
    }

    private struct Words {
        var words: [String] = []
        var buffer = String.UnicodeScalarView()
        var inWord = false

        mutating func addCharacter(_ scalar: Unicode.Scalar) {
            if scalar.properties.isWhitespace {
                if inWord, !buffer.isEmpty {
                    words.append(String(buffer))
                    buffer = String.UnicodeScalarView()
                    inWord = false
                }
            } else {
                addRaw(scalar)
            }
        }

        mutating func addRaw(_ scalar: Unicode.Scalar) {
            buffer.append(scalar)
            inWord = true
        }

        mutating func addString(_ text: String) { for scalar in text.unicodeScalars { addCharacter(scalar) } }

        mutating func addRawString(_ text: String) {
            buffer.append(contentsOf: text.unicodeScalars)
            inWord = true
        }

        mutating func finish() -> [String] {
            if !buffer.isEmpty { words.append(String(buffer)) }
            buffer = String.UnicodeScalarView()
            return words
        }
    }

    private mutating func processUntil(_ stop: Unicode.Scalar?, rawEscapes: Bool) throws(ShellWordError) -> (result: String, words: [String]) {
        var result = String.UnicodeScalarView()
        var words = Words()
        while let scalar = peek {
            if let stop, scalar == stop {
                index += 1
                return (String(result), words.finish())
            }
            switch scalar {
            case "$":
                let value = try dollar()
                result.append(contentsOf: value.unicodeScalars)
                words.addString(value)
            case "'":
                let value = try singleQuoted()
                result.append(contentsOf: value.unicodeScalars)
                words.addRawString(value)
            case "\"":
                let value = try doubleQuoted(rawEscapes: rawEscapes)
                result.append(contentsOf: value.unicodeScalars)
                words.addRawString(value)
            case "<":
                // A heredoc marker keeps the blanks after `<<` in its word.
                index += 1
                var value = "<"
                if peek == "<" {
                    index += 1
                    value = "<<"
                    while let blank = peek, blank == " " || blank == "\t" {
                        value.unicodeScalars.append(blank)
                        index += 1
                    }
                }
                result.append(contentsOf: value.unicodeScalars)
                words.addRawString(value)
            default:
                var character = scalar
                index += 1
                if character == escape {
                    if rawEscapes {
                        words.addRaw(character)
                        result.append(character)
                    }
                    guard let escaped = next() else { break }
                    character = escaped
                    words.addRaw(character)
                } else {
                    words.addCharacter(character)
                }
                result.append(character)
            }
            guard result.count <= Self.maximumLength else { throw .init(message: "expands to more than \(Self.maximumLength) characters") }
        }
        if let stop { throw .init(message: "unexpected end of statement while looking for matching \(stop)") }
        return (String(result), words.finish())
    }

    private mutating func singleQuoted() throws(ShellWordError) -> String {
        index += 1
        var result = String.UnicodeScalarView()
        if rawQuotes { result.append("'") }
        while true {
            guard let scalar = next() else { throw .init(message: "unexpected end of statement while looking for matching single-quote") }
            if scalar == "'" {
                if rawQuotes { result.append("'") }
                return String(result)
            }
            result.append(scalar)
        }
    }

    private mutating func doubleQuoted(rawEscapes: Bool) throws(ShellWordError) -> String {
        index += 1
        var result = String.UnicodeScalarView()
        if rawQuotes { result.append("\"") }
        while true {
            guard let scalar = peek else { throw .init(message: "unexpected end of statement while looking for matching double-quote") }
            switch scalar {
            case "\"":
                index += 1
                if rawQuotes { result.append("\"") }
                return String(result)
            case "$":
                result.append(contentsOf: try dollar().unicodeScalars)
            default:
                var character = scalar
                index += 1
                if character == escape {
                    if rawEscapes { result.append(character) }
                    guard let following = peek else { continue }
                    if following == "\"" || following == "$" || following == escape {
                        character = following
                        index += 1
                    }
                }
                result.append(character)
            }
            guard result.count <= Self.maximumLength else { throw .init(message: "expands to more than \(Self.maximumLength) characters") }
        }
    }

    /// `name`'s value; an unset name is noted for a warning when it expands to nothing
    /// (`recordUnset`), not when a default or alternative decides the result (`${v:-w}`).
    private mutating func value(of name: String, recordUnset: Bool = true) -> String? {
        if let value = lookup(name) { return value }
        if recordUnset, !unset.contains(name) { unset.append(name) }
        return nil
    }

    private mutating func dollar() throws(ShellWordError) -> String {
        index += 1
        guard peek == "{" else {
            let name = self.name()
            if name.isEmpty { return "$" }
            if keepsUnset, lookup(name) == nil { return "$" + name }
            return value(of: name) ?? ""
        }
        index += 1
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else { throw .init(message: "variable substitution nested deeper than \(Self.maximumDepth) levels") }
        switch peek {
        case nil: throw .init(message: "syntax error: missing '}'")
        case "{"?, "}"?, ":"?: throw .init(message: "syntax error: bad substitution")
        default: break
        }
        let name = self.name()
        guard var modifier = next() else { throw .init(message: "syntax error: missing '}'") }
        var modifierText = String(modifier)
        var nullIsUnset = false
        switch modifier {
        case "}":
            if keepsUnset, lookup(name) == nil { return "${\(name)}" }
            return value(of: name) ?? ""
        case "/":
            return try replace(name)
        case ":":
            nullIsUnset = true
            guard let following = next() else { throw .init(message: "syntax error: missing '}'") }
            modifier = following
            modifierText.unicodeScalars.append(following)
        default:
            break
        }
        guard ["+", "-", "?", "#", "%"].contains(modifier) else {
            throw .init(message: "unsupported modifier (\(UntrustedText.excerpt(modifierText))) in substitution")
        }
        let patternLike = modifier == "#" || modifier == "%"
        if nullIsUnset, patternLike { throw .init(message: "unsupported modifier (\(modifierText)) in substitution") }
        let word: String
        do {
            word = try processUntil("}", rawEscapes: patternLike).result
        } catch {
            if peek == nil { throw .init(message: "syntax error: missing '}'") }
            throw error
        }
        if keepsUnset, lookup(name) == nil { return "${\(name)\(modifierText)\(word)}" }
        let current = value(of: name, recordUnset: patternLike)
        let isUnset = current == nil || (nullIsUnset && current == "")
        switch modifier {
        case "-":
            return isUnset ? word : current ?? ""
        case "+":
            return isUnset ? "" : word
        case "?":
            if current == nil { throw .init(message: "\(UntrustedText.excerpt(name)): \(word.isEmpty ? "is not allowed to be unset" : UntrustedText.excerpt(word))") }
            if nullIsUnset, current == "" { throw .init(message: "\(UntrustedText.excerpt(name)): \(word.isEmpty ? "is not allowed to be empty" : UntrustedText.excerpt(word))") }
            return current ?? ""
        default:
            var pattern = word
            var greedy = false
            if pattern.unicodeScalars.first == modifier {
                greedy = true
                pattern = String(pattern.unicodeScalars.dropFirst())
            }
            let glob = try Self.shellPattern(pattern)
            let text = Array((current ?? "").unicodeScalars)
            guard (text.count + 1) * (glob.tokens.count + 1) <= Self.maximumMatchWork else { throw .init(message: "pattern substitution is too large") }
            if modifier == "#" {
                let starts = glob.matchStarts(text, anchored: true)
                guard let end = Self.pick(starts, start: 0, longest: greedy) else { return current ?? "" }
                return String(String.UnicodeScalarView(text[end...]))
            }
            let reversedText = Array(text.reversed())
            let starts = glob.reversed.matchStarts(reversedText, anchored: true)
            guard let length = Self.pick(starts, start: 0, longest: greedy) else { return current ?? "" }
            return String(String.UnicodeScalarView(text[..<(text.count - length)]))
        }
    }

    /// The end (shortest or longest) of a match that starts at `start`, if any.
    private static func pick(_ starts: [Int], start: Int, longest: Bool) -> Int? {
        let ends = starts.indices.filter { starts[$0] == start }
        return longest ? ends.last : ends.first
    }

    /// `${v/p/r}` and `${v//p/r}`: the leftmost, longest match of `p` (`*` greedy) replaced,
    /// once or everywhere, as Go's `Regexp.ReplaceAllString` walks the text.
    private mutating func replace(_ name: String) throws(ShellWordError) -> String {
        let all = peek == "/"
        if all { index += 1 }
        let pattern: String
        do {
            pattern = try processUntil("/", rawEscapes: true).result
        } catch {
            if peek == nil { throw .init(message: "syntax error: missing '/' in ${}") }
            throw error
        }
        let replacement: String
        do {
            replacement = try processUntil("}", rawEscapes: true).result
        } catch {
            if peek == nil { throw .init(message: "syntax error: missing '}'") }
            throw error
        }
        if keepsUnset, lookup(name) == nil { return "${\(name)/\(pattern)/\(replacement)}" }
        let text = Array((value(of: name) ?? "").unicodeScalars)
        let glob = try Self.shellPattern(pattern)
        let passes = all ? text.count + 1 : 1
        guard (text.count + 1) * (glob.tokens.count + 1) * passes <= Self.maximumMatchWork else { throw .init(message: "pattern substitution is too large") }
        var output = String.UnicodeScalarView()
        var lastEnd = 0
        var search = 0
        while search <= text.count {
            let starts = glob.matchStarts(Array(text[search...]), anchored: false)
            guard let first = starts.filter({ $0 != Int.max }).min(),
                  let end = starts.indices.last(where: { starts[$0] == first }) else { break }
            let matchStart = search + first
            let matchEnd = search + end
            output.append(contentsOf: text[lastEnd..<matchStart])
            if matchEnd > lastEnd || matchStart == 0 { output.append(contentsOf: replacement.unicodeScalars) }
            lastEnd = matchEnd
            if !all { break }
            search = search + 1 > matchEnd ? search + 1 : matchEnd
        }
        output.append(contentsOf: text[min(lastEnd, text.count)...])
        guard output.count <= Self.maximumLength else { throw .init(message: "expands to more than \(Self.maximumLength) characters") }
        return String(output)
    }

    /// A shell pattern of `${v#p}` and friends: `*` any run, `?` any character, `\` escapes `*`,
    /// `?`, `\` (and is dropped before `}` and `/`); anything else is literal.
    static func shellPattern(_ pattern: String) throws(ShellWordError) -> GlobPattern {
        let scalars = Array(pattern.unicodeScalars)
        var tokens: [GlobPattern.Token] = []
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "*": tokens.append(.run(crossesSlash: true))
            case "?": tokens.append(.one(crossesSlash: true))
            case "\\":
                guard index < scalars.count else { throw .init(message: "invalid pattern (\(UntrustedText.excerpt(pattern))) in substitution") }
                let escaped = scalars[index]
                if escaped == "}" || escaped == "/" { continue }
                guard escaped == "*" || escaped == "?" || escaped == "\\" else {
                    throw .init(message: "invalid pattern (\(UntrustedText.excerpt(pattern))) in substitution: invalid escape '\\\(escaped)'")
                }
                tokens.append(.literal(escaped))
                index += 1
            default:
                tokens.append(.literal(scalar))
            }
        }
        return GlobPattern(tokens: tokens)
    }

    /// A variable name: letters, digits and `_`; a leading digit run or one special
    /// parameter (`$@`, `$1`) is a name of its own.
    private mutating func name() -> String {
        var name = String.UnicodeScalarView()
        while let scalar = peek {
            if name.isEmpty, scalar.properties.numericType == .decimal {
                while let digit = peek, digit.properties.numericType == .decimal {
                    name.append(digit)
                    index += 1
                }
                return String(name)
            }
            if name.isEmpty, "@*#?-$!0".unicodeScalars.contains(scalar) {
                index += 1
                return String(scalar)
            }
            guard scalar.properties.isAlphabetic || scalar.properties.numericType == .decimal || scalar == "_" else { break }
            name.append(scalar)
            index += 1
        }
        return String(name)
    }
}

/// Why a word could not be expanded; the caller adds the file, line and instruction.
struct ShellWordError: Error {
    var message: String
}
