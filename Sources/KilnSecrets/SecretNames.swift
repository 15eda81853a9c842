/// Which key names say their value is a secret, and how a finding names it.
enum SecretNames {
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
                guard SecretNames.isAlphanumeric(byte) else { continue }
                if count == 16 {
                    more = true
                    return
                }
                push(SecretNames.lower(byte))
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
    static let qualifiers = ["old", "new", "prev", "previous", "current", "next", "backup", "bak",
                             "orig", "original", "plain", "plaintext", "cleartext"]

    /// Whether `key[start..<end]` is one of ``qualifiers``, in any case: its letters lowercased
    /// and packed into a word (the last eight of nine-letter ones, whose first is compared
    /// alone), compared with the qualifiers packed alike. Called for the last segment of most
    /// keys: no table, no loop per qualifier.
    static func isQualifier(_ key: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Bool {
        let length = end - start
        guard length >= 3, length <= 9 else { return false }
        let first = lower(key[start])
        var packed: UInt64 = 0
        var index = length == 9 ? start + 1 : start
        var shift: UInt64 = 0
        while index < end {
            packed |= UInt64(lower(key[index])) << shift
            shift += 8
            index += 1
        }
        switch (length, packed) {
        case (3, 0x646C6F), (3, 0x77656E), (3, 0x6B6162): return true // old, new, bak
        case (4, 0x76657270), (4, 0x7478656E), (4, 0x6769726F): return true // prev, next, orig
        case (5, 0x6E69616C70): return true // plain
        case (6, 0x70756B636162): return true // backup
        case (7, 0x746E6572727563): return true // current
        case (8, 0x73756F6976657270), (8, 0x6C616E696769726F): return true // previous, original
        case (9, 0x747865746E69616C): return first == 0x70 // plaintext
        case (9, 0x747865747261656C): return first == 0x63 // cleartext
        default: return false
        }
    }

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
            guard isQualifier(key, from: start, to: end) else { return nil }
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
