import Foundation
import KilnLayer
import OCI

/// A parsed Dockerfile: parser directives read, instructions split, nothing expanded yet.
///
/// The syntax follows Docker's Dockerfile reference as BuildKit's parser implements it
/// (`frontend/dockerfile/parser`): `# escape=` and `# syntax=` directives before anything else,
/// the escape character at the end of a line continues it, comment lines (`#` first, after
/// blanks) are dropped even inside a continued instruction, empty continuation lines are
/// skipped with a warning, here-documents are read to their terminator.
public struct Dockerfile: Sendable {
    /// The file as the user named it, for messages.
    public let path: String
    /// `\` or, after `# escape=\``, a backtick.
    public let escape: Unicode.Scalar
    public let instructions: [DockerfileInstruction]
    public let warnings: [DockerfileWarning]
    /// The lint rules `# check=skip=RULE,RULE` (or `skip=all`) silences, as BuildKit's
    /// `ParseLintOptions` reads them; kiln's BuildKit warnings (`ExposeInvalidFormat`,
    /// `ExposeProtoCasing`) honour it. `error=` and `experimental=` are read and ignored.
    public var skippedChecks: Set<String> = []

    /// The most a Dockerfile may hold; larger files are refused before parsing.
    public static let maximumSize = 1 << 20
    /// Reads and parses a Dockerfile from disk.
    /// - Parameters:
    ///   - path: the file (links followed: the user named it).
    ///   - name: how messages name it; `path` when `nil`.
    /// - Throws: ``DockerfileError`` when it is missing, not a regular file, larger than
    ///   ``maximumSize``, or does not parse.
    public static func load(path: String, name: String? = nil) throws -> Dockerfile {
        let display = name ?? path
        guard let facts = (try? FileFacts.read(path, followLinks: true)) ?? nil else {
            throw DockerfileError(file: display, line: 0, message: "does not exist")
        }
        guard case .regular = facts.kind, facts.size <= maximumSize, let data = FileManager.default.contents(atPath: path), data.count <= maximumSize else {
            throw DockerfileError(file: display, line: 0, message: "is not a readable regular file of at most \(maximumSize) bytes")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: display)
    }

    /// BuildKit's longest line (bufio.Scanner's token limit).
    static let maximumLineLength = 65535

    /// Parses Dockerfile text.
    /// - Parameter path: names the file in errors and warnings (`Dockerfile:3: ...`).
    /// - Throws: ``DockerfileError`` naming the line.
    public static func parse(_ text: String, path: String = "Dockerfile") throws -> Dockerfile {
        guard text.utf8.count <= maximumSize else {
            throw DockerfileError(file: path, line: 0, message: "is larger than \(maximumSize) bytes")
        }
        var parser = DockerfileParser(path: path)
        return try parser.parse(text)
    }
}

/// The line scanner behind ``Dockerfile/parse(_:path:)``.
struct DockerfileParser {
    let path: String
    var escape: Unicode.Scalar = "\\"
    var warnings: [DockerfileWarning] = []
    private var directivesDone = false
    private var skippedChecks: Set<String> = []
    private var seenDirectives: Set<String> = []

    init(path: String) { self.path = path }

    private func fail(_ line: Int, _ message: String, _ instruction: String? = nil) -> DockerfileError {
        DockerfileError(file: path, line: line, instruction: instruction, message: message)
    }

    mutating func parse(_ text: String) throws -> Dockerfile {
        // Split on the scalar: "\r\n" is one Character in Swift and would not split.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
        if text.unicodeScalars.last == "\n" { lines.removeLast() }
        if let first = lines.first, first.unicodeScalars.first == "\u{FEFF}" { lines[0] = String(String.UnicodeScalarView(first.unicodeScalars.dropFirst())) }
        var instructions: [DockerfileInstruction] = []
        var index = 0
        var current = 0
        while index < lines.count {
            let raw = lines[index]
            index += 1
            guard raw.utf8.count <= Self.lineLimit else { throw fail(current + 1, "line is longer than \(Self.lineLimit) bytes") }
            let line = raw.trimmingNewline.trimmingLeadingWhitespace
            try readDirective(line, number: current + 1)
            current += 1
            let start = current
            if line.hasPrefix("#") { continue }
            var (content, ended) = trimContinuation(line)
            if ended, content.isEmpty { continue }
            var buffer = content
            var emptyContinuation = false
            while !ended, index < lines.count {
                let next = lines[index]
                index += 1
                guard next.utf8.count <= Self.lineLimit else { throw fail(current + 1, "line is longer than \(Self.lineLimit) bytes") }
                current += 1
                let trimmed = next.trimmingNewline
                if trimmed.trimmingLeadingWhitespace.hasPrefix("#") { continue }
                if trimmed.trimmingLeadingWhitespace.isEmpty {
                    emptyContinuation = true
                    continue
                }
                (content, ended) = trimContinuation(trimmed)
                buffer += content
            }
            if emptyContinuation {
                warnings.append(DockerfileWarning(file: path, line: current, message: "empty continuation line (Docker will make these errors)"))
            }
            var instruction = try parseInstruction(buffer, line: start, endLine: current)
            if let names = try heredocNames(instruction, line: buffer, number: start) {
                for (name, chomp) in names {
                    var content = ""
                    var terminated = false
                    while index < lines.count {
                        let body = lines[index]
                        index += 1
                        current += 1
                        var candidate = body.trimmingNewline
                        if chomp { candidate = String(candidate.drop(while: { $0 == "\t" })) }
                        if candidate == name {
                            terminated = true
                            break
                        }
                        content += body + "\n"
                    }
                    guard terminated else { throw fail(start, "unterminated heredoc (no line '\(UntrustedText.excerpt(name))' ends it)", instruction.keyword) }
                    instruction.heredocs.append(.init(name: name, content: content))
                }
                instruction.endLine = current
            }
            instructions.append(instruction)
        }
        guard !instructions.isEmpty else { throw fail(0, "has no instructions") }
        return Dockerfile(path: path, escape: escape, instructions: instructions, warnings: warnings, skippedChecks: skippedChecks)
    }

    static let lineLimit = Dockerfile.maximumLineLength

    /// Parser directives (`# escape=\``, `# syntax=...`, `# check=...`): only before anything
    /// else, each at most once; an unknown one ends them and is a comment.
    private mutating func readDirective(_ line: String, number: Int) throws {
        guard !directivesDone else { return }
        guard line.hasPrefix("#") else {
            directivesDone = true
            return
        }
        // Go's `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` after `#` and blanks.
        let body = Array(String(line.dropFirst()).trimmingLeadingWhitespace.unicodeScalars)
        func isLetter(_ scalar: Unicode.Scalar) -> Bool { (65...90).contains(scalar.value) || (97...122).contains(scalar.value) }
        var position = 0
        while position < body.count, isLetter(body[position]) || (position > 0 && (48...57).contains(body[position].value)) { position += 1 }
        let name = String(String.UnicodeScalarView(body[..<position]))
        while position < body.count, body[position].properties.isWhitespace { position += 1 }
        guard !name.isEmpty, position < body.count, body[position] == "=" else {
            directivesDone = true
            return
        }
        let value = String(String.UnicodeScalarView(body[(position + 1)...])).trimmingWhitespace
        let key = name.lowercased()
        guard !value.isEmpty, ["escape", "syntax", "check"].contains(key) else {
            directivesDone = true
            return
        }
        guard !seenDirectives.contains(key) else { throw fail(number, "only one \(key) parser directive can be used") }
        seenDirectives.insert(key)
        if key == "check" {
            // `skip=A,B;error=true`: at most three `;` parts, each `key=value`.
            for part in value.split(separator: ";", maxSplits: 2, omittingEmptySubsequences: false) {
                let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard pair.count == 2, String(pair[0]).trimmingWhitespace == "skip" else { continue }
                skippedChecks.formUnion(pair[1].split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace })
            }
        }
        if key == "escape" {
            guard value == "\\" || value == "`" else { throw fail(number, "invalid escape token '\(UntrustedText.excerpt(value))' does not match ` or \\") }
            escape = value.unicodeScalars.first!
        }
    }

    /// Strips a line-continuation escape (the escape character last, blanks after it allowed,
    /// not itself escaped). Returns the rest and whether the instruction ends on this line.
    private func trimContinuation(_ line: String) -> (String, Bool) {
        var scalars = Array(line.unicodeScalars)
        var end = scalars.count
        while end > 0, scalars[end - 1] == " " || scalars[end - 1] == "\t" { end -= 1 }
        guard end > 0, scalars[end - 1] == escape else { return (line, true) }
        if end == 1 { return ("", false) }
        if scalars[end - 2] == escape { return (line, true) }
        scalars.removeSubrange((end - 1)...)
        return (String(String.UnicodeScalarView(scalars)), false)
    }

    /// Splits a logical line into instruction, flags and arguments.
    func parseInstruction(_ line: String, line number: Int, endLine: Int) throws -> DockerfileInstruction {
        let trimmed = line.trimmingWhitespace
        let scalars = Array(trimmed.unicodeScalars)
        var split = 0
        while split < scalars.count, !Self.isSeparator(scalars[split]) { split += 1 }
        let command = String(String.UnicodeScalarView(scalars[..<split]))
        var rest = split
        while rest < scalars.count, Self.isSeparator(scalars[rest]) { rest += 1 }
        let (arguments, flags) = extractFlags(String(String.UnicodeScalarView(scalars[rest...])))
        let keyword = command.uppercased()
        var instruction = DockerfileInstruction(keyword: keyword, line: number, endLine: endLine, original: line, flags: flags)
        let args = arguments.trimmingWhitespace
        func fail(_ message: String) -> DockerfileError { self.fail(number, message, keyword) }
        switch keyword {
        case "ADD", "COPY", "VOLUME":
            if let json = try parseJSON(args, fail: fail) {
                instruction.arguments = json
                instruction.isJSON = true
            } else {
                instruction.arguments = Self.whitespaceWords(args)
            }
        case "CMD", "ENTRYPOINT", "RUN", "SHELL":
            if let json = try parseJSON(args, fail: fail) {
                instruction.arguments = json
                instruction.isJSON = true
            } else if !args.isEmpty {
                instruction.arguments = [args]
            }
        case "ARG":
            instruction.arguments = words(args)
        case "ENV", "LABEL":
            instruction.pairs = try pairs(args, keyword: keyword, fail: fail)
        case "EXPOSE", "FROM":
            instruction.arguments = Self.whitespaceWords(args)
        case "HEALTHCHECK":
            let argScalars = Array(args.unicodeScalars)
            var end = 0
            while end < argScalars.count, !argScalars[end].properties.isWhitespace { end += 1 }
            guard end > 0 else { break }
            var start = end
            while start < argScalars.count, argScalars[start].properties.isWhitespace { start += 1 }
            instruction.arguments = [String(String.UnicodeScalarView(argScalars[..<end]))]
            let command = String(String.UnicodeScalarView(argScalars[start...]))
            if let json = try parseJSON(command, fail: fail) {
                instruction.arguments += json
                instruction.isJSON = true
            } else if !command.isEmpty {
                instruction.arguments.append(command)
            }
        case "MAINTAINER", "STOPSIGNAL", "USER", "WORKDIR":
            if !args.isEmpty { instruction.arguments = [args] }
        case "ONBUILD":
            guard !args.isEmpty else { break }
            // Docker refuses these triggers; refusing them before parsing the trigger keeps the
            // recursion one level deep (a chain of 4000 `ONBUILD ` would exhaust the stack).
            let trigger = String(String.UnicodeScalarView(args.unicodeScalars.prefix(while: { !Self.isSeparator($0) }))).uppercased()
            switch trigger {
            case "ONBUILD": throw fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
            case "FROM", "MAINTAINER": throw fail("\(trigger) isn't allowed as an ONBUILD trigger")
            default: instruction.trigger = [try parseInstruction(args, line: number, endLine: endLine)]
            }
        default:
            throw self.fail(number, "unknown instruction: \(UntrustedText.excerpt(command))")
        }
        return instruction
    }

    private static func isSeparator(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\u{0B}" || scalar == "\u{0C}" || scalar == "\r"
    }

    /// Splits at runs of blanks (Go's `[\t\v\f\r ]+`).
    static func whitespaceWords(_ text: String) -> [String] {
        guard !text.isEmpty else { return [] }
        var words: [String] = []
        var current = String.UnicodeScalarView()
        var previousWasSeparator = false
        for scalar in text.unicodeScalars {
            if isSeparator(scalar) {
                if !previousWasSeparator { words.append(String(current)); current = String.UnicodeScalarView() }
                previousWasSeparator = true
            } else {
                current.append(scalar)
                previousWasSeparator = false
            }
        }
        words.append(String(current))
        return words
    }

    /// Leading `--flag[=value]` words: a word not starting with `--` ends them, a bare `--`
    /// too; quotes group and the escape character escapes.
    private func extractFlags(_ line: String) -> (String, [String]) {
        let scalars = Array(line.unicodeScalars)
        var flags: [String] = []
        var position = 0
        while true {
            while position < scalars.count, scalars[position].properties.isWhitespace { position += 1 }
            guard position + 1 < scalars.count, scalars[position] == "-", scalars[position + 1] == "-" else {
                return (String(String.UnicodeScalarView(scalars[min(position, scalars.count)...])), flags)
            }
            var word = String.UnicodeScalarView()
            var quote: Unicode.Scalar?
            var blankOK = false
            while position < scalars.count {
                let scalar = scalars[position]
                if let open = quote {
                    if scalar == open {
                        quote = nil
                    } else if scalar == escape {
                        if position + 1 == scalars.count {
                            quote = nil
                        } else {
                            position += 1
                            word.append(scalars[position])
                        }
                    } else {
                        word.append(scalar)
                    }
                    position += 1
                    continue
                }
                if scalar.properties.isWhitespace { break }
                if scalar == "'" || scalar == "\"" {
                    quote = scalar
                    blankOK = true
                } else if scalar == escape {
                    if position + 1 < scalars.count {
                        position += 1
                        word.append(scalars[position])
                    }
                } else {
                    word.append(scalar)
                }
                position += 1
            }
            let text = String(word)
            if text == "--" { return (String(String.UnicodeScalarView(scalars[min(position, scalars.count)...])), flags) }
            if blankOK || !text.isEmpty { flags.append(text) }
            if position >= scalars.count { return ("", flags) }
        }
    }

    /// A JSON array of strings (exec form), or `nil` when the text is not a JSON array at all.
    /// - Throws: when it is a JSON array with something other than strings in it.
    private func parseJSON(_ text: String, fail: (String) -> DockerfileError) throws -> [String]? {
        let trimmed = text.trimmingLeadingWhitespace
        guard trimmed.hasPrefix("["), let value = try? JSONValue(parsing: Array(trimmed.utf8), what: "JSON"), let elements = value.arrayValue else {
            return nil
        }
        return try elements.map { element in
            guard let string = element.stringValue else { throw fail("when using JSON array syntax, arrays must be comprised of strings only") }
            return string
        }
    }

    /// BuildKit's `parseWords`: split at unquoted whitespace, quotes and escapes kept in the
    /// words for the later expansion to resolve.
    func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        var inWord = false
        var quote: Unicode.Scalar?
        var blankOK = false
        let scalars = Array(text.unicodeScalars)
        var position = 0
        while position < scalars.count {
            var scalar = scalars[position]
            if let open = quote {
                if scalar == open { quote = nil }
                if scalar == escape, open != "'" {
                    if position + 1 == scalars.count {
                        quote = nil
                        position += 1
                        continue
                    }
                    current.append(scalar)
                    position += 1
                    scalar = scalars[position]
                }
                current.append(scalar)
                position += 1
                continue
            }
            if !inWord {
                if scalar.properties.isWhitespace {
                    position += 1
                    continue
                }
                inWord = true
            }
            if scalar.properties.isWhitespace {
                if blankOK || !current.isEmpty { words.append(String(current)) }
                current = String.UnicodeScalarView()
                blankOK = false
                inWord = false
                position += 1
                continue
            }
            if scalar == "'" || scalar == "\"" {
                quote = scalar
                blankOK = true
            }
            if scalar == escape {
                if position + 1 == scalars.count {
                    position += 1
                    continue
                }
                current.append(scalar)
                position += 1
                scalar = scalars[position]
            }
            current.append(scalar)
            position += 1
        }
        if inWord || quote != nil, blankOK || !current.isEmpty { words.append(String(current)) }
        return words
    }

    /// ENV and LABEL: `K=V ...`, or the legacy `K V` (everything after the first blank is V).
    private func pairs(_ text: String, keyword: String, fail: (String) -> DockerfileError) throws -> [DockerfileInstruction.Pair] {
        let words = self.words(text)
        guard let first = words.first else { return [] }
        if !first.contains("=") {
            let parts = Self.whitespaceWords(text)
            guard parts.count >= 2 else { throw fail("\(keyword) must have two arguments") }
            let scalars = Array(text.unicodeScalars)
            var split = 0
            while split < scalars.count, !Self.isSeparator(scalars[split]) { split += 1 }
            var rest = split
            while rest < scalars.count, Self.isSeparator(scalars[rest]) { rest += 1 }
            return [.init(key: parts[0], value: String(String.UnicodeScalarView(scalars[rest...])), hasEquals: false)]
        }
        return try words.map { word in
            guard let equals = word.firstIndex(of: "=") else {
                throw fail("syntax error - can't find = in \"\(UntrustedText.excerpt(word))\"; must be of the form: name=value")
            }
            return .init(key: String(word[..<equals]), value: String(word[word.index(after: equals)...]), hasEquals: true)
        }
    }

    /// The here-document names of a shell-form RUN, COPY or ADD (or ONBUILD of one), as
    /// BuildKit's `heredocsFromLine` finds them: the line split into words with quotes,
    /// escapes and unset variables kept as written (always with `\\` as the escape, whatever
    /// `# escape=` says), each word that reads `[FD]<<[-]NAME` taken by ``heredoc(_:)``.
    private func heredocNames(_ instruction: DockerfileInstruction, line: String, number: Int) throws -> [(String, Bool)]? {
        var target = instruction
        if target.keyword == "ONBUILD", let trigger = target.trigger.first { target = trigger }
        guard ["RUN", "COPY", "ADD"].contains(target.keyword), !target.isJSON, line.contains("<<") else { return nil }
        var lexer = ShellWord(escape: "\\") { _ in nil }
        lexer.rawQuotes = true
        lexer.rawEscapes = true
        lexer.keepsUnset = true
        // A line the lexer cannot split (an open quote) has no here-documents, as in BuildKit.
        guard let candidates = try? lexer.words(line) else { return nil }
        var found: [(String, Bool)] = []
        for word in candidates {
            do {
                if let heredoc = try Self.heredoc(word) { found.append(heredoc) }
            } catch {
                throw fail(number, "here-document '\(UntrustedText.excerpt(word))': \(error.message)", instruction.keyword)
            }
        }
        return found.isEmpty ? nil : found
    }

    /// BuildKit's `ParseHeredoc`: a word matching `^(\d*)<<(-?)\s*([^<]*)$` with something after
    /// the marker; `-` strips leading tabs before the terminator. The name is that rest read as
    /// one shell word (`eo\'f` and `'e'o\'f` both name `eo'f`, `'one two'` names `one two`);
    /// a rest that is several words is no here-document, one with an open quote is an error.
    static func heredoc(_ word: String) throws(ShellWordError) -> (name: String, chomp: Bool)? {
        var rest = Substring(word).unicodeScalars
        rest = rest.drop(while: { (48...57).contains($0.value) })
        guard rest.starts(with: "<<".unicodeScalars) else { return nil }
        rest = rest.dropFirst(2)
        let chomp = rest.first == "-"
        if chomp { rest = rest.dropFirst() }
        rest = rest.drop(while: { [" ", "\t", "\n", "\r", "\u{0C}"].contains($0) })
        guard !rest.isEmpty, !rest.contains("<") else { return nil }
        let text = String(String.UnicodeScalarView(rest))
        var plain = ShellWord(escape: "\\") { _ in nil }
        plain.keepsUnset = true
        let words = try plain.words(text)
        guard words.count == 1 else { return nil }
        var quoted = ShellWord(escape: "\\") { _ in nil }
        quoted.keepsUnset = true
        quoted.rawQuotes = true
        guard try quoted.words(text).count == 1 else { throw ShellWordError(message: "internal lexing of heredoc produced inconsistent results") }
        return (words[0], chomp)
    }
}

extension String {
    /// Without the trailing `\r` and `\n` characters.
    var trimmingNewline: String {
        var scalars = Array(unicodeScalars)
        while let last = scalars.last, last == "\r" || last == "\n" { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }

    /// Without leading whitespace (Go's `unicode.IsSpace`).
    var trimmingLeadingWhitespace: String {
        String(String.UnicodeScalarView(unicodeScalars.drop(while: { $0.properties.isWhitespace })))
    }
}
