import Foundation
import KilnCrypto
import KilnPlatform

/// The per-user secret that authenticates what kiln writes to its caches, so an entry restored
/// from elsewhere (CI systems restore `~/.cache` from other runs) cannot pass for one this user's
/// kiln derived: 32 random bytes in `$XDG_CONFIG_HOME/kiln/cache-key` (else
/// `~/.config/kiln/cache-key`), outside the cache directory, created 0600 on first use.
///
/// A key file that is not a regular file of 32 bytes owned by this user and closed to others
/// is not used (nor replaced): the caches it guards are then not used either.
package struct CacheKey: Sendable {
    private let secret: [UInt8]

    package static let fileName = "cache-key"
    static let size = 32

    /// The key file's path, or `nil` without a config directory.
    package static func path(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let config = environment["XDG_CONFIG_HOME"], !config.isEmpty { return "\(config)/kiln/\(fileName)" }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return "\(home)/.config/kiln/\(fileName)"
    }

    /// The user's key, made on first use; `nil` when there is none and none can be made safely.
    package static func load(path: String) -> CacheKey? {
        if let key = read(path) { return key }
        let directory = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // Written whole under a temporary name, then linked into place: a link fails when the
        // name exists, so two first runs agree on the key the winner wrote.
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<size).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let temporary = "\(path).kiln-tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt64.random(in: 0 ... .max, using: &generator))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        let written = secret.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        _ = LibC.close(fd)
        if written == size, synced { _ = link(temporary, path) }
        unlink(temporary)
        return read(path)
    }

    private static func read(_ path: String) -> CacheKey? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { _ = LibC.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == geteuid(),
              info.st_mode & 0o077 == 0, info.st_size == off_t(size) else { return nil }
        var secret = [UInt8](repeating: 0, count: size)
        let count = secret.withUnsafeMutableBytes { LibC.read(fd, $0.baseAddress, $0.count) }
        guard count == size else { return nil }
        return CacheKey(secret: secret)
    }

    /// HMAC-SHA256 of `message` under the key.
    package func authenticate(_ message: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticate(message, key: secret)
    }

    /// Whether `mac` is the HMAC of `message`, compared in constant time.
    package func verify(_ mac: [UInt8], of message: [UInt8]) -> Bool {
        let expected = authenticate(message)
        guard mac.count == expected.count else { return false }
        return zip(mac, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
