import Foundation
import KilnLayer
import KilnPlatform
import KilnStore
import OCI

/// The per-machine cache of layer changes: one file per layer digest under
/// `$KILN_CACHE_DIR/layer-changes` (else `$XDG_CACHE_HOME/kiln` or `~/.cache/kiln`). Written
/// atomically; `KILN_CACHE_DIR=""` turns it off.
///
/// A cache may have been restored from another machine's run (CI caches), so an entry is
/// trusted only when it carries the HMAC, under the user's ``CacheKey``, of the layer digest it
/// is filed under and its text: only this user's kiln could have written it, and only from a
/// layer whose bytes matched that digest. Anything else (no or a wrong MAC, a value out of
/// range, a file too large) is ignored: the layer is read again and the entry rewritten.
/// Without a usable key there is no cache. `kiln lock` uses authenticated entries only, like
/// every command, so a lock records no skeleton that was not derived from verified layer bytes.
///
///     ["kiln layer changes",1]
///     ["dir","/etc","0755",0,0]
///     …
///     ["hmac-sha256","HEX"]
struct LayerChangesCache: Sendable {
    let directory: String?
    let key: CacheKey?

    /// A larger entry is not read (a real layer's is a few MiB).
    static let maxFileSize = 256 << 20

    static var `default`: LayerChangesCache {
        guard let cache = CacheDirectory.current, let keyPath = CacheKey.path(),
              !keyPath.hasPrefix(cache.hasSuffix("/") ? cache : cache + "/") else {
            // No cache, no key, or a key inside the cache (it would travel with it): no cache.
            return LayerChangesCache(directory: nil, key: nil)
        }
        guard let key = CacheKey.load(path: keyPath) else { return LayerChangesCache(directory: nil, key: nil) }
        return LayerChangesCache(directory: "\(cache)/layer-changes", key: key)
    }

    private func file(_ digest: Digest) -> String? {
        directory.map { "\($0)/\(digest.algorithm)-\(digest.hex).jsonl" }
    }

    /// What the MAC covers: the layer digest the entry is for, and its text.
    private static func authenticated(_ body: [UInt8], for digest: Digest) -> [UInt8] {
        Array("kiln layer changes cache\n\(digest)\n".utf8) + body
    }

    /// The cached changes of the layer, when the entry is authentic and well-formed.
    func load(_ digest: Digest) -> LayerChanges? {
        guard let key, let file = file(digest), let data = Self.readBounded(file) else { return nil }
        // The last line is the MAC; the text before it is the entry.
        guard data.last == UInt8(ascii: "\n"), let start = data.dropLast().lastIndex(of: UInt8(ascii: "\n")).map({ $0 + 1 }),
              case .array(let fields)? = try? JSONValue(parsing: Array(data[start..<(data.count - 1)]), what: "cache"),
              fields.count == 2, fields[0].stringValue == "hmac-sha256", let hex = fields[1].stringValue,
              let mac = Self.bytes(hex: hex) else { return nil }
        let body = Array(data[..<start])
        guard key.verify(mac, of: Self.authenticated(body, for: digest)) else { return nil }
        return LayerChanges(parsing: body)
    }

    /// Best effort: a cache that cannot be written costs the next run one read of the layer.
    /// Called only with changes read from a blob that matched `digest`.
    func store(_ changes: LayerChanges, for digest: Digest) {
        guard let key, let directory, let file = file(digest) else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let body = changes.serialized()
        let mac = key.authenticate(Self.authenticated(body, for: digest))
        let line = JSONValue.array([.string("hmac-sha256"), .string(mac.map { String(format: "%02x", $0) }.joined())]).serialized()
        let temporary = "\(file).kiln-tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt64.random(in: 0...UInt64.max))"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(body + line + [UInt8(ascii: "\n")])) else { return }
        if LibC.rename(temporary, file) != 0 { try? FileManager.default.removeItem(atPath: temporary) }
    }

    /// The file's bytes, when it is a regular file (no link followed, no FIFO waited on) of at
    /// most ``maxFileSize``.
    private static func readBounded(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { _ = LibC.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size <= off_t(maxFileSize) else { return nil }
        var data = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < data.count {
            let count = data.withUnsafeMutableBytes { LibC.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            guard count > 0 else { return nil }
            filled += count
        }
        return data
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var result: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
            result.append(byte)
        }
        return result
    }
}
