/// Reads `/etc/passwd` and `/etc/group` of a base, so `--owner app:web` means what it means
/// inside the image, never on the building machine.
enum UserDatabase {
    /// `name:password:uid:gid:...` lines; malformed lines are skipped, as libc's `getpwnam` does.
    static func users(in text: [UInt8]) -> [String: Owner] {
        var users: [String: Owner] = [:]
        for fields in records(text) where fields.count >= 4 {
            guard let uid = id(fields[2]), let gid = id(fields[3]), users[fields[0]] == nil else { continue }
            users[fields[0]] = Owner(uid: uid, gid: gid)
        }
        return users
    }

    /// `name:password:gid:members` lines.
    static func groups(in text: [UInt8]) -> [String: Int] {
        var groups: [String: Int] = [:]
        for fields in records(text) where fields.count >= 3 {
            guard let gid = id(fields[2]), groups[fields[0]] == nil else { continue }
            groups[fields[0]] = gid
        }
        return groups
    }

    /// Non-empty, non-comment lines split at `:`, decoded as UTF-8 (invalid lines skipped).
    private static func records(_ text: [UInt8]) -> [[String]] {
        text.split(separator: UInt8(ascii: "\n")).compactMap { line in
            guard let line = String(validating: line, as: UTF8.self), !line.hasPrefix("#"), !line.hasPrefix("+"), !line.hasPrefix("-") else { return nil }
            let fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            return fields[0].isEmpty ? nil : fields
        }
    }

    private static func id(_ text: String) -> Int? {
        guard let value = Int(text), (0...0x7FFF_FFFF).contains(value) else { return nil }
        return value
    }
}
