import Foundation
import KilnSecrets
import KilnTestSupport
import Testing

/// The scanner finds exactly what it found before it was made faster (``ReferenceScanner``, the
/// earlier implementation kept here): on the corpora, the repository's own inputs and the fuzz
/// seeds, and on random config-like text full of near-misses, in every format and chunk size.
/// The one intended difference: YAML block scalars, which the earlier scanner did not read.
@Suite struct SecretDifferentialTests {
    private static let formats: [SecretScanner.Format] = [.keyValue, .yaml, .json, .xml]

    private func fast(_ bytes: [UInt8], _ format: SecretScanner.Format, chunk: Int) -> [SecretFinding] {
        let scanner = SecretScanner(format: format)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunk)
            bytes[start..<end].withUnsafeBytes { scanner.update($0) }
            start = end
        }
        return scanner.finish()
    }

    private func reference(_ bytes: [UInt8], _ format: SecretScanner.Format) -> [SecretFinding] {
        let kind: ReferenceScanner.Format
        switch format {
        case .keyValue: kind = .keyValue
        case .yaml: kind = .yaml
        case .json: kind = .json
        case .xml: kind = .xml
        }
        return ReferenceScanner.scan(bytes, format: kind)
    }

    /// Compares both on one input; `nil` when they agree.
    private func difference(_ bytes: [UInt8], _ format: SecretScanner.Format, chunk: Int) -> String? {
        let new = fast(bytes, format, chunk: chunk)
        let old = reference(bytes, format)
        // Block scalars are new: without them, the findings are the same, in the same order.
        let comparable = new.filter { !$0.what.contains("block scalar") }
        guard comparable != old else { return nil }
        return "format \(format), chunks of \(chunk): now \(comparable.map { "\($0.line):\($0.rule.rawValue)" }), before \(old.map { "\($0.line):\($0.rule.rawValue)" })"
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
