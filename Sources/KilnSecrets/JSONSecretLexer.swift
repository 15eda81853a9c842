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
    /// The last string of an object that may be a key (it is one when a `:` follows).
    private var candidateKey: [UInt8]?
    private var currentKey: [UInt8]?
    private var afterColon = false

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, report: (SecretFinding) -> Void) {
        for byte in bytes {
            if inString {
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
            switch byte {
            case 0x0A:
                line += 1
            case UInt8(ascii: "\""):
                inString = true
                string.removeAll(keepingCapacity: true)
                stringLine = line
            case UInt8(ascii: ":"):
                if let top = frames.last, !top.isArray, deeper == 0 {
                    currentKey = candidateKey
                    afterColon = true
                }
                candidateKey = nil
            case UInt8(ascii: ","):
                afterColon = false
                candidateKey = nil
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let parent = frames.last
                let key = parent.map { $0.isArray ? $0.key : (afterColon ? currentKey : nil) } ?? nil
                let inCredentials = (parent?.inCredentials ?? false) || key.map { Self.lowercased($0) == Array("credentials".utf8) } == true
                if frames.count < Self.maximumDepth && deeper == 0 {
                    frames.append(Frame(isArray: byte == UInt8(ascii: "["), key: key, inCredentials: inCredentials))
                } else {
                    deeper += 1
                }
                afterColon = false
                candidateKey = nil
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if deeper > 0 { deeper -= 1 } else if !frames.isEmpty { frames.removeLast() }
                afterColon = false
                candidateKey = nil
            default:
                break
            }
        }
    }

    private mutating func endString(report: (SecretFinding) -> Void) {
        guard deeper == 0, let top = frames.last else { return }
        if !top.isArray, !afterColon {
            candidateKey = Array(string.prefix(256))
            return
        }
        let key = top.isArray ? top.key : currentKey
        if !top.isArray { afterColon = false }
        guard let key else { return }
        guard !Placeholder.isPlaceholder(string[...]) else { return }
        let what: String
        let lower = Self.lowercased(key)
        if top.inCredentials, lower == Array("value".utf8) || lower == Array("secretdata".utf8) || lower == Array("hashedsaltedvalue".utf8) {
            what = "a user credential (JSON key \"\(SecretNames.display(key[...]))\" in \"credentials\")"
        } else if let noun = SecretNames.noun(forKey: key[...]) {
            what = "\(noun) (JSON key \"\(SecretNames.display(key[...]))\")"
        } else {
            return
        }
        report(SecretFinding(line: stringLine, rule: .namedValue, what: what, secretDigest: SHA256.hash(string)))
    }

    func finish(report: (SecretFinding) -> Void) {}

    static func lowercased(_ bytes: [UInt8]) -> [UInt8] { bytes.map { (65...90).contains($0) ? $0 + 32 : $0 } }
}
