// The secret scanner as it was on main before the C classifier (commit aa3ca99: the qualifier
// rule, YAML block scalars, the byte-pair token table), kept only as the referee of
// SecretDifferentialTests: the scanner must find exactly what this one finds, on every input.
// Not maintained: new rules are checked by the corpus and rule tests, not here.
import Foundation
import KilnCrypto
import KilnSecrets


/// Finds secrets in one file, fed in chunks as the layer's hashing pass reads it.
///
/// Linear in the input: lines are split as the bytes arrive, each byte is looked at a bounded
/// number of times (token rules skip whole runs of token characters; a URL's user info is looked
/// for within 512 bytes of its `://`), and a line longer than ``maximumLineLength`` is scanned
/// in pieces of that length (a match across a piece boundary is missed). No regular expression,
/// no backtracking. Memory is bounded by the line length, the JSON nesting depth and the number
/// of findings.
final class BaselineScanner {
    /// The longest line examined as one; longer lines are examined in pieces this long.
    static let maximumLineLength = 64 * 1024
    /// The most findings one input reports (the rest are counted, not kept).
    static let maximumFindings = 1000

    /// How the file's text is read for secret-named keys (token rules apply to every format).
    enum Format: Sendable, Equatable {
        /// `key = value`, `key: value`, `export KEY=value`: properties, .env, INI, kong.conf,
        /// TOML, shell, and any file kiln knows no better format for.
        case keyValue
        /// YAML: `key: value`, list items, inline comments.
        case yaml
        /// JSON: keys and values by structure (Keycloak realm exports: `credentials[].value`).
        case json
        /// XML: `name="value"` attributes and `<name>value</name>` elements, plus `key = value`.
        case xml

        /// The format a file's name suggests.
        init(fileName: String) {
            let lower = fileName.lowercased()
            let ext = lower.split(separator: ".").count > 1 ? String(lower.split(separator: ".").last!) : ""
            switch ext {
            case "json", "jsonc", "json5", "ipynb": self = .json
            case "yaml", "yml": self = .yaml
            case "xml", "xsd", "xsl", "xslt", "config", "plist", "xhtml", "svg", "jnlp", "wsdl": self = .xml
            default: self = .keyValue
            }
        }
    }

    let format: Format
    private var line = 1
    private var pending: [UInt8] = []
    private var started = false
    /// The input's first bytes, held until 8 KiB or the end: the sniff (binary, key store) sees
    /// the same head however the input is split into chunks.
    private var head: [UInt8] = []
    private var binary = false
    private var keyStoreHash: SHA256?
    private var keyStoreKind = ""
    private var findings: [SecretFinding] = []
    private var seen: Set<FindingKey> = []
    private var dropped = 0
    private var block: OpenBlock?
    /// A YAML block scalar (`password: |`) under a secret-named key being read.
    private var yamlBlock: YAMLBlock?
    /// AWS access key ids seen: a finding only with a secret key beside them (finish()).
    private var awsIDs: [(line: Int, digest: [UInt8], sameLineSecret: Bool, allowedInline: Bool)] = []
    private var awsSecretLines: [Int] = []
    private var json: BaselineJSONLexer?

    private struct FindingKey: Hashable {
        var line: Int
        var rule: SecretRule
        var digest: [UInt8]
    }

    /// A multi-line secret being read (a PEM or PuTTY key): hashed until its end line.
    private struct OpenBlock {
        var finding: Int
        var hash: SHA256
        var endMarker: [UInt8]
        var lines: Int
    }

    /// The value of a secret-named YAML key written as a block scalar (`|`, `>`, with chomping or
    /// indentation indicators): the lines indented deeper than the key, and blank lines among
    /// them. Hashed as they pass (each line less the first line's indentation, newline-ended);
    /// the finding is made on the key's line when the block ends, unless every line was a
    /// placeholder or blank. (A private key in the block is also found by its own rule, on its
    /// `BEGIN` line, as in a JSON string under `"private_key"`.)
    private struct YAMLBlock {
        var keyLine: Int
        var keyColumn: Int
        var what: String
        var allowedInline: Bool
        var hash = SHA256()
        /// The first content line's indentation, once seen.
        var indentation: Int?
        var onlyPlaceholders = true
        var lines = 0
    }

    /// - Parameter fileName: the file's name (its extension picks the ``Format``).
    convenience init(fileName: String) {
        self.init(format: Format(fileName: fileName))
    }

    init(format: Format) {
        self.format = format
        if format == .json { json = BaselineJSONLexer() }
    }

    /// Scans bytes held in memory.
    static func scan(_ bytes: [UInt8], format: Format) -> [SecretFinding] {
        let scanner = BaselineScanner(format: format)
        bytes.withUnsafeBytes { scanner.update($0) }
        return scanner.finish()
    }

    /// Findings that were not kept because the input had more than ``maximumFindings``.
    var droppedFindings: Int { dropped }

    /// Feeds the next bytes of the input.
    func update(_ chunk: UnsafeRawBufferPointer) {
        guard !chunk.isEmpty else { return }
        if !started, head.isEmpty, chunk.count >= Self.sniffedBytes {
            // The whole head in the first chunk (the usual case): sniffed where it lies.
            started = true
            sniff(chunk)
            scan(chunk)
            return
        }
        if !started {
            head.append(contentsOf: chunk)
            if head.count >= Self.sniffedBytes { start() }
            return
        }
        scan(chunk)
    }

    /// How much of the input's start decides whether it is binary or a key store.
    static let sniffedBytes = 8192

    /// Sniffs the held head and scans it: once, at 8 KiB or at the end of a shorter input.
    private func start() {
        started = true
        let held = head
        head = []
        held.withUnsafeBytes { bytes in
            sniff(bytes)
            scan(bytes)
        }
    }

    private func scan(_ chunk: UnsafeRawBufferPointer) {
        if let keyStoreHash { keyStoreHash.update(chunk) }
        if binary { return }
        let bytes = chunk.bindMemory(to: UInt8.self)
        if json != nil {
            json!.feed(bytes) { self.record($0) }
        }
        var start = 0
        let count = bytes.count
        while start < count {
            // The line's end (memchr: vectorised by the C library).
            let end: Int
            if let found = memchr(bytes.baseAddress! + start, 0x0A, count - start) {
                end = start + (UnsafeRawPointer(found) - UnsafeRawPointer(bytes.baseAddress! + start))
            } else {
                end = count
            }
            if end == count {
                // A line continues in the next chunk: kept, up to the bound.
                // A full piece is scanned once more bytes of its line arrive, as a line in one
                // chunk is cut, so chunking never changes the pieces.
                if pending.count >= Self.maximumLineLength { flushPiece() }
                let take = min(count - start, Self.maximumLineLength - pending.count)
                pending.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<(start + take)]))
                start += take
                continue
            }
            if pending.isEmpty {
                var piece = start
                repeat {
                    let take = min(end - piece, Self.maximumLineLength)
                    scanLine(UnsafeBufferPointer(rebasing: bytes[piece..<(piece + take)]))
                    piece += take
                } while piece < end
            } else {
                let piece = min(end - start, Self.maximumLineLength - pending.count)
                pending.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<(start + piece)]))
                pending.withUnsafeBufferPointer { scanLine($0) }
                pending.removeAll(keepingCapacity: true)
                var rest = start + piece
                while rest < end {
                    let take = min(end - rest, Self.maximumLineLength)
                    scanLine(UnsafeBufferPointer(rebasing: bytes[rest..<(rest + take)]))
                    rest += take
                }
            }
            line += 1
            start = end + 1
        }
    }

    /// A piece of an overlong line: scanned alone, the line number unchanged.
    private func flushPiece() {
        pending.withUnsafeBufferPointer { scanLine($0) }
        pending.removeAll(keepingCapacity: true)
    }

    /// Ends the input and returns what was found, in line order.
    func finish() -> [SecretFinding] {
        if !started && !head.isEmpty { start() }
        if !pending.isEmpty { flushPiece() }
        closeYAMLBlock()
        if let open = block {
            findings[open.finding].secretDigest = open.hash.finalize()
            block = nil
        }
        if let keyStoreHash {
            append(SecretFinding(line: 0, rule: .keyStore, what: "a \(keyStoreKind) key store", secretDigest: keyStoreHash.finalize()))
            self.keyStoreHash = nil
        }
        if let lexer = json {
            lexer.finish { self.record($0) }
            json = nil
        }
        for id in awsIDs where id.sameLineSecret || awsSecretLines.contains(where: { abs($0 - id.line) <= 5 }) {
            append(SecretFinding(line: id.line, rule: .awsAccessKey, what: "an AWS access key id with its secret key", secretDigest: id.digest, allowedInline: id.allowedInline))
        }
        awsIDs.removeAll()
        return findings.sorted { ($0.line, $0.rule.rawValue) < ($1.line, $1.rule.rawValue) }
    }

    private func append(_ finding: SecretFinding) {
        let key = FindingKey(line: finding.line, rule: finding.rule, digest: finding.secretDigest)
        guard !seen.contains(key) else { return }
        guard findings.count < Self.maximumFindings else {
            dropped += 1
            return
        }
        seen.insert(key)
        findings.append(finding)
    }

    /// A finding of the JSON lexer, which knows its own line.
    private func record(_ finding: SecretFinding) {
        if finding.rule == .namedValue, finding.what.hasPrefix("an AWS secret") { awsSecretLines.append(finding.line) }
        append(finding)
    }

    // MARK: - First bytes

    /// Binary files (a NUL in the first 8 KiB) get only the key store check.
    private func sniff(_ chunk: UnsafeRawBufferPointer) {
        let head = Array(chunk.prefix(8192))
        if head.count >= 4, head[0] == 0xFE, head[1] == 0xED, head[2] == 0xFE, head[3] == 0xED { keyStoreKind = "JKS" }
        if head.count >= 4, head[0] == 0xCE, head[1] == 0xCE, head[2] == 0xCE, head[3] == 0xCE { keyStoreKind = "JCEKS" }
        if Self.isPKCS12(head) { keyStoreKind = "PKCS#12" }
        if !keyStoreKind.isEmpty { keyStoreHash = SHA256() }
        binary = head.contains(0) || !keyStoreKind.isEmpty
        if format == .json, let first = head.first(where: { !BaselinePlaceholder.isBlank($0) && $0 != 0x0A }),
           first != UInt8(ascii: "{"), first != UInt8(ascii: "[") {
            // Not JSON after all (a template, JSON lines of something else): read as key = value.
            json = nil
        }
    }

    /// PKCS#12 (RFC 7292): `SEQUENCE { INTEGER 3, SEQUENCE { OID pkcs7-data or signedData …`.
    static func isPKCS12(_ head: [UInt8]) -> Bool {
        guard head.count >= 20, head[0] == 0x30 else { return false }
        var index = 1
        let length = head[index]
        if length == 0x80 { index += 1 } else if length > 0x80 { index += 1 + Int(length & 0x7F) } else { index += 1 }
        guard index + 3 <= head.count, head[index] == 0x02, head[index + 1] == 0x01, head[index + 2] == 0x03 else { return false }
        let oid: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07]
        let rest = head[(index + 3)...].prefix(16)
        guard rest.count >= oid.count else { return false }
        for start in rest.indices where start + oid.count <= rest.endIndex {
            if rest[start..<(start + oid.count)].elementsEqual(oid) { return true }
        }
        return false
    }

    // MARK: - Lines

    private func scanLine(_ raw: UnsafeBufferPointer<UInt8>) {
        var text = raw
        if let last = text.last, last == 0x0D { text = UnsafeBufferPointer(rebasing: text[0..<(text.count - 1)]) }
        if yamlBlock != nil { continueYAMLBlock(text) }
        if var open = block {
            open.hash.update(UnsafeRawBufferPointer(text))
            open.lines += 1
            if Self.find(open.endMarker, in: text, from: 0) != nil || open.lines > 10_000 {
                findings[open.finding].secretDigest = open.hash.finalize()
                block = nil
            } else {
                block = open
            }
            return
        }
        scanTokens(text)
        switch format {
        case .json:
            if json == nil { scanAssignment(text, word: "key") }
        case .yaml:
            scanAssignment(text, word: "YAML key")
        case .keyValue:
            scanAssignment(text, word: "key")
        case .xml:
            scanXML(text)
            scanAssignment(text, word: "key")
        }
    }

    /// Records a finding of this line, unless the same one was made already.
    private func found(_ rule: SecretRule, _ what: String, secret: UnsafeBufferPointer<UInt8>, in text: UnsafeBufferPointer<UInt8>) {
        found(rule, what, digest: SHA256.hash(secret), in: text)
    }

    private func found(_ rule: SecretRule, _ what: String, digest: [UInt8], in text: UnsafeBufferPointer<UInt8>) {
        append(SecretFinding(line: line, rule: rule, what: what, secretDigest: digest, allowedInline: Self.allowsInline(text)))
    }

    /// `kiln:allow-secret` in a comment of the line (after `#`, `;`, `//`, `<!--` or `/*`).
    static func allowsInline(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let at = find(Array("kiln:allow-secret".utf8), in: text, from: 0) else { return false }
        var index = 0
        while index < at {
            let byte = text[index]
            if byte == UInt8(ascii: "#") || byte == UInt8(ascii: ";") { return true }
            if index + 1 < at, byte == UInt8(ascii: "/"), text[index + 1] == UInt8(ascii: "/") || text[index + 1] == UInt8(ascii: "*") { return true }
            if index + 3 < at, byte == UInt8(ascii: "<"), text[index + 1] == UInt8(ascii: "!"), text[index + 2] == UInt8(ascii: "-") { return true }
            index += 1
        }
        return false
    }

    /// The first position of `needle` in `text` at or after `from`. Callers bound `text`.
    static func find(_ needle: [UInt8], in text: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard let first = needle.first, text.count >= needle.count else { return nil }
        var index = from
        let last = text.count - needle.count
        while index <= last {
            if text[index] == first {
                var matched = 1
                while matched < needle.count, text[index + matched] == needle[matched] { matched += 1 }
                if matched == needle.count { return index }
            }
            index += 1
        }
        return nil
    }

    static func hasPrefix(_ text: UnsafeBufferPointer<UInt8>, at index: Int, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard index + count <= text.count else { return false }
        let start = prefix.utf8Start
        for offset in 0..<count where text[index + offset] != start[offset] { return false }
        return true
    }

    // MARK: - Token rules

    /// Bytes of token bodies: a token starts where such a run starts.
    @inline(__always) static func isRunByte(_ byte: UInt8) -> Bool {
        (97...122).contains(byte) || (65...90).contains(byte) || (48...57).contains(byte) || byte == 0x5F || byte == 0x2D
    }

    /// The first two bytes of every token rule (`--` of `-----BEGIN`, `gh` of `ghp_`, `ey` of
    /// `eyJ`, …) and `:/` of a URL's `://`, as a table of 65,536 byte pairs indexed by the two
    /// bytes read as one little-endian 16-bit number: the token pass reads each position's pair
    /// with one load and one look-up, eight positions at a time, and only a pair in this table
    /// (rare in config text, unlike the single letters tokens start with) is looked at further.
    private static let tokenPairs: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 65_536)
        let pairs = ["--", "Pu", "AK", "AS", "AB", "AC", "A3", "AI", "GO", "GR", "gh", "gi", "gl", "xo", "sk", "rk", "np", "py", "ey", ":/"]
        for pair in pairs {
            let bytes = Array(pair.utf8)
            table[Int(bytes[0]) | Int(bytes[1]) << 8] = 1
        }
        return table
    }()

    /// Runs of token characters that start with a pair of ``tokenPairs`` (a token starts only
    /// where such a run starts, or where the previous match ended), and each `://`.
    private func scanTokens(_ text: UnsafeBufferPointer<UInt8>) {
        let count = text.count
        guard count >= 2, let base = text.baseAddress else { return }
        let raw = UnsafeRawPointer(base)
        tokenPairs.withUnsafeBufferPointer { table in
            let pairs = table.baseAddress!
            @inline(__always) func startsRule(_ position: Int) -> UInt8 {
                pairs[Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt16.self)))]
            }
            // Where scanning resumed after a match: a run starts there whatever precedes it.
            var resume = 0
            var index = 0
            while index < count - 1 {
                // Eight positions whose pairs start no rule are passed over at once (the
                // byte-by-byte steps below would pass each of them too).
                while index + 9 <= count {
                    let any = startsRule(index) | startsRule(index + 1) | startsRule(index + 2) | startsRule(index + 3)
                        | startsRule(index + 4) | startsRule(index + 5) | startsRule(index + 6) | startsRule(index + 7)
                    guard any == 0 else { break }
                    index += 8
                }
                guard index < count - 1 else { break }
                guard startsRule(index) != 0 else {
                    index += 1
                    continue
                }
                if base[index] == UInt8(ascii: ":") {
                    if index + 2 < count, base[index + 2] == UInt8(ascii: "/") {
                        index = checkURL(text, from: index + 3)
                        resume = index
                    } else {
                        index += 1
                    }
                    continue
                }
                guard index == resume || !Self.isRunByte(base[index - 1]) else {
                    index += 1
                    continue
                }
                var end = index + 1
                while end < count, Self.isRunByte(base[end]) { end += 1 }
                index = end - index >= 4 ? max(end, checkToken(text, start: index, end: end)) : end
                resume = index
            }
        }
    }

    /// `=` and `<`, where XML attributes and elements are looked for.
    private static let markupTable: [UInt8] = (0..<256).map { $0 == 0x3D || $0 == 0x3C ? 1 : 0 }
    /// ``markupTable``, kept by each scanner.
    private let markupBytes = BaselineScanner.markupTable

    /// The bytes that may end a key: blanks, `=` and `:`.
    private static let keyStopTable: [UInt8] = (0..<256).map { [0x20, 0x09, 0x3D, 0x3A].contains($0) ? 1 : 0 }
    /// ``keyStopTable``, kept by each scanner.
    private let keyStops = BaselineScanner.keyStopTable

    /// ``tokenPairs``, kept by each scanner (a static is looked up through a lazy-init check).
    private let tokenPairs = BaselineScanner.tokenPairs

    /// Checks the run `text[start..<end]` against the token rules.
    /// - Returns: where scanning resumes (past a match that extends beyond the run).
    private func checkToken(_ text: UnsafeBufferPointer<UInt8>, start: Int, end: Int) -> Int {
        let length = end - start
        let run = UnsafeBufferPointer(rebasing: text[start..<end])
        func has(_ prefix: StaticString) -> Bool { Self.hasPrefix(text, at: start, prefix) }
        switch text[start] {
        case UInt8(ascii: "-"):
            if has("-----BEGIN"), Self.find(Self.privateKeyWords, in: UnsafeBufferPointer(rebasing: text[start..<min(text.count, start + 120)]), from: 0) != nil {
                openBlock(.privateKey, "a private key", text: text, from: start, endMarker: "-----END")
                return text.count
            }
        case UInt8(ascii: "P"):
            if has("PuTTY-User-Key-File-") {
                openBlock(.puttyKey, "a PuTTY private key", text: text, from: start, endMarker: "Private-MAC")
                return text.count
            }
        case UInt8(ascii: "A"):
            if length == 20, has("AKIA") || has("ASIA") || has("ABIA") || has("ACCA") || has("A3T"),
               run.allSatisfy({ (65...90).contains($0) || (48...57).contains($0) }) {
                awsIDs.append((line, SHA256.hash(run), Self.hasAWSSecretRun(text, after: end), Self.allowsInline(text)))
            } else if has("AIza"), length == 39 {
                found(.googleAPIKey, "a Google API key", secret: run, in: text)
            }
        case UInt8(ascii: "G"):
            if has("GOCSPX-"), length >= 28 {
                found(.googleClientSecret, "a Google OAuth client secret", secret: run, in: text)
            } else if has("GR1348941"), length >= 29 {
                found(.gitlabToken, "a GitLab runner registration token", secret: run, in: text)
            }
        case UInt8(ascii: "g"):
            if length >= 40, has("ghp_") || has("gho_") || has("ghu_") || has("ghs_") || has("ghr_") || has("github_pat_") {
                found(.githubToken, "a GitHub token", secret: run, in: text)
            } else if let prefix = Self.gitlabPrefixes.first(where: { Self.hasPrefix(text, at: start, $0) }), length >= prefix.utf8CodeUnitCount + 20 {
                found(.gitlabToken, "a GitLab token", secret: run, in: text)
            }
        case UInt8(ascii: "x"):
            if length >= 15, has("xoxb-") || has("xoxp-") || has("xoxa-") || has("xoxo-") || has("xoxs-") || has("xoxr-") || has("xoxe-") {
                found(.slackToken, "a Slack token", secret: run, in: text)
            }
        case UInt8(ascii: "s"), UInt8(ascii: "r"):
            if length >= 28, has("sk_live_") || has("rk_live_") || has("sk_test_") || has("rk_test_") {
                found(.stripeKey, "a Stripe secret key", secret: run, in: text)
            }
        case UInt8(ascii: "n"):
            if length == 40, has("npm_") {
                found(.npmToken, "an npm token", secret: run, in: text)
            }
        case UInt8(ascii: "p"):
            if length >= 70, has("pypi-AgEIcHlwaS5vcmc") || has("pypi-AgENdGVzdC5weXBpLm9yZw") {
                found(.pypiToken, "a PyPI token", secret: run, in: text)
            }
        case UInt8(ascii: "e"):
            if length >= 10, has("eyJ"), end < text.count, text[end] == UInt8(ascii: ".") {
                var payloadEnd = end + 1
                while payloadEnd < text.count, Self.isRunByte(text[payloadEnd]) || text[payloadEnd] == UInt8(ascii: "=") { payloadEnd += 1 }
                guard payloadEnd - (end + 1) >= 2 else { return end }
                var tokenEnd = payloadEnd
                if tokenEnd < text.count, text[tokenEnd] == UInt8(ascii: ".") {
                    tokenEnd += 1
                    while tokenEnd < text.count, Self.isRunByte(text[tokenEnd]) || text[tokenEnd] == UInt8(ascii: "=") || text[tokenEnd] == UInt8(ascii: "+") || text[tokenEnd] == UInt8(ascii: "/") { tokenEnd += 1 }
                }
                found(.jwt, "a JSON Web Token", secret: UnsafeBufferPointer(rebasing: text[start..<tokenEnd]), in: text)
                return tokenEnd
            }
        default:
            break
        }
        return end
    }

    private static let privateKeyWords = Array("PRIVATE KEY".utf8)
    private static let gitlabPrefixes: [StaticString] = ["glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "glimt-", "glptt-", "glagent-", "gloas-"]

    /// A 40-character AWS secret access key (`[A-Za-z0-9/+]`) later on the line (a CSV of keys).
    private static func hasAWSSecretRun(_ text: UnsafeBufferPointer<UInt8>, after start: Int) -> Bool {
        var run = 0
        var index = start
        while index < text.count {
            let byte = text[index]
            if (97...122).contains(byte) || (65...90).contains(byte) || (48...57).contains(byte) || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "+") {
                run += 1
            } else {
                if run == 40 { return true }
                run = 0
            }
            index += 1
        }
        return run == 40
    }

    static func looksLikeAWSSecret(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        value.count == 40 && value.allSatisfy { (97...122).contains($0) || (65...90).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "+") }
    }

    /// A key whose text runs over lines: the finding is made now, its digest when the block ends.
    private func openBlock(_ rule: SecretRule, _ what: String, text: UnsafeBufferPointer<UInt8>, from start: Int, endMarker: String) {
        let hash = SHA256()
        let rest = UnsafeBufferPointer(rebasing: text[start...])
        hash.update(UnsafeRawBufferPointer(rest))
        append(SecretFinding(line: line, rule: rule, what: what, secretDigest: [], allowedInline: Self.allowsInline(text)))
        guard findings.last?.line == line, findings.last?.rule == rule else { return }
        // A key written on one line (an escaped PEM in JSON) ends on it.
        let marker = Array(endMarker.utf8)
        if Self.find(marker, in: rest, from: 10) != nil {
            findings[findings.count - 1].secretDigest = hash.finalize()
            return
        }
        block = OpenBlock(finding: findings.count - 1, hash: hash, endMarker: marker, lines: 0)
    }

    /// `scheme://user:password@host`: the user info is looked for within 512 bytes; placeholders
    /// (`${DB_PASSWORD}`) stop it at their brace. Also Slack's incoming webhooks.
    private func checkURL(_ text: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        if Self.hasPrefix(text, at: start, "hooks.slack.com/services/T") {
            var end = start
            while end < text.count, Self.isRunByte(text[end]) || text[end] == UInt8(ascii: "/") || text[end] == UInt8(ascii: ".") { end += 1 }
            found(.slackWebhook, "a Slack webhook URL", secret: UnsafeBufferPointer(rebasing: text[start..<end]), in: text)
            return end
        }
        var index = start
        var at: Int?
        let limit = min(text.count, start + 512)
        while index < limit {
            let byte = text[index]
            if byte == 0x20 || byte == 0x09 || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") || byte == UInt8(ascii: "\"")
                || byte == UInt8(ascii: "'") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}")
                || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "`") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]") {
                break
            }
            if byte == UInt8(ascii: "@") { at = index }
            index += 1
        }
        guard let at else { return index }
        var colon: Int?
        for position in start..<at where text[position] == UInt8(ascii: ":") {
            colon = position
            break
        }
        guard let colon else { return index }
        let password = UnsafeBufferPointer(rebasing: text[(colon + 1)..<at])
        if !password.isEmpty, !BaselinePlaceholder.isPlaceholder(password[...]), !BaselinePlaceholder.isNameInCapitals(password[...]) {
            found(.urlPassword, "a password in a URL", secret: password, in: text)
        }
        return index
    }

    // MARK: - Secret-named keys

    /// `key = value`, `key: value`, `export KEY="value"`, `- key: value` at the start of a line.
    private func scanAssignment(_ text: UnsafeBufferPointer<UInt8>, word: String) {
        var index = 0
        let count = text.count
        while index < count, text[index] == 0x20 || text[index] == 0x09 { index += 1 }
        guard index < count else { return }
        let first = text[index]
        // Comment lines: their tokens count (checked above), their examples of keys do not.
        if first == UInt8(ascii: "#") || first == UInt8(ascii: ";") || first == UInt8(ascii: "!") || first == UInt8(ascii: "[") || first == UInt8(ascii: "<") { return }
        if first == UInt8(ascii: "/"), index + 1 < count, text[index + 1] == UInt8(ascii: "*") { return }
        if first == UInt8(ascii: "-"), index + 1 < count, text[index + 1] == 0x20 {
            index += 2
            while index < count, text[index] == 0x20 { index += 1 }
        }
        if index < count, text[index] == UInt8(ascii: "e"), Self.hasPrefix(text, at: index, "export ") {
            index += 7
            while index < count, text[index] == 0x20 { index += 1 }
        }
        guard index < count else { return }
        let keyColumn = index
        let keyStart: Int
        let keyEnd: Int
        var quotedKey = false
        if text[index] == UInt8(ascii: "\"") || text[index] == UInt8(ascii: "'") {
            let quote = text[index]
            keyStart = index + 1
            var end = keyStart
            while end < count, text[end] != quote, end - keyStart < 256 { end += 1 }
            guard end < count, text[end] == quote else { return }
            keyEnd = end
            index = end + 1
            quotedKey = true
        } else {
            keyStart = index
            var end = index
            let limit = min(count, keyStart + 256)
            keyStops.withUnsafeBufferPointer { stops in
                // Bytes that are no blank, `=` or `:` (most of a key) in one look-up each.
                while end < limit {
                    let byte = text[end]
                    if stops[Int(byte)] != 0 {
                        if byte != UInt8(ascii: ":") { break }
                        if end + 1 >= count || text[end + 1] == 0x20 || text[end + 1] == 0x09 || text[end + 1] == UInt8(ascii: "=") { break }
                    }
                    end += 1
                }
            }
            keyEnd = end
            index = end
        }
        guard keyEnd > keyStart else { return }
        while index < count, text[index] == 0x20 || text[index] == 0x09 { index += 1 }
        guard index < count else { return }
        if text[index] == UInt8(ascii: ":") {
            guard quotedKey || index + 1 >= count || text[index + 1] == 0x20 || text[index + 1] == 0x09 || text[index + 1] == UInt8(ascii: "=") else { return }
            index += 1
            if index < count, text[index] == UInt8(ascii: "=") { index += 1 }
        } else if text[index] == UInt8(ascii: "=") {
            index += 1
        } else {
            return
        }
        let key = UnsafeBufferPointer(rebasing: text[keyStart..<keyEnd])
        guard let noun = BaselineNames.noun(forKey: key) else { return }
        guard let value = Self.value(in: text, from: index, yaml: format == .yaml) else {
            if format == .yaml, yamlBlock == nil, Self.isBlockScalarHeader(text, from: index) {
                yamlBlock = YAMLBlock(keyLine: line, keyColumn: keyColumn, what: "\(noun) (YAML key \"\(BaselineNames.display(ArraySlice(key)))\", block scalar)",
                                      allowedInline: Self.allowsInline(text))
            }
            return
        }
        checkNamed(noun: noun, key: key, value: value, word: word, in: text)
    }

    /// The value after a separator: quoted (to its closing quote), or bare to the line's end
    /// without an inline ` #` comment and trailing blanks or comma. `nil` for a YAML block
    /// scalar or anchor, whose value is not on this line.
    static func value(in text: UnsafeBufferPointer<UInt8>, from start: Int, yaml: Bool) -> UnsafeBufferPointer<UInt8>? {
        var index = start
        let count = text.count
        while index < count, text[index] == 0x20 || text[index] == 0x09 { index += 1 }
        guard index < count else { return UnsafeBufferPointer(rebasing: text[index..<index]) }
        let first = text[index]
        if first == UInt8(ascii: "\"") || first == UInt8(ascii: "'") {
            var end = index + 1
            while end < count, text[end] != first {
                if text[end] == UInt8(ascii: "\\"), first == UInt8(ascii: "\"") { end += 1 }
                end += 1
            }
            return UnsafeBufferPointer(rebasing: text[(index + 1)..<min(end, count)])
        }
        // A structure opens (JSON or a flow collection read as lines): its values are not here.
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") { return nil }
        if yaml, first == UInt8(ascii: "|") || first == UInt8(ascii: ">") || first == UInt8(ascii: "&") || first == UInt8(ascii: "*") || first == UInt8(ascii: "!") {
            return nil
        }
        var end = index
        while end < count {
            if text[end] == UInt8(ascii: "#"), text[end - 1] == 0x20 || text[end - 1] == 0x09 { break }
            end += 1
        }
        while end > index, text[end - 1] == 0x20 || text[end - 1] == 0x09 || text[end - 1] == UInt8(ascii: ",") || text[end - 1] == UInt8(ascii: ";") { end -= 1 }
        return UnsafeBufferPointer(rebasing: text[index..<end])
    }

    /// `|` or `>`, then chomping (`-`, `+`) and indentation (a digit) indicators in any order,
    /// then blanks and an optional comment: a block scalar's header, its value on the lines below.
    static func isBlockScalarHeader(_ text: UnsafeBufferPointer<UInt8>, from start: Int) -> Bool {
        var index = start
        let count = text.count
        while index < count, text[index] == 0x20 || text[index] == 0x09 { index += 1 }
        guard index < count, text[index] == UInt8(ascii: "|") || text[index] == UInt8(ascii: ">") else { return false }
        index += 1
        var indicators = 0
        while index < count, indicators < 2, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") || (49...57).contains(text[index]) {
            index += 1
            indicators += 1
        }
        guard index == count || text[index] == 0x20 || text[index] == 0x09 else { return false }
        while index < count, text[index] == 0x20 || text[index] == 0x09 { index += 1 }
        return index == count || text[index] == UInt8(ascii: "#")
    }

    /// A line after a block scalar's header: more of its value, or (indented no deeper than the
    /// key and not blank) the end of it, and then an ordinary line.
    private func continueYAMLBlock(_ text: UnsafeBufferPointer<UInt8>) {
        guard var open = yamlBlock else { return }
        var indentation = 0
        while indentation < text.count, text[indentation] == 0x20 { indentation += 1 }
        var rest = indentation
        while rest < text.count, text[rest] == 0x20 || text[rest] == 0x09 { rest += 1 }
        if rest < text.count {
            guard indentation > open.keyColumn, open.lines < 10_000 else {
                closeYAMLBlock()
                return
            }
            if open.indentation == nil { open.indentation = indentation }
            let content = UnsafeBufferPointer(rebasing: text[min(indentation, open.indentation!)...])
            open.hash.update(UnsafeRawBufferPointer(content))
            if open.onlyPlaceholders, !BaselinePlaceholder.isPlaceholder(content[...]) { open.onlyPlaceholders = false }
        }
        open.hash.update(CollectionOfOne(UInt8(0x0A)))
        open.lines += 1
        yamlBlock = open
    }

    /// Ends a block scalar: its finding, unless it held only placeholders.
    private func closeYAMLBlock() {
        guard let open = yamlBlock else { return }
        yamlBlock = nil
        guard !open.onlyPlaceholders else { return }
        append(SecretFinding(line: open.keyLine, rule: .namedValue, what: open.what, secretDigest: open.hash.finalize(), allowedInline: open.allowedInline))
    }

    private func checkNamed(noun: String, key: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>, word: String, in text: UnsafeBufferPointer<UInt8>) {
        guard !BaselinePlaceholder.isPlaceholder(value[...]) else { return }
        if noun.hasPrefix("an AWS secret"), Self.looksLikeAWSSecret(value) { awsSecretLines.append(line) }
        found(.namedValue, "\(noun) (\(word) \"\(BaselineNames.display(ArraySlice(key)))\")", secret: value, in: text)
    }

    /// `name="value"` attributes anywhere on the line and a `<name>value</name>` element.
    private func scanXML(_ text: UnsafeBufferPointer<UInt8>) {
        let count = text.count
        var index = 0
        while index < count {
            let byte = text[index]
            // Most bytes are neither `=` nor `<`: one look-up each.
            guard markupBytes[Int(byte)] != 0 else {
                index += 1
                continue
            }
            if byte == UInt8(ascii: "="), index + 1 < count, text[index + 1] == UInt8(ascii: "\"") || text[index + 1] == UInt8(ascii: "'") {
                var nameStart = index
                while nameStart > 0, index - nameStart < 128, Self.isXMLNameByte(text[nameStart - 1]) { nameStart -= 1 }
                let quote = text[index + 1]
                var end = index + 2
                while end < count, text[end] != quote { end += 1 }
                if nameStart < index, let noun = BaselineNames.noun(forKey: UnsafeBufferPointer(rebasing: text[nameStart..<index])) {
                    checkNamed(noun: noun, key: UnsafeBufferPointer(rebasing: text[nameStart..<index]), value: UnsafeBufferPointer(rebasing: text[(index + 2)..<min(end, count)]), word: "XML attribute", in: text)
                }
                index = end + 1
                continue
            }
            if byte == UInt8(ascii: "<"), index + 1 < count, Self.isXMLNameByte(text[index + 1]) {
                var nameEnd = index + 1
                while nameEnd < count, nameEnd - index < 128, Self.isXMLNameByte(text[nameEnd]) { nameEnd += 1 }
                if nameEnd < count, text[nameEnd] == UInt8(ascii: ">") {
                    let name = UnsafeBufferPointer(rebasing: text[(index + 1)..<nameEnd])
                    var close = nameEnd + 1
                    while close < count, text[close] != UInt8(ascii: "<") { close += 1 }
                    if close + 1 < count, text[close + 1] == UInt8(ascii: "/"), let noun = BaselineNames.noun(forKey: name) {
                        checkNamed(noun: noun, key: name, value: UnsafeBufferPointer(rebasing: text[(nameEnd + 1)..<close]), word: "XML element", in: text)
                    }
                    index = close
                    continue
                }
                index = nameEnd
                continue
            }
            index += 1
        }
    }

    static func isXMLNameByte(_ byte: UInt8) -> Bool {
        isRunByte(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
    }
}

extension BaselineScanner {
    /// What a config value kiln sets is: an environment variable or a label.
    enum ValueKind: Sendable {
        case environment
        case label

        var word: String {
            switch self {
            case .environment: return "ENV name"
            case .label: return "label"
            }
        }
    }

    /// The findings in one `Env` or `Labels` entry kiln would set: a secret-named key with a
    /// value that is not a placeholder, or a token in the value.
    static func scan(key: String, value: String, kind: ValueKind) -> [SecretFinding] {
        let scanner = BaselineScanner(format: .keyValue)
        let keyBytes = Array(key.utf8)
        let valueBytes = Array(value.utf8.prefix(maximumLineLength))
        valueBytes.withUnsafeBufferPointer { buffer in
            scanner.scanTokens(buffer)
            if let noun = BaselineNames.noun(forKey: keyBytes[...]) {
                keyBytes.withUnsafeBufferPointer { keyBuffer in
                    scanner.checkNamed(noun: noun, key: keyBuffer, value: buffer, word: kind.word, in: UnsafeBufferPointer(start: nil, count: 0))
                }
            }
        }
        // A value has no lines: the finding is named by where the value was set.
        return scanner.finish().map { finding in
            var finding = finding
            finding.line = 0
            return finding
        }
    }
}
/// Which key names say their value is a secret, and how a finding names it.
enum BaselineNames {
    /// The words a secret-named key ends with (compared on the key lowercased, letters and digits
    /// only, so `spring.datasource.password`, `KONG_PG_PASSWORD` and `clientSecret` all match),
    /// with what a finding calls the value. Longest first: the first match wins.
    private static let endings: [(ending: String, noun: String)] = [
        ("secretaccesskey", "an AWS secret access key"),
        ("clientsecret", "a client secret"),
        ("privatekey", "a private key"),
        ("passphrase", "a passphrase"),
        ("credentials", "credentials"),
        ("credential", "a credential"),
        ("secretkey", "a secret key"),
        ("password", "a password"),
        ("passwd", "a password"),
        ("storepass", "a password"),
        ("keypass", "a password"),
        ("apikey", "an API key"),
        ("secret", "a secret"),
        ("token", "a token"),
        ("pwd", "a password"),
    ]
    /// An ending packed as the tail of a key is (``Tail``): compared in two word operations.
    /// (Its noun stays in ``endings``: no reference counting while comparing.)
    private struct PackedEnding {
        var low: UInt64
        var high: UInt64
        var lowMask: UInt64
        var highMask: UInt64
    }

    private static let packedEndings: [PackedEnding] = endings.map { entry in
        let tail = Tail(normalized: Array(entry.ending.utf8))
        let count = entry.ending.utf8.count
        let lowMask: UInt64 = count >= 8 ? ~0 : (1 << (8 * UInt64(count))) - 1
        let highMask: UInt64 = count >= 16 ? ~0 : count <= 8 ? 0 : (1 << (8 * UInt64(count - 8))) - 1
        return PackedEnding(low: tail.low, high: tail.high, lowMask: lowMask, highMask: highMask)
    }

    /// The last 16 letters and digits of a key, lowercased, last one in the lowest byte
    /// (nothing else of the key counts for an ending): every ending is checked against it with
    /// two masked compares, no loop per ending.
    private struct Tail {
        var low: UInt64 = 0
        var high: UInt64 = 0
        /// Letters and digits packed (at most 16).
        var count = 0
        /// Whether the key has more letters and digits than were packed.
        var more = false

        init(normalized bytes: [UInt8]) {
            for byte in bytes.reversed() { push(byte) }
        }

        init(key: UnsafeBufferPointer<UInt8>, end: Int) {
            var index = end
            while index > 0 {
                index -= 1
                let byte = key[index]
                guard BaselineNames.isAlphanumeric(byte) else { continue }
                if count == 16 {
                    more = true
                    return
                }
                push(BaselineNames.lower(byte))
            }
        }

        @inline(__always) mutating func push(_ byte: UInt8) {
            if count < 8 { low |= UInt64(byte) << (8 * UInt64(count)) } else { high |= UInt64(byte) << (8 * UInt64(count - 8)) }
            count += 1
        }

        @inline(__always) func endsWith(_ ending: PackedEnding) -> Bool {
            low & ending.lowMask == ending.low && high & ending.highMask == ending.high
        }

        /// Whether the key's letters and digits are exactly `word`.
        @inline(__always) func isExactly(_ word: Tail) -> Bool {
            !more && count == word.count && high == word.high && low == word.low
        }
    }

    /// The indices in ``endings`` of the endings whose last four letters (or three, for `pwd`)
    /// are `tail4`, the last four letters or digits of a key lowercased and packed as ``Tail``
    /// packs them (the last in the lowest byte); `nil` when the key cannot name a secret, not
    /// even by `pass`, `pw` or `_auth` (an empty range when only those may): a few compares,
    /// so nearly every key is done without looking further.
    @inline(__always) private static func endingsEndingLike(_ tail4: UInt32) -> Range<Int>? {
        @inline(__always) func word(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> UInt32 {
            UInt32(d) | UInt32(c) << 8 | UInt32(b) << 16 | UInt32(a) << 24
        }
        switch tail4 {
        case word(0x73, 0x6B, 0x65, 0x79): return 0..<1 // skey: secretaccesskey
        case word(0x63, 0x72, 0x65, 0x74): return 1..<13 // cret: clientsecret, secret (the others between cannot match)
        case word(0x65, 0x6B, 0x65, 0x79): return 2..<3 // ekey: privatekey
        case word(0x72, 0x61, 0x73, 0x65): return 3..<4 // rase: passphrase
        case word(0x69, 0x61, 0x6C, 0x73): return 4..<5 // ials: credentials
        case word(0x74, 0x69, 0x61, 0x6C): return 5..<6 // tial: credential
        case word(0x74, 0x6B, 0x65, 0x79): return 6..<7 // tkey: secretkey
        case word(0x77, 0x6F, 0x72, 0x64): return 7..<8 // word: password
        case word(0x73, 0x73, 0x77, 0x64): return 8..<9 // sswd: passwd
        case word(0x70, 0x61, 0x73, 0x73): return 9..<11 // pass: storepass, keypass (and pass)
        case word(0x69, 0x6B, 0x65, 0x79): return 11..<12 // ikey: apikey
        case word(0x6F, 0x6B, 0x65, 0x6E): return 13..<14 // oken: token
        case word(0x61, 0x75, 0x74, 0x68): return 0..<0 // auth: _auth
        default:
            if tail4 & 0xFF_FFFF == 0x70_7764 { return 14..<15 } // pwd
            if tail4 & 0xFFFF == 0x7077 { return 0..<0 } // pw
            return nil
        }
    }

    private static let pwdWord = Tail(normalized: Array("pwd".utf8))
    private static let oldpwdWord = Tail(normalized: Array("oldpwd".utf8))
    private static let secretWord = Tail(normalized: Array("secret".utf8))

    static func noun(forKey key: ArraySlice<UInt8>) -> String? {
        key.withUnsafeBufferPointer { noun(forKey: $0) }
    }

    /// What the value of `key` is when the name says it is secret, else `nil`. Called for the
    /// key of nearly every line of a config file: no allocation, most keys rejected by their
    /// last letters, the others by comparing packed words. A secret word followed by a number or
    /// a qualifier counts too (`password2`, `admin_password_2`, `PASSWORD_OLD`, `token.new`).
    static func noun(forKey key: UnsafeBufferPointer<UInt8>) -> String? {
        if let noun = nounOfLastWord(key) { return noun }
        guard let end = endWithoutQualifier(key), end > 0 else { return nil }
        return nounOfLastWord(UnsafeBufferPointer(rebasing: key[..<end]))
    }

    /// Qualifiers of a secret that leave it a secret: the last segment of `admin_password_old`.
    private static let qualifiers: [[UInt8]] = ["old", "new", "prev", "previous", "current", "next", "backup", "bak",
                                                "orig", "original", "plain", "plaintext", "cleartext"].map { Array($0.utf8) }

    /// Where `key` ends without its trailing number (`password2`, `password_1`) or its last
    /// segment when that is a qualifier (`_old`, `.new`), separators before either dropped;
    /// `nil` when it has neither (nearly every key: one look at its last byte or segment).
    private static func endWithoutQualifier(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        @inline(__always) func isSeparator(_ byte: UInt8) -> Bool { byte == 0x2E || byte == 0x5F || byte == 0x2D }
        var end = key.count
        if end > 0, (48...57).contains(key[end - 1]) {
            while end > 0, (48...57).contains(key[end - 1]) { end -= 1 }
        } else {
            // The last segment, if short enough to be a qualifier.
            var start = end
            while start > 0, end - start <= 9, !isSeparator(key[start - 1]) { start -= 1 }
            guard start > 0, end - start >= 3, end - start <= 9 else { return nil }
            let length = end - start
            let isQualifier = qualifiers.contains { word in
                word.count == length && word.indices.allSatisfy { word[$0] == lower(key[start + $0]) }
            }
            guard isQualifier else { return nil }
            end = start
        }
        while end > 0, isSeparator(key[end - 1]) { end -= 1 }
        return end
    }

    private static func nounOfLastWord(_ key: UnsafeBufferPointer<UInt8>) -> String? {
        guard !key.isEmpty, key.count <= 256, let base = key.baseAddress else { return nil }
        // The last four letters and digits, lowercased: no ending fits most keys.
        var end = key.count
        while end > 0, !isAlphanumeric(base[end - 1]) { end -= 1 }
        guard end > 1 else { return nil }
        var tail4: UInt32 = 0
        var packed = 0
        var index = end
        while index > 0, packed < 4 {
            index -= 1
            let byte = base[index]
            guard isAlphanumeric(byte) else { continue }
            tail4 |= UInt32(lower(byte)) << (8 * UInt32(packed))
            packed += 1
        }
        guard let candidates = endingsEndingLike(tail4) else { return nil }
        let tail = Tail(key: key, end: end)
        // "pwd", "oldpwd" (shells' working directory), "secret" (Keycloak's client `secret`).
        if tail.isExactly(pwdWord) || tail.isExactly(oldpwdWord) { return nil }
        if tail.isExactly(secretWord) { return "a client secret" }
        // Only the endings with these last letters can match (in ``endings`` order).
        let found: Int? = packedEndings.withUnsafeBufferPointer { packed in
            for index in candidates where tail.endsWith(packed[index]) { return index }
            return nil
        }
        if let found { return endings[found].noun }
        // Whole last segments that name a secret alone (`db_pass`, `pw`), and npm's `_auth`
        // (base64 of user:password, also as `//registry/:_auth`).
        let count = key.count
        @inline(__always) func isSeparator(_ byte: UInt8) -> Bool {
            byte == 0x2E || byte == 0x5F || byte == 0x2D || byte == 0x3A || byte == 0x2F || byte == 0x20
        }
        if count >= 4, count == 4 || isSeparator(key[count - 5]), lower(key[count - 4]) == 0x70, lower(key[count - 3]) == 0x61,
           lower(key[count - 2]) == 0x73, lower(key[count - 1]) == 0x73 { return "a password" }
        if count >= 2, count == 2 || isSeparator(key[count - 3]), lower(key[count - 2]) == 0x70, lower(key[count - 1]) == 0x77 { return "a password" }
        if key.count >= 5, key[key.count - 5] == 0x5F, lower(key[key.count - 4]) == 0x61, lower(key[key.count - 3]) == 0x75,
           lower(key[key.count - 2]) == 0x74, lower(key[key.count - 1]) == 0x68 { return "credentials" }
        return nil
    }


    @inline(__always) static func lower(_ byte: UInt8) -> UInt8 { (65...90).contains(byte) ? byte + 32 : byte }
    @inline(__always) static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (97...122).contains(byte) || (65...90).contains(byte) || (48...57).contains(byte)
    }

    /// A key as a finding shows it: at most 64 characters, printable ASCII only.
    static func display(_ key: ArraySlice<UInt8>) -> String {
        var bytes = key.prefix(64).map { ($0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"")) ? $0 : UInt8(ascii: "?") }
        if key.count > 64 { bytes += Array("…".utf8) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Reads JSON by structure, as far as finding secrets needs: which key each string value sits
/// under (also inside arrays: `"privateKey": ["MIIE…"]`) and whether it is inside a Keycloak
/// `credentials` array (`credentials[].value`, `secretData`). Streaming, byte by byte, never
/// recursive: the nesting kept is bounded (deeper levels are counted, not kept), strings are
/// kept up to ``maximumString`` bytes (longer ones are hashed over what was kept). It does not
/// validate JSON: bad JSON gives fewer structural findings, never a crash.
struct BaselineJSONLexer {
    static let maximumDepth = 256
    static let maximumString = 64 * 1024

    private struct Frame {
        var isArray: Bool
        /// The key this container is the value of (an array's strings are its values).
        var key: [UInt8]?
        var inCredentials: Bool
    }

    private var frames: [Frame] = []
    private var deeper = 0
    private var inString = false
    private var escaped = false
    private var string: [UInt8] = []
    private var stringLine = 1
    private var line = 1
    /// The last string of an object that may be a key (it is one when a `:` follows); buffers
    /// reused from string to string.
    private var candidateKey: [UInt8] = []
    private var hasCandidateKey = false
    private var currentKey: [UInt8] = []
    private var hasCurrentKey = false
    private var afterColon = false

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, report: (SecretFinding) -> Void) {
        var index = 0
        let count = bytes.count
        while index < count {
            if inString {
                // The run of plain string bytes, kept in one append.
                var end = index
                if !escaped {
                    while end < count {
                        let byte = bytes[end]
                        if byte == 0x22 || byte == 0x5C || byte == 0x0A { break }
                        end += 1
                    }
                    if end > index, string.count < Self.maximumString {
                        let room = Self.maximumString - string.count
                        string.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<min(end, index + room)]))
                    }
                    index = end
                    guard index < count else { break }
                }
                let byte = bytes[index]
                index += 1
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    endString(report: report)
                    continue
                }
                if byte == 0x0A { line += 1 }
                if string.count < Self.maximumString { string.append(byte) }
                continue
            }
            let byte = bytes[index]
            index += 1
            switch byte {
            case 0x0A:
                line += 1
            case UInt8(ascii: "\""):
                inString = true
                string.removeAll(keepingCapacity: true)
                stringLine = line
            case UInt8(ascii: ":"):
                if let top = frames.last, !top.isArray, deeper == 0, hasCandidateKey {
                    swap(&currentKey, &candidateKey)
                    hasCurrentKey = true
                    afterColon = true
                }
                hasCandidateKey = false
            case UInt8(ascii: ","):
                afterColon = false
                hasCandidateKey = false
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let parent = frames.last
                var key: [UInt8]?
                if let parent { key = parent.isArray ? parent.key : (afterColon && hasCurrentKey ? currentKey : nil) }
                let inCredentials = (parent?.inCredentials ?? false) || key.map { Self.lowercased($0) == Self.credentialsWord } == true
                if frames.count < Self.maximumDepth && deeper == 0 {
                    frames.append(Frame(isArray: byte == UInt8(ascii: "["), key: key, inCredentials: inCredentials))
                } else {
                    deeper += 1
                }
                afterColon = false
                hasCandidateKey = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if deeper > 0 { deeper -= 1 } else if !frames.isEmpty { frames.removeLast() }
                afterColon = false
                hasCandidateKey = false
            default:
                break
            }
        }
    }

    private static let credentialsWord = Array("credentials".utf8)
    private static let credentialWords = [Array("value".utf8), Array("secretdata".utf8), Array("hashedsaltedvalue".utf8)]

    private mutating func endString(report: (SecretFinding) -> Void) {
        guard deeper == 0, let top = frames.last else { return }
        if !top.isArray, !afterColon {
            candidateKey.removeAll(keepingCapacity: true)
            candidateKey.append(contentsOf: string.prefix(256))
            hasCandidateKey = true
            return
        }
        let key: [UInt8]
        if top.isArray {
            guard let arrayKey = top.key else { return }
            key = arrayKey
        } else {
            afterColon = false
            guard hasCurrentKey else { return }
            key = currentKey
        }
        let what: String
        if let noun = BaselineNames.noun(forKey: key[...]) {
            guard !BaselinePlaceholder.isPlaceholder(string[...]) else { return }
            what = "\(noun) (JSON key \"\(BaselineNames.display(key[...]))\")"
        } else if top.inCredentials, Self.credentialWords.contains(Self.lowercased(key)) {
            guard !BaselinePlaceholder.isPlaceholder(string[...]) else { return }
            what = "a user credential (JSON key \"\(BaselineNames.display(key[...]))\" in \"credentials\")"
        } else {
            return
        }
        report(SecretFinding(line: stringLine, rule: .namedValue, what: what, secretDigest: SHA256.hash(string)))
    }

    func finish(report: (SecretFinding) -> Void) {}

    static func lowercased(_ bytes: [UInt8]) -> [UInt8] { bytes.map { (65...90).contains($0) ? $0 + 32 : $0 } }
}
/// Values that stand for a secret supplied later, which are not secrets themselves: empty,
/// `${VAR}` (with defaults, nested), `$VAR`, `{{ … }}`, `%(x)s`, `<…>`, `***`, `null` and the
/// other spellings of nothing or of a flag.
enum BaselinePlaceholder {
    // Generic over the bytes' collection (an array's slice, a slice of the scanned buffer, with
    // absolute indices) so the scanner checks a value where it lies, without copying it.
    /// Whether `value` (quotes already removed) is nothing but placeholders and blanks.
    static func isPlaceholder<Bytes: RandomAccessCollection>(_ value: Bytes) -> Bool where Bytes.Element == UInt8, Bytes.Index == Int, Bytes.SubSequence == Bytes {
        let trimmed = trim(value)
        if trimmed.isEmpty { return true }
        if isWord(trimmed) { return true }
        if trimmed.allSatisfy({ $0 == UInt8(ascii: "*") }) { return true }
        if trimmed.first == UInt8(ascii: "<"), trimmed.last == UInt8(ascii: ">"), !trimmed.dropFirst().dropLast().contains(UInt8(ascii: "<")) { return true }
        // Everything else must be placeholder constructs end to end: `${A}${B}`, `{{ x }}`.
        var index = trimmed.startIndex
        while index < trimmed.endIndex {
            guard let next = construct(in: trimmed, at: index) else { return false }
            index = next
            while index < trimmed.endIndex, isBlank(trimmed[index]) { index += 1 }
        }
        return true
    }

    /// The end of the placeholder construct starting at `index`, or `nil` when none starts there.
    /// Linear: each construct is scanned once, nesting is counted, not recursed into.
    private static func construct<Bytes: RandomAccessCollection>(in bytes: Bytes, at index: Int) -> Int? where Bytes.Element == UInt8, Bytes.Index == Int {
        let byte = bytes[index]
        let next = index + 1 < bytes.endIndex ? bytes[index + 1] : 0
        if byte == UInt8(ascii: "$"), next == UInt8(ascii: "{") { return closing(bytes, from: index + 2, open: UInt8(ascii: "{"), close: UInt8(ascii: "}")) }
        if byte == UInt8(ascii: "$"), next == UInt8(ascii: "(") { return closing(bytes, from: index + 2, open: UInt8(ascii: "("), close: UInt8(ascii: ")")) }
        if byte == UInt8(ascii: "$"), isNameStart(next) {
            var end = index + 2
            while end < bytes.endIndex, isNameByte(bytes[end]) { end += 1 }
            return end
        }
        if byte == UInt8(ascii: "{"), next == UInt8(ascii: "{") {
            var end = index + 2
            while end + 1 < bytes.endIndex {
                if bytes[end] == UInt8(ascii: "}"), bytes[end + 1] == UInt8(ascii: "}") { return end + 2 }
                end += 1
            }
            return nil
        }
        if byte == UInt8(ascii: "%"), next == UInt8(ascii: "(") {
            guard let end = closing(bytes, from: index + 2, open: UInt8(ascii: "("), close: UInt8(ascii: ")")), end < bytes.endIndex,
                  isNameStart(bytes[end]) else { return nil }
            return end + 1
        }
        return nil
    }

    /// A password in a URL that is a name in capitals (`postgres://USER:PASSWORD@HOST/DB`,
    /// `:DB_PASSWORD@`): how documentation writes where a value goes, not a value.
    static func isNameInCapitals<Bytes: RandomAccessCollection>(_ value: Bytes) -> Bool where Bytes.Element == UInt8 {
        !value.isEmpty && value.count <= 40 && value.contains(where: { (65...90).contains($0) })
            && value.allSatisfy { (65...90).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "_") }
    }

    private static func closing<Bytes: RandomAccessCollection>(_ bytes: Bytes, from start: Int, open: UInt8, close: UInt8) -> Int? where Bytes.Element == UInt8, Bytes.Index == Int {
        var depth = 1
        var index = start
        while index < bytes.endIndex {
            if bytes[index] == open { depth += 1 }
            if bytes[index] == close {
                depth -= 1
                if depth == 0 { return index + 1 }
            }
            index += 1
        }
        return nil
    }

    /// null, none, nil, ~, true, false, yes, no, on, off: no secret is spelled like that.
    private static let words: [[UInt8]] = ["null", "none", "nil", "~", "true", "false", "yes", "no", "on", "off", "\"\"", "''"].map { Array($0.utf8) }

    private static func isWord<Bytes: RandomAccessCollection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        guard bytes.count <= 5 else { return false }
        return words.contains { word in
            word.count == bytes.count && zip(word, bytes).allSatisfy { $0 == (($1 >= 65 && $1 <= 90) ? $1 + 32 : $1) }
        }
    }

    static func trim<Bytes: RandomAccessCollection>(_ value: Bytes) -> Bytes where Bytes.Element == UInt8, Bytes.Index == Int, Bytes.SubSequence == Bytes {
        var start = value.startIndex
        var end = value.endIndex
        while start < end, isBlank(value[start]) { start += 1 }
        while end > start, isBlank(value[end - 1]) { end -= 1 }
        return value[start..<end]
    }

    static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D }
    static func isNameStart(_ byte: UInt8) -> Bool { byte == UInt8(ascii: "_") || (65...90).contains(byte) || (97...122).contains(byte) }
    static func isNameByte(_ byte: UInt8) -> Bool { isNameStart(byte) || (48...57).contains(byte) }
}
