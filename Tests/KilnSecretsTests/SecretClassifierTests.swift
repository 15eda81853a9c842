import CSecretScan
@testable import KilnSecrets
import Testing

/// The C classifier (`CSecretScan`) under the scanner: its vector code (SSE2 or AVX2 here, NEON
/// on arm64) marks exactly what its plain C does, on every length around the 16-, 32- and
/// 64-byte blocks and with bytes a signed compare could take for others (>= 0x80, NUL); its
/// marks mean what the scanner relies on; and the line marks never leave out a key that
/// ``SecretNames`` would take.
@Suite struct SecretClassifierTests {
    /// The maps of `bytes`: newlines, tokens, strings, structure, blanks, key stops, alphanumerics,
    /// separators, markup.
    private func maps(_ bytes: [UInt8], portable: Bool) -> [[UInt64]] {
        let words = max((bytes.count + 63) / 64, 1)
        // Nine maps in one buffer, filled with a pattern the classifier must overwrite.
        let storage = UnsafeMutablePointer<UInt64>.allocate(capacity: 9 * words)
        defer { storage.deallocate() }
        storage.initialize(repeating: 0xDEAD_BEEF, count: 9 * words)
        func map(_ index: Int) -> UnsafeMutablePointer<UInt64> { storage + index * words }
        var maps = kiln_secret_maps(
            newlines: map(0), tokens: map(1), json_string_stops: map(2), json_structure: map(3), blanks: map(4),
            key_stops: map(5), alphanumerics: map(6), separators: map(7), markup: map(8)
        )
        bytes.withUnsafeBufferPointer { text in
            if portable {
                kiln_secret_classify_portable(text.baseAddress, text.count, &maps)
            } else {
                kiln_secret_classify(text.baseAddress, text.count, &maps)
            }
        }
        let used = (bytes.count + 63) / 64
        return (0..<9).map { Array(UnsafeBufferPointer(start: map($0), count: used)) }
    }

    private static func bit(_ map: [UInt64], _ position: Int) -> Bool { (map[position / 64] >> UInt64(position % 64)) & 1 == 1 }

    private static let alphabet: [UInt8] = Array("aAzZ09_-.:/\n\r\t =<>\"'\\,{}[]@`#;!eyghskPuGOA3xonpr".utf8) + [0x00, 0x7F, 0x80, 0x9F, 0xC3, 0xE1, 0xFF]

    private func randomBytes(_ count: Int, using generator: inout SeededGenerator) -> [UInt8] {
        (0..<count).map { _ in
            Bool.random(using: &generator) && Int.random(in: 0..<4, using: &generator) == 0
                ? UInt8.random(in: 0...255, using: &generator) : Self.alphabet.randomElement(using: &generator)!
        }
    }

    @Test func vectorCodeMarksWhatPlainCodeMarks() {
        var generator = SeededGenerator(seed: 64)
        var lengths = Array(0...200)
        for edge in [256, 1023, 1024, 4095, 4096, 65_535, 65_536] { lengths += [edge - 1, edge, edge + 1] }
        for length in lengths {
            for _ in 0..<3 {
                let bytes = randomBytes(length, using: &generator)
                let vector = maps(bytes, portable: false)
                let plain = maps(bytes, portable: true)
                #expect(vector == plain, "length \(length), \(String(cString: kiln_secret_classifier())): \(bytes.prefix(80))")
            }
        }
    }

    /// Every byte of every value at every offset in a block (and each byte pair across one).
    @Test func everyByteAtEveryBlockOffset() {
        for byte in 0...255 {
            let bytes = [UInt8](repeating: UInt8(byte), count: 130) + [UInt8(byte), 0x2F, UInt8(byte)]
            #expect(maps(bytes, portable: false) == maps(bytes, portable: true), "byte \(byte)")
            let classes = maps(bytes, portable: true)
            let isRun = (97...122).contains(byte) || (65...90).contains(byte) || (48...57).contains(byte) || byte == 0x5F || byte == 0x2D
            for position in [0, 15, 16, 31, 32, 63, 64, 127] {
                #expect(Self.bit(classes[0], position) == (byte == 0x0A))
                #expect(Self.bit(classes[2], position) == (byte == 0x22 || byte == 0x5C || byte == 0x0A))
                #expect(Self.bit(classes[3], position) == [0x3A, 0x2C, 0x7B, 0x7D, 0x5B, 0x5D].contains(byte))
                #expect(Self.bit(classes[4], position) == (byte == 0x20 || byte == 0x09))
                #expect(Self.bit(classes[5], position) == [0x20, 0x09, 0x3D, 0x3A].contains(byte))
                #expect(Self.bit(classes[6], position) == (isRun && byte != 0x5F && byte != 0x2D))
                #expect(Self.bit(classes[7], position) == (byte == 0x2E || byte == 0x5F || byte == 0x2D))
                #expect(Self.bit(classes[8], position) == (byte == 0x3D || byte == 0x3C))
            }
        }
    }

    /// A token mark wherever the scanner's token pass would look further: a rule's first pair
    /// at the start of a run of four or more token bytes, or `:/`; none elsewhere, except
    /// within four bytes of a 64-byte word's end (its run may go on in the next word).
    @Test func tokenMarksAreWhereTokensMayStart() {
        var generator = SeededGenerator(seed: 32)
        func isRun(_ byte: UInt8) -> Bool { SecretScanner.isRunByte(byte) }
        for _ in 0..<2000 {
            let bytes = randomBytes(Int.random(in: 0...300, using: &generator), using: &generator)
            let tokens = maps(bytes, portable: false)[1]
            for position in bytes.indices {
                var expected = false
                var either = false
                if position + 1 < bytes.count, kiln_secret_starts_token_rule(bytes[position], bytes[position + 1]) != 0 {
                    if bytes[position] == UInt8(ascii: ":") {
                        expected = true
                    } else if position == 0 || !isRun(bytes[position - 1]) {
                        let runEnd = bytes[position...].firstIndex { !isRun($0) } ?? bytes.count
                        expected = runEnd - position >= 4
                        if !expected, position % 64 >= 61 { either = true }
                    }
                }
                if !either { #expect(Self.bit(tokens, position) == expected, "\(bytes) at \(position)") }
            }
        }
    }

    @Test func theTokenPairsAreTheScannersList() {
        let pairs = ["--", "Pu", "AK", "AS", "AB", "AC", "A3", "AI", "GO", "GR", "gh", "gi", "gl", "xo", "sk", "rk", "np", "py", "ey", ":/"]
            .map { Array($0.utf8) }
        for first in 0...255 {
            for second in 0...255 {
                let listed = pairs.contains([UInt8(first), UInt8(second)])
                #expect((kiln_secret_starts_token_rule(UInt8(first), UInt8(second)) != 0) == listed)
            }
        }
    }

    /// The C pre-check says "may" for every key the scanner's own check names, on the words
    /// the rules know, their near misses, and random keys made of them.
    @Test func keysThatNameASecretAreNeverLeftOut() {
        let words = ["password", "passwd", "pwd", "oldpwd", "pw", "pass", "db_pass", "_auth", "auth", "secret", "clientSecret", "client_secret",
                     "secretaccesskey", "aws_secret_access_key", "privatekey", "private_key", "passphrase", "credentials", "credential",
                     "secretkey", "storepass", "keypass", "apikey", "api-key", "API_KEY", "token", "Token", "TOKEN_TTL", "word", "key",
                     "name", "host", "url", "p.w", "pass_word", "Pa$$word", "pwd2", "password_1", "PASSWORD_OLD", "token.new", "secret-bak",
                     "password.plaintext", "password.cleartext", "passwordCurrent", "secret_previous", "secret_original", "secret_orig",
                     "x", "", "_", "--", "a1", "0000", "pwd_", "pw.", "auth0", "oauth", "kiln:allow-secret", "é", "pässword"]
        var keys = words
        var generator = SeededGenerator(seed: 8)
        let separators = ["", "_", ".", "-", ":", "/", " ", "0", "9"]
        for _ in 0..<20_000 {
            var key = ""
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                key += words.randomElement(using: &generator)! + separators.randomElement(using: &generator)!
            }
            keys.append(key)
        }
        for key in keys {
            let bytes = Array(key.utf8)
            let named = SecretNames.noun(forKey: bytes[...]) != nil
            let may = bytes.withUnsafeBufferPointer { kiln_secret_key_may_name_secret($0.baseAddress, $0.count) != 0 }
            if named { #expect(may, "\(key)") }
        }
    }

    @Test func qualifiersArePackedAsListed() {
        for word in SecretNames.qualifiers {
            for variant in [word, word.uppercased(), word.prefix(1).uppercased() + word.dropFirst()] {
                let bytes = Array(variant.utf8)
                #expect(bytes.withUnsafeBufferPointer { SecretNames.isQualifier($0, from: 0, to: $0.count) }, "\(variant)")
            }
            for miss in [word + "s", String(word.dropLast()), "x" + word.dropFirst(), String(word.dropFirst()) + "x"] {
                let bytes = Array(miss.utf8)
                let listed = SecretNames.qualifiers.contains(miss.lowercased())
                #expect(bytes.withUnsafeBufferPointer { SecretNames.isQualifier($0, from: 0, to: $0.count) } == listed, "\(miss)")
            }
        }
    }
}
