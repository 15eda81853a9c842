import CArchive
import KilnPlatform

/// Reads what a base layer does to the skeleton (``LayerChanges``) from its tar headers,
/// streaming: the compressed blob comes in chunks from `pull`, nothing is staged, and file
/// contents are skipped except `/etc/passwd` and `/etc/group`.
///
/// Layers come from untrusted registries: only the gzip and zstd decoders are enabled (no
/// filter that runs an external program), names with `..` are refused, kept file texts are
/// capped, and every failure is one error naming the layer.
public enum LayerHeaderReader {
    /// The largest `/etc/passwd` or `/etc/group` kept; a larger one leaves names unresolvable.
    static let maxUserDatabaseSize = 4 * 1024 * 1024

    /// - Parameters:
    ///   - pull: the next chunk of the blob, `nil` at its end; called on the caller's thread.
    ///   - what: names the layer in errors (`layer sha256:… of BASE`).
    public static func read(what: String, pull: @escaping () throws -> [UInt8]?) throws -> LayerChanges {
        guard let handle = archive_read_new() else { throw LayerError.archive("out of memory") }
        defer { archive_read_free(handle) }
        let input = try TarEndInput(what: what, pull: pull)
        func fail(_ status: Int32) -> Error {
            if let error = input.error { return error }
            let message = archive_error_string(handle).map { String(cString: $0) } ?? "status \(status)"
            return LayerError.archive("\(what): \(message)")
        }
        // Decompressed by `input`, which also ends the stream as Go's archive/tar does (an empty
        // stream is a tar without entries).
        for status in [archive_read_support_filter_none(handle), archive_read_support_format_tar(handle),
                       archive_read_support_format_empty(handle)] where status < ARCHIVE_WARN {
            throw fail(status)
        }
        let context = Unmanaged.passUnretained(input).toOpaque()
        let read: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int = { _, context, buffer in
            guard let context, let buffer else { return -1 }
            return Unmanaged<TarEndInput>.fromOpaque(context).takeUnretainedValue().next(into: buffer)
        }
        let opened = archive_read_open(handle, context, nil, read, nil)
        guard opened == ARCHIVE_OK else { throw fail(opened) }

        var changes = LayerChanges()
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(handle, &entry)
            if status == ARCHIVE_EOF { break }
            guard status >= ARCHIVE_WARN, let entry else { throw fail(status) }
            input.entryData(endsAt: archive_filter_bytes(handle, 0) + max(0, archive_entry_size(entry)))
            guard let rawName = archive_entry_pathname(entry) else { continue }
            // A name that is not UTF-8 cannot be a kiln destination or one's parent: skipped.
            guard let name = String(validating: bytes(rawName), as: UTF8.self) else { continue }
            guard let path = try imagePath(name, what: what) else { continue }
            if path.name.hasPrefix(".wh.") {
                if path.name == ".wh..wh..opq" {
                    changes.changes.append((path.parent, .opaque))
                } else if !path.name.hasPrefix(".wh..wh.") {
                    changes.changes.append((path.parent.appending(String(path.name.dropFirst(4))), .whiteout))
                }
                continue
            }
            let type = archive_entry_filetype(entry)
            if archive_entry_hardlink(entry) != nil {
                changes.changes.append((path, .other))
            } else if UInt32(type) == KILN_AE_IFDIR {
                // Kept and repeated in kiln's layer: an id no kernel has (-1, 2^63-1) is refused,
                // not clamped or passed on.
                let uid = archive_entry_uid(entry), gid = archive_entry_gid(entry)
                guard OwnerSpec.idRange.contains(Int(clamping: uid)), OwnerSpec.idRange.contains(Int(clamping: gid)) else {
                    throw LayerError.archive("\(what): directory '\(excerpt(name))' has owner \(uid):\(gid), outside 0...\(OwnerSpec.idRange.upperBound)")
                }
                changes.changes.append((path, .directory(mode: UInt32(archive_entry_perm(entry)) & 0o7777, owner: Owner(uid: Int(uid), gid: Int(gid)))))
            } else if UInt32(type) == KILN_AE_IFLNK, let target = archive_entry_symlink(entry),
                      let text = String(validating: bytes(target), as: UTF8.self), !text.isEmpty {
                guard text.utf8.count <= BaseTree.maxPathLength else {
                    throw LayerError.archive("\(what): symlink '\(excerpt(name))' has a target of \(text.utf8.count) bytes, longer than PATH_MAX allows (\(BaseTree.maxPathLength))")
                }
                changes.changes.append((path, .symlink(target: text)))
            } else {
                changes.changes.append((path, .other))
                if UInt32(type) == KILN_AE_IFREG, path == LayerChanges.passwdPath || path == LayerChanges.groupPath {
                    let text = try contents(handle, size: archive_entry_size(entry), fail: fail)
                    if path == LayerChanges.passwdPath { changes.passwd = text } else { changes.group = text }
                }
            }
        }
        if let error = input.error { throw error }
        try input.finish()
        return changes
    }

    /// The entry's path in the image, or `nil` for the root itself.
    /// - Throws: for a name that climbs out of the root, or that the kernel would refuse to open
    ///   (longer than PATH_MAX, or a name longer than NAME_MAX): no applier should be trusted
    ///   with it, and the skeleton stays linear in the headers.
    static func imagePath(_ name: String, what: String) throws -> ImagePath? {
        let parts = name.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !parts.contains("..") else { throw LayerError.archive("\(what): entry '\(excerpt(name))' leaves the image root") }
        guard !parts.isEmpty else { return nil }
        let path = ImagePath(components: parts.map(String.init))
        guard ImagePath.withinKernelLimits(path) else {
            throw LayerError.archive("\(what): entry '\(excerpt(name))' (\(name.utf8.count) bytes, \(parts.count) levels) is longer than a path (PATH_MAX, \(BaseTree.maxPathLength) bytes) or a name (NAME_MAX, \(BaseTree.maxNameLength)) may be")
        }
        return path
    }

    /// At most 64 characters of an entry's name, control characters escaped: names are
    /// untrusted and may be kilobytes long.
    static func excerpt(_ name: String) -> String {
        let head = name.unicodeScalars.prefix(64).map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0) }.joined()
        return name.unicodeScalars.count > 64 ? head + "…" : head
    }

    /// The whole data of the current entry, or `nil` when it is too large to keep.
    private static func contents(_ handle: OpaquePointer, size: Int64, fail: (Int32) -> Error) throws -> [UInt8]? {
        guard size >= 0, size <= maxUserDatabaseSize else { return nil }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while data.count <= maxUserDatabaseSize {
            let count = buffer.withUnsafeMutableBytes { archive_read_data(handle, $0.baseAddress, $0.count) }
            if count == 0 { return data }
            guard count > 0 else { throw fail(Int32(count)) }
            data.append(contentsOf: buffer[0..<count])
        }
        return nil
    }

    private static func bytes(_ text: UnsafePointer<CChar>) -> [UInt8] {
        Array(UnsafeBufferPointer(start: text, count: strlen(text))).map { UInt8(bitPattern: $0) }
    }
}

/// The blob's chunks as libarchive pulls them: each is kept alive in an owned buffer until the
/// next pull, as libarchive's read callback requires.
final class PullInput {
    private let pull: () throws -> [UInt8]?
    private var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    /// The first error `pull` threw; libarchive only sees "-1".
    private(set) var error: Error?

    init(pull: @escaping () throws -> [UInt8]?) { self.pull = pull }

    deinit { buffer.deallocate() }

    func next(into pointer: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        do {
            while let chunk = try pull() {
                if chunk.isEmpty { continue }
                if chunk.count > buffer.count {
                    buffer.deallocate()
                    buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk.count, alignment: 16)
                }
                chunk.withUnsafeBytes { buffer.copyMemory(from: $0) }
                pointer.pointee = UnsafeRawPointer(buffer.baseAddress)
                return chunk.count
            }
            return 0
        } catch {
            self.error = error
            return -1
        }
    }
}
