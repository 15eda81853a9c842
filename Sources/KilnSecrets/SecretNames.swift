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
    /// The endings as bytes, checked from their last byte; and which last bytes any ending has,
    /// so most keys are done after one table look-up.
    private static let endingBytes: [(ending: [UInt8], noun: String)] = endings.map { (Array($0.ending.utf8), $0.noun) }
    private static let lastBytes: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for (ending, _) in endings { table[Int(ending.utf8.last!)] = true }
        for byte in "swh".utf8 { table[Int(byte)] = true }
        return table
    }()

    static func noun(forKey key: ArraySlice<UInt8>) -> String? {
        key.withUnsafeBufferPointer { noun(forKey: $0) }
    }

    /// What the value of `key` is when the name says it is secret, else `nil`. Called for the
    /// key of nearly every line of a config file: no allocation, most keys rejected by their
    /// last letter.
    static func noun(forKey key: UnsafeBufferPointer<UInt8>) -> String? {
        guard !key.isEmpty, key.count <= 256 else { return nil }
        // The last letter or digit, lowercased: no ending fits most keys.
        var end = key.count
        while end > 0, !isAlphanumeric(key[end - 1]) { end -= 1 }
        guard end > 0, lastBytes[Int(lower(key[end - 1]))] else { return nil }
        /// Whether the key, lowercased and with letters and digits only, ends with `ending`;
        /// `exactly`: is nothing but it.
        func endsWith(_ ending: [UInt8], exactly: Bool = false) -> Bool {
            var index = end
            var matched = ending.count
            while matched > 0 {
                guard index > 0 else { return false }
                index -= 1
                let byte = key[index]
                guard isAlphanumeric(byte) else { continue }
                matched -= 1
                if lower(byte) != ending[matched] { return false }
            }
            if exactly { while index > 0 { index -= 1; if isAlphanumeric(key[index]) { return false } } }
            return true
        }
        if endsWith(pwdWord, exactly: true) || endsWith(oldpwdWord, exactly: true) { return nil }
        // Keycloak's client `secret`: the issue's own example wording.
        if endsWith(secretWord, exactly: true) { return "a client secret" }
        for entry in endingBytes where endsWith(entry.ending) { return entry.noun }
        // Whole last segments that name a secret alone (`db_pass`, `pw`), and npm's `_auth`
        // (base64 of user:password, also as `//registry/:_auth`).
        var last = 0
        for index in 0..<key.count {
            let byte = key[index]
            if byte == 0x2E || byte == 0x5F || byte == 0x2D || byte == 0x3A || byte == 0x2F || byte == 0x20 { last = index + 1 }
        }
        let segment = UnsafeBufferPointer(rebasing: key[last...])
        if segment.count == 4, lower(segment[0]) == 0x70, lower(segment[1]) == 0x61, lower(segment[2]) == 0x73, lower(segment[3]) == 0x73 { return "a password" }
        if segment.count == 2, lower(segment[0]) == 0x70, lower(segment[1]) == 0x77 { return "a password" }
        if key.count >= 5, key[key.count - 5] == 0x5F, lower(key[key.count - 4]) == 0x61, lower(key[key.count - 3]) == 0x75,
           lower(key[key.count - 2]) == 0x74, lower(key[key.count - 1]) == 0x68 { return "credentials" }
        return nil
    }

    private static let secretWord = Array("secret".utf8)
    private static let pwdWord = Array("pwd".utf8)
    private static let oldpwdWord = Array("oldpwd".utf8)

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
