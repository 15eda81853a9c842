import KilnCrypto

/// Reads JSON by structure, as far as finding secrets needs: which key each string value sits
/// under (also inside arrays: `"privateKey": ["MIIE…"]`) and whether it is inside a Keycloak
/// `credentials` array (`credentials[].value`, `secretData`). Streaming, byte by byte, never
/// recursive: the nesting kept is bounded (deeper levels are counted, not kept), strings are
/// kept up to ``maximumString`` bytes (longer ones are hashed over what was kept). It does not
/// validate JSON: bad JSON gives fewer structural findings, never a crash.
struct JSONSecretLexer {
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

    /// Reads the next bytes, with the classifier's marks on them (``ChunkMaps``): `"`, `\\` and
    /// newlines in `stringStops`, `:` `,` `{` `}` `[` `]` in `structure`.
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, stringStops: UnsafeMutablePointer<UInt64>, structure: UnsafeMutablePointer<UInt64>,
                       report: (SecretFinding) -> Void) {
        var index = 0
        let count = bytes.count
        while index < count {
            if inString {
                // The run of plain string bytes (to the next marked quote, backslash or
                // newline), kept in one append.
                var end = index
                if !escaped {
                    end = ChunkMaps.first(stringStops, from: index, to: count)
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
            // Outside strings only quotes, newlines and the structure count: the bytes between
            // (blanks, numbers, literals) are passed over.
            index = ChunkMaps.first(stringStops, or: structure, from: index, to: count)
            guard index < count else { break }
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
        if let noun = SecretNames.noun(forKey: key[...]) {
            guard !Placeholder.isPlaceholder(string[...]) else { return }
            what = "\(noun) (JSON key \"\(SecretNames.display(key[...]))\")"
        } else if top.inCredentials, Self.credentialWords.contains(Self.lowercased(key)) {
            guard !Placeholder.isPlaceholder(string[...]) else { return }
            what = "a user credential (JSON key \"\(SecretNames.display(key[...]))\" in \"credentials\")"
        } else {
            return
        }
        report(SecretFinding(line: stringLine, rule: .namedValue, what: what, secretDigest: SHA256.hash(string)))
    }

    func finish(report: (SecretFinding) -> Void) {}

    static func lowercased(_ bytes: [UInt8]) -> [UInt8] { bytes.map { (65...90).contains($0) ? $0 + 32 : $0 } }
}
