import Foundation
import KilnSecrets
import KilnTestSupport
import Testing

/// The scanner finds exactly what it found before it was made faster (``BaselineScanner``, the
/// scanner as it was before the C classifier, kept here; it was itself held to the first
/// implementation the same way): on the corpora, the repository's own inputs and the fuzz
/// seeds, and on random config-like text full of near-misses, in every format and chunk size.
@Suite struct SecretDifferentialTests {
    fileprivate static let formats: [SecretScanner.Format] = [.keyValue, .yaml, .json, .xml]

    fileprivate func fast(_ bytes: [UInt8], _ format: SecretScanner.Format, chunk: Int) -> [SecretFinding] {
        let scanner = SecretScanner(format: format)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunk)
            bytes[start..<end].withUnsafeBytes { scanner.update($0) }
            start = end
        }
        return scanner.finish()
    }

    /// Compares both on one input; `nil` when they agree.
    fileprivate func difference(_ bytes: [UInt8], _ format: SecretScanner.Format, chunk: Int) -> String? {
        let new = fast(bytes, format, chunk: chunk)
        let old = baseline(bytes, format)
        guard new != old else { return nil }
        return "format \(format), chunks of \(chunk): now \(new.map { "\($0.line):\($0.rule.rawValue)" }), before \(old.map { "\($0.line):\($0.rule.rawValue)" })"
    }

    @Test func sameFindingsOnTheCorporaAndTheRepositorysInputs() throws {
        var compared = 0
        for directory in ["Tests/Fixtures/secrets", "overlays", "samples", "examples", "Fuzz/corpus/secrets"] {
            let root = "\(repositoryRoot)/\(directory)"
            guard let names = FileManager.default.enumerator(atPath: root) else { continue }
            while let name = names.nextObject() as? String {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: "\(root)/\(name)", isDirectory: &isDirectory), !isDirectory.boolValue,
                      let data = FileManager.default.contents(atPath: "\(root)/\(name)") else { continue }
                let bytes = Array(data)
                for format in Self.formats {
                    for chunk in [65_536, 7] {
                        let found = difference(bytes, format, chunk: chunk)
                        #expect(found == nil, "\(directory)/\(name): \(found ?? "")")
                    }
                }
                compared += 1
            }
        }
        #expect(compared >= 40)
    }

    /// Random lines made of the pieces rules look for, and of what nearly matches them.
    @Test func sameFindingsOnRandomConfigText() {
        var generator = SeededGenerator(seed: 23)
        let pieces = [
            "password", "pg_password", "spring.datasource.password", "clientSecret", "api-key", "API_KEY", "token", "Token_TTL",
            "secret", "pwd", "oldpwd", "pass", "db_pass", "pw", "_auth", "//registry/:_auth", "credentials", "secretData", "value",
            "passphrase", "storepass", "aws_secret_access_key", "key", "name", "url", "export ", "- ", "  ", "    ", "\t",
            " = ", "=", ": ", ":", " :", "\"", "'", "{", "}", "[", "]", ",", "<", ">", "</", "/>", "<password>", "</password>",
            "${DB_PASSWORD}", "$VAR", "{{ .x }}", "%(pw)s", "<your password>", "***", "null", "~", "true", "|", ">-", "&anchor", "*ref",
            "hunter2hunter2", "s3cr3t-Value", "0f4c2d9e-1a2b", "AKIAABCDEFGHIJKLMNOP", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKE",
            "ghp_0123456789abcdefghijABCDEFGHIJ012345", "ghp_short", "glpat-abcdefghij0123456789", "gl", "gh", "xoxb-1234567890-abcdefghij",
            "sk_live_0123456789abcdefghijABCD", "sk_", "AIzaSyA0123456789abcdefghijABCDEFGHIJ_-", "npm_0123456789abcdefghijABCDEFGHIJabcdef",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "eyJ", "ey", "postgres://app:Sup3r@db/x", "https://user@example.com/", "://", ":/",
            "hooks.slack.com/services/T0123/B0123/abcdefghij", "GOCSPX-0123456789abcdefghijABCDEF", "GR1348941abcdefghij0123456789",
            "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "-----BEGIN CERTIFICATE-----", "--", "-",
            "PuTTY-User-Key-File-3: ssh-rsa", "Private-MAC: 00", "# ", "; ", "// ", "<!-- ", "kiln:allow-secret", "\\", "\\n", "\r",
            "pypi-AgEIcHlwaS5vcmc0123456789012345678901234567890123456789012345678901234567890", "é", "\u{0}",
        ]
        var compared = 0
        for _ in 0..<400 {
            var text = ""
            let lines = Int.random(in: 1...40, using: &generator)
            for _ in 0..<lines {
                for _ in 0..<Int.random(in: 0...8, using: &generator) { text += pieces.randomElement(using: &generator)! }
                text += "\n"
            }
            if Bool.random(using: &generator) { text += String(repeating: "ab", count: Int.random(in: 0...40_000, using: &generator)) }
            let bytes = Array(text.utf8)
            let format = Self.formats.randomElement(using: &generator)!
            let chunk = [1, 3, 64, 4096, 65_536].randomElement(using: &generator)!
            let found = difference(bytes, format, chunk: chunk)
            #expect(found == nil, "\(found ?? ""): \(text.prefix(400).debugDescription)")
            compared += 1
        }
        #expect(compared == 400)
    }
}

extension SecretDifferentialTests {
    /// The scanner as it was before the C classifier (``BaselineScanner``), fed in one piece.
    fileprivate func baseline(_ bytes: [UInt8], _ format: SecretScanner.Format) -> [SecretFinding] {
        let kind: BaselineScanner.Format
        switch format {
        case .keyValue: kind = .keyValue
        case .yaml: kind = .yaml
        case .json: kind = .json
        case .xml: kind = .xml
        }
        return BaselineScanner.scan(bytes, format: kind)
    }

    /// The classifier's blocks and spans: the same random config text shifted by 0 to 70 bytes
    /// (every offset in a 64-byte word), fed in chunks around 16, 32, 64 bytes and the 64 KiB
    /// span, with bytes >= 0x80, NULs (past the 8 KiB that would make the file binary), CRLF,
    /// tabs, and lines longer than a span.
    @Test func sameFindingsAcrossBlockEdgesChunksAndOddBytes() {
        var generator = SeededGenerator(seed: 1664)
        let pieces = [
            "password", "pg_password", "spring.datasource.password", "clientSecret", "api-key", "token", "secret", "pwd", "pass", "pw",
            "_auth", "credentials", "value", "password2", "password_old", "token.new", "Pa55.Word", "key", "name", "url", "export ", "- ",
            "  ", "\t", " = ", "=", ": ", ":", "\"", "'", "{", "}", "[", "]", ",", "<", ">", "</", "/>", "<password>", "</password>",
            " password=\"", "\" ", "${DB_PASSWORD}", "$VAR", "null", "|", "hunter2hunter2", "s3cr3t-Value", "AKIAABCDEFGHIJKLMNOP",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKE", "ghp_0123456789abcdefghijABCDEFGHIJ012345", "glpat-abcdefghij0123456789",
            "xoxb-1234567890-abcdefghij", "sk_live_0123456789abcdefghijABCD", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "ey", "gh",
            "postgres://app:Sup3r@db/x", "https://user@example.com/", "://", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----",
            "# ", "; ", "kiln:allow-secret", "\r", "é", "\u{80}", "\u{FF}", "\u{0}", "\u{7F}",
            "$(cmd)", "${A:-${B}}", "${A", "{{x}}", "{{ y }", "<a<b>", "<x>", "%(pw)s", "%(pw)", "True", "OFF", "NULL", "*", "***",
            ";", ",", " #", "#x", "\\\"", "\"\"", "''", "|-", ">", "&a ", "*r", "!t", "$", "$1", "{", "[", "=:", ":=", " : ",
        ]
        let oddBytes: [[UInt8]] = [[0x80], [0xFF], [0xC3, 0xA9], [0xE1], [0x00], [0x9F, 0x41]]
        let chunks = [15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 4096, 65_535, 65_536, 65_537, 200_000]
        var compared = 0
        var withFindings = 0
        for round in 0..<240 {
            var bytes: [UInt8] = []
            // Past the sniffed head, so that a NUL below is text, not a binary file's mark.
            if round % 2 == 0 { bytes += Array(String(repeating: "# padding line\n", count: 600).utf8) }
            bytes += [UInt8](repeating: UInt8(ascii: "x"), count: Int.random(in: 0...70, using: &generator)) + [0x0A]
            for _ in 0..<Int.random(in: 1...60, using: &generator) {
                for _ in 0..<Int.random(in: 0...8, using: &generator) {
                    if Int.random(in: 0..<12, using: &generator) == 0 {
                        bytes += oddBytes.randomElement(using: &generator)!
                    } else {
                        bytes += Array(pieces.randomElement(using: &generator)!.utf8)
                    }
                }
                bytes += Bool.random(using: &generator) ? [0x0A] : [0x0D, 0x0A]
            }
            if round % 5 == 0 { bytes += Array(String(repeating: "pw", count: Int.random(in: 30_000...70_000, using: &generator)).utf8) + Array(" = hunter2hunter2\n".utf8) }
            let format = Self.formats[round % Self.formats.count]
            let chunk = chunks.randomElement(using: &generator)!
            let now = fast(bytes, format, chunk: chunk)
            let before = baseline(bytes, format)
            #expect(now == before, "format \(format), chunks of \(chunk): now \(now.map { "\($0.line):\($0.rule.rawValue)" }), before \(before.map { "\($0.line):\($0.rule.rawValue)" }): \(bytes.prefix(300))")
            if !before.isEmpty { withFindings += 1 }
            compared += 1
        }
        #expect(compared == 240)
        #expect(withFindings >= 120)
    }
}

/// A small deterministic generator (SplitMix64): the same random inputs on every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1330_11EB
        return z ^ (z >> 31)
    }
}
