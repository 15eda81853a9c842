import CArchive
import KilnPlatform

/// Unpacks a tar archive (plain, or compressed as ``ArchiveProbe`` recognizes) into an empty
/// staging directory, for Docker's `ADD archive.tar.gz /dest/`: the files become an overlay
/// whose entries keep the archive's modes and owners (``Overlay/recorded``).
///
/// The archive comes from a build context (a pull request): names are cleaned (a leading `/` or
/// `./` dropped) and refused when they climb with `..`; nothing is written below a symlink the
/// archive made (so a link cannot carry a later entry out of the staging directory), every
/// directory is opened name by name without following links; devices and FIFOs are refused;
/// hard links become copies (kiln's layers hold no hard links); the unpacked size is capped.
public enum ArchiveUnpacker {
    /// - Parameters:
    ///   - archive: the archive's path.
    ///   - directory: an empty directory the caller made and removes afterwards.
    ///   - what: names the archive in errors (`ADD app.tgz`).
    ///   - maximumBytes: the most the unpacked files may hold together.
    /// - Returns: each unpacked path (relative, `/`-separated) with the mode and owner its
    ///   archive entry records.
    public static func unpack(_ archive: String, into directory: String, what: String, maximumBytes: Int64 = 1 << 33) throws -> [String: Overlay.RecordedAttributes] {
        guard let handle = archive_read_new() else { throw LayerError.archive("out of memory") }
        defer { archive_read_free(handle) }
        func fail(_ message: String) -> LayerError { LayerError.archive("\(what): \(message)") }
        func libarchiveError() -> LayerError { fail(archive_error_string(handle).map { String(cString: $0) } ?? "unreadable archive") }
        for enable in ArchiveProbe.builtInFilters() {
            guard enable(handle) == ARCHIVE_OK else { throw libarchiveError() }
        }
        guard archive_read_support_filter_none(handle) == ARCHIVE_OK, archive_read_support_format_tar(handle) == ARCHIVE_OK,
              archive_read_open_filename(handle, archive, 16384) == ARCHIVE_OK else { throw libarchiveError() }
        var state = Staging(root: directory, fail: fail)
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(handle, &entry)
            if status == ARCHIVE_EOF { break }
            guard status >= ARCHIVE_WARN, let entry else { throw libarchiveError() }
            guard let rawName = archive_entry_pathname(entry) else { continue }
            guard let name = String(validating: Array(UnsafeBufferPointer(start: rawName, count: strlen(rawName))).map { UInt8(bitPattern: $0) }, as: UTF8.self) else {
                throw fail("an entry name is not valid UTF-8")
            }
            let parts = name.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }.map(String.init)
            guard !parts.contains("..") else { throw fail("entry '\(name)' climbs out of the destination with '..'") }
            guard !parts.isEmpty else { continue }
            let attributes = Overlay.RecordedAttributes(mode: UInt32(archive_entry_perm(entry)) & 0o7777,
                                                        owner: Owner(uid: Int(clamping: archive_entry_uid(entry)), gid: Int(clamping: archive_entry_gid(entry))))
            let type = UInt32(archive_entry_filetype(entry))
            if let rawTarget = archive_entry_hardlink(entry) {
                let target = String(cString: rawTarget).split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }.map(String.init)
                try state.copyFile(from: target, to: parts, attributes: attributes, limit: maximumBytes)
            } else if type == KILN_AE_IFDIR {
                try state.directory(parts, attributes: attributes)
            } else if type == KILN_AE_IFLNK {
                guard let rawTarget = archive_entry_symlink(entry) else { throw fail("symlink '\(name)' has no target") }
                try state.symlink(parts, target: String(cString: rawTarget), attributes: attributes)
            } else if type == KILN_AE_IFREG {
                try state.file(parts, attributes: attributes, limit: maximumBytes) { buffer in
                    let count = archive_read_data(handle, buffer.baseAddress, buffer.count)
                    guard count >= 0 else { throw libarchiveError() }
                    return count
                }
            } else {
                throw fail("entry '\(name)' is a device or FIFO; only files, directories and links can be unpacked")
            }
        }
        return state.recorded
    }
}

/// What has been unpacked so far, and the rules for the next entry.
private struct Staging {
    enum Kind { case directory, file, symlink }

    let root: String
    let fail: (String) -> LayerError
    var kinds: [String: Kind] = [:]
    var recorded: [String: Overlay.RecordedAttributes] = [:]
    var written: Int64 = 0

    init(root: String, fail: @escaping (String) -> LayerError) {
        self.root = root
        self.fail = fail
    }

    /// Opens the parent directory of `parts`, creating missing ancestors (recorded nowhere:
    /// they take the scanner's defaults, as Docker creates them 0755 root). Refuses a path below
    /// a symlink or a file of the archive.
    mutating func parent(of parts: [String]) throws -> Int32 {
        var fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("cannot open the staging directory: \(String(cString: strerror(errno)))") }
        for depth in 1..<parts.count {
            let key = parts[..<depth].joined(separator: "/")
            switch kinds[key] {
            case .symlink?, .file?:
                close(fd)
                throw fail("entry '\(parts.joined(separator: "/"))' is below '\(key)', which the archive made a file or symlink")
            case nil:
                guard mkdirat(fd, parts[depth - 1], 0o700) == 0 || errno == EEXIST else {
                    let reason = String(cString: strerror(errno))
                    close(fd)
                    throw fail("cannot create '\(key)': \(reason)")
                }
                kinds[key] = .directory
            case .directory?:
                break
            }
            let next = openat(fd, parts[depth - 1], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let reason = String(cString: strerror(errno))
            close(fd)
            guard next >= 0 else { throw fail("cannot open '\(key)': \(reason)") }
            fd = next
        }
        return fd
    }

    /// Makes room for a new entry: a later entry replaces an earlier file or link, as tar does;
    /// a directory is replaced by nothing but a directory.
    mutating func clear(_ parts: [String], in parent: Int32, for kind: Kind) throws {
        let key = parts.joined(separator: "/")
        switch kinds[key] {
        case .directory?:
            guard kind == .directory else { throw fail("entry '\(key)' would replace a directory of the archive") }
        case .file?, .symlink?:
            guard unlinkat(parent, parts[parts.count - 1], 0) == 0 else { throw fail("cannot replace '\(key)': \(String(cString: strerror(errno)))") }
        case nil:
            break
        }
    }

    mutating func directory(_ parts: [String], attributes: Overlay.RecordedAttributes) throws {
        let parent = try parent(of: parts)
        defer { close(parent) }
        try clear(parts, in: parent, for: .directory)
        let key = parts.joined(separator: "/")
        if kinds[key] == nil {
            guard mkdirat(parent, parts[parts.count - 1], 0o700) == 0 || errno == EEXIST else { throw fail("cannot create '\(key)': \(String(cString: strerror(errno)))") }
        }
        kinds[key] = .directory
        recorded[key] = attributes
    }

    mutating func symlink(_ parts: [String], target: String, attributes: Overlay.RecordedAttributes) throws {
        let key = parts.joined(separator: "/")
        guard !target.isEmpty else { throw fail("symlink '\(key)' has an empty target") }
        let parent = try parent(of: parts)
        defer { close(parent) }
        try clear(parts, in: parent, for: .symlink)
        guard symlinkat(target, parent, parts[parts.count - 1]) == 0 else { throw fail("cannot create symlink '\(key)': \(String(cString: strerror(errno)))") }
        kinds[key] = .symlink
        recorded[key] = Overlay.RecordedAttributes(mode: 0o777, owner: attributes.owner)
    }

    /// Writes a regular file from `read` (which fills a buffer and returns the count, 0 at the end).
    mutating func file(_ parts: [String], attributes: Overlay.RecordedAttributes, limit: Int64, read: (UnsafeMutableRawBufferPointer) throws -> Int) throws {
        let key = parts.joined(separator: "/")
        let parent = try parent(of: parts)
        defer { close(parent) }
        try clear(parts, in: parent, for: .file)
        let fd = openat(parent, parts[parts.count - 1], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw fail("cannot create '\(key)': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        kinds[key] = .file
        recorded[key] = attributes
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try read(buffer)
            if count == 0 { break }
            written += Int64(count)
            guard written <= limit else { throw fail("unpacks to more than \(limit) bytes") }
            var offset = 0
            while offset < count {
                let done = write(fd, buffer.baseAddress! + offset, count - offset)
                if done < 0, errno == EINTR { continue }
                guard done > 0 else { throw fail("cannot write '\(key)': \(String(cString: strerror(errno)))") }
                offset += done
            }
        }
    }

    /// A hard link: a copy of the earlier regular file it names.
    mutating func copyFile(from target: [String], to parts: [String], attributes: Overlay.RecordedAttributes, limit: Int64) throws {
        let source = target.joined(separator: "/")
        guard !target.contains(".."), kinds[source] == .file else { throw fail("hard link '\(parts.joined(separator: "/"))' names '\(source)', which is no earlier file of the archive") }
        let sourceParent = try parent(of: target)
        let input = openat(sourceParent, target[target.count - 1], O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        close(sourceParent)
        guard input >= 0 else { throw fail("cannot open '\(source)': \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let fail = self.fail
        try file(parts, attributes: attributes, limit: limit) { buffer in
            while true {
                let count = read(input, buffer.baseAddress, buffer.count)
                if count < 0, errno == EINTR { continue }
                guard count >= 0 else { throw fail("cannot read '\(source)': \(String(cString: strerror(errno)))") }
                return count
            }
        }
    }
}
