import CArchive
import KilnCrypto
import KilnPlatform

/// Reads a tar archive someone handed kiln (an image archive for `kiln docker load`) entry by
/// entry, in one pass, from a file descriptor (a file or standard input): plain, or compressed
/// with a decoder built into libarchive (never an external program).
///
/// The archive is untrusted: names are cleaned (`./`, empty components and a leading `/`
/// dropped) and refused when they climb with `..` or are not UTF-8, entries and name lengths are
/// bounded, and every error is one line naming the archive with a bounded excerpt of the name.
public enum TarFileReader {
    /// What an entry is.
    public enum Kind: Equatable, Sendable {
        case file(size: Int64)
        case directory
        /// The link's target as written.
        case symlink(String)
        /// The target's name, cleaned as entry names are (relative to the archive's root).
        case hardlink(String)
        /// Devices, FIFOs: no image archive has them; the caller ignores them.
        case other
    }

    public struct Entry: Sendable {
        /// Cleaned, relative, `/`-separated; empty for the root itself.
        public var path: String
        public var kind: Kind
    }

    /// The most entries an archive may have.
    public static let maxEntries = 1 << 16

    /// - Parameters:
    ///   - fd: the archive, read from its current position to its end; not closed.
    ///   - what: names the archive in errors.
    ///   - body: called for every entry with a function that reads the entry's data (0 at its
    ///     end); data the body leaves unread is skipped.
    public static func read(fd: Int32, what: String, body: (Entry, (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Void) throws {
        guard let handle = archive_read_new() else { throw LayerError.archive("out of memory") }
        defer { archive_read_free(handle) }
        func failure() -> LayerError {
            LayerError.archive("\(what): \(archive_error_string(handle).map { String(cString: $0) } ?? "unreadable archive")")
        }
        for enable in ArchiveProbe.builtInFilters() where enable(handle) != ARCHIVE_OK { throw failure() }
        guard archive_read_support_filter_none(handle) == ARCHIVE_OK, archive_read_support_format_tar(handle) == ARCHIVE_OK,
              archive_read_open_fd(handle, fd, 1 << 16) == ARCHIVE_OK else { throw failure() }
        var entry: OpaquePointer?
        var count = 0
        while true {
            let status = archive_read_next_header(handle, &entry)
            if status == ARCHIVE_EOF { return }
            guard status >= ARCHIVE_WARN, let entry else { throw failure() }
            count += 1
            guard count <= maxEntries else { throw LayerError.archive("\(what): more than \(maxEntries) entries") }
            guard let raw = archive_entry_pathname(entry) else { continue }
            let path = try clean(raw, what: what)
            let kind: Kind
            let type = UInt32(archive_entry_filetype(entry))
            if let target = archive_entry_hardlink(entry) {
                kind = .hardlink(try clean(target, what: what))
            } else if type == KILN_AE_IFDIR {
                kind = .directory
            } else if type == KILN_AE_IFLNK {
                guard let target = archive_entry_symlink(entry), let text = String(validating: bytes(target), as: UTF8.self) else {
                    throw LayerError.archive("\(what): symlink '\(excerpt(path))' has no readable target")
                }
                kind = .symlink(text)
            } else if type == KILN_AE_IFREG {
                kind = .file(size: max(0, archive_entry_size(entry)))
            } else {
                kind = .other
            }
            try body(Entry(path: path, kind: kind)) { buffer in
                let read = archive_read_data(handle, buffer.baseAddress, buffer.count)
                guard read >= 0 else { throw failure() }
                return read
            }
        }
    }

    /// The SHA-256 of a layer's uncompressed bytes (its diff_id), whatever it is compressed with
    /// among libarchive's built-in decoders, or plain.
    /// - Parameter pull: the layer's next bytes, `nil` at its end.
    public static func uncompressedDigest(what: String, pull: @escaping () throws -> [UInt8]?) throws -> (hex: String, size: Int64) {
        guard let handle = archive_read_new() else { throw LayerError.archive("out of memory") }
        defer { archive_read_free(handle) }
        let input = PullInput(pull: pull)
        func failure() -> Error {
            if let error = input.error { return error }
            return LayerError.archive("\(what): \(archive_error_string(handle).map { String(cString: $0) } ?? "unreadable layer")")
        }
        for enable in ArchiveProbe.builtInFilters() where enable(handle) != ARCHIVE_OK { throw failure() }
        guard archive_read_support_filter_none(handle) == ARCHIVE_OK, archive_read_support_format_raw(handle) == ARCHIVE_OK,
              archive_read_support_format_empty(handle) == ARCHIVE_OK else { throw failure() }
        let context = Unmanaged.passUnretained(input).toOpaque()
        let read: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int = { _, context, buffer in
            guard let context, let buffer else { return -1 }
            return Unmanaged<PullInput>.fromOpaque(context).takeUnretainedValue().next(into: buffer)
        }
        guard archive_read_open(handle, context, nil, read, nil) == ARCHIVE_OK else { throw failure() }
        let hash = SHA256()
        var size: Int64 = 0
        var entry: OpaquePointer?
        let header = archive_read_next_header(handle, &entry)
        if header != ARCHIVE_EOF {
            guard header >= ARCHIVE_WARN else { throw failure() }
            while true {
                var block: UnsafeRawPointer?
                var length = 0
                var offset: Int64 = 0
                let status = archive_read_data_block(handle, &block, &length, &offset)
                if status == ARCHIVE_EOF { break }
                guard status >= ARCHIVE_WARN else { throw failure() }
                guard length > 0, let block else { continue }
                hash.update(UnsafeRawBufferPointer(start: block, count: length))
                size += Int64(length)
            }
        }
        if let error = input.error { throw error }
        let digits = Array("0123456789abcdef".utf8)
        return (String(decoding: hash.finalize().flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self), size)
    }

    private static func clean(_ raw: UnsafePointer<CChar>, what: String) throws -> String {
        let data = bytes(raw)
        guard data.count <= 4096, let name = String(validating: data, as: UTF8.self) else {
            throw LayerError.archive("\(what): an entry name is not UTF-8 or longer than 4096 bytes")
        }
        let parts = name.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !parts.contains("..") else { throw LayerError.archive("\(what): entry '\(excerpt(name))' climbs out of the archive with '..'") }
        return parts.joined(separator: "/")
    }

    /// At most 96 characters of untrusted text (a digest-named file fits), control, format and
    /// unassigned characters escaped.
    public static func excerpt(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(96) {
            switch scalar.properties.generalCategory {
            case .control, .format, .unassigned, .lineSeparator, .paragraphSeparator, .privateUse:
                out += "\\u{\(String(scalar.value, radix: 16))}"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return text.unicodeScalars.count > 96 ? out + "…" : out
    }

    private static func bytes(_ text: UnsafePointer<CChar>) -> [UInt8] {
        Array(UnsafeBufferPointer(start: text, count: strlen(text))).map { UInt8(bitPattern: $0) }
    }
}
