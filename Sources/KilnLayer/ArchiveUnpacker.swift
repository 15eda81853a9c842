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
/// hard links become copies (kiln's layers hold no hard links); the unpacked size is capped, and
/// so is every name: a path the kernel could not open below `directory` (longer than
/// `PATH_MAX` with it) is refused before anything is made for it, so no tree deeper than the
/// kernel's paths is ever built. A later entry replaces an earlier file or link of the same
/// name, whatever its kind (a file `x`, then a directory `x/`), as GNU tar and Docker do.
public enum ArchiveUnpacker {
    /// - Parameters:
    ///   - archive: the archive's path.
    ///   - directory: an empty directory the caller made and removes afterwards.
    ///   - what: names the archive in errors (`ADD app.tgz`), already quoted as the caller
    ///     quotes untrusted text.
    ///   - quote: how an entry name or link target is quoted in an error: a bounded, printable
    ///     excerpt (names come from the archive: a 60 KB name must not reach a log whole).
    ///   - maximumBytes: the most the unpacked files may hold together (each directory made
    ///     counts as a 4 KiB block, so a tree of empty directories is bounded too).
    /// - Returns: each unpacked path (relative, `/`-separated) with the mode and owner its
    ///   archive entry records.
    public static func unpack(_ archive: String, into directory: String, what: String, quote: @escaping (String) -> String,
                              maximumBytes: Int64 = 1 << 33) throws -> [String: Overlay.RecordedAttributes] {
        guard let handle = archive_read_new() else { throw LayerError.archive("out of memory") }
        defer { archive_read_free(handle) }
        func fail(_ message: String) -> LayerError { LayerError.archive("\(what): \(message)") }
        // The longest relative name whose path below `directory` the kernel still opens.
        let longestName = Int(PATH_MAX) - 1 - directory.utf8.count - 1
        func libarchiveError() -> LayerError { fail(archive_error_string(handle).map { String(cString: $0) } ?? "unreadable archive") }
        for enable in ArchiveProbe.builtInFilters() {
            guard enable(handle) == ARCHIVE_OK else { throw libarchiveError() }
        }
        guard archive_read_support_filter_none(handle) == ARCHIVE_OK, archive_read_support_format_tar(handle) == ARCHIVE_OK,
              archive_read_open_filename(handle, archive, 16384) == ARCHIVE_OK else { throw libarchiveError() }
        var state = Staging(root: directory, fail: fail, quote: quote, limit: maximumBytes)
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(handle, &entry)
            if status == ARCHIVE_EOF { break }
            guard status >= ARCHIVE_WARN, let entry else { throw libarchiveError() }
            guard let rawName = archive_entry_pathname(entry) else { continue }
            let rawLength = strlen(rawName)
            guard let name = String(validating: Array(UnsafeBufferPointer(start: rawName, count: rawLength)).map { UInt8(bitPattern: $0) }, as: UTF8.self) else {
                throw fail("an entry name is not valid UTF-8")
            }
            let parts = name.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }.map(String.init)
            guard !parts.contains("..") else { throw fail("entry '\(quote(name))' climbs out of the destination with '..'") }
            guard !parts.isEmpty else { continue }
            // Checked before anything is made: a name the kernel cannot open as a path would
            // build a tree too deep for path-based tools (and for kiln's own scanner).
            guard parts.reduce(parts.count - 1, { $0 + $1.utf8.count }) <= longestName else {
                throw fail("entry '\(quote(name))' is too long to unpack (\(rawLength) bytes; paths are at most \(PATH_MAX) bytes)")
            }
            let attributes = Overlay.RecordedAttributes(mode: UInt32(archive_entry_perm(entry)) & 0o7777,
                                                        owner: Owner(uid: Int(clamping: archive_entry_uid(entry)), gid: Int(clamping: archive_entry_gid(entry))))
            let type = UInt32(archive_entry_filetype(entry))
            if let rawTarget = archive_entry_hardlink(entry) {
                let target = String(cString: rawTarget).split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }.map(String.init)
                try state.copyFile(from: target, to: parts, attributes: attributes)
            } else if type == KILN_AE_IFDIR {
                try state.directory(parts, attributes: attributes)
            } else if type == KILN_AE_IFLNK {
                guard let rawTarget = archive_entry_symlink(entry) else { throw fail("symlink '\(quote(name))' has no target") }
                guard strlen(rawTarget) < Int(PATH_MAX) else { throw fail("symlink '\(quote(name))' has a target longer than \(PATH_MAX) bytes") }
                try state.symlink(parts, target: String(cString: rawTarget), attributes: attributes)
            } else if type == KILN_AE_IFREG {
                try state.file(parts, attributes: attributes) { buffer in
                    let count = archive_read_data(handle, buffer.baseAddress, buffer.count)
                    guard count >= 0 else { throw libarchiveError() }
                    return count
                }
            } else {
                throw fail("entry '\(quote(name))' is a device or FIFO; only files, directories and links can be unpacked")
            }
        }
        return state.recorded
    }
}

/// What has been unpacked so far, and the rules for the next entry.
///
/// What the archive made is kept as a tree of names (one node per path component), not as a
/// table of whole paths: a deep tree costs memory in its number of directories, not in the sum
/// of their path lengths.
private struct Staging {
    enum Kind { case directory, file, symlink }

    final class Node {
        var kind: Kind
        var children: [String: Node] = [:]
        init(_ kind: Kind) { self.kind = kind }
    }

    /// What a directory costs against the limit: about the block it takes on disk.
    static let directoryCost: Int64 = 4096

    let root: String
    let fail: (String) -> LayerError
    let quote: (String) -> String
    let limit: Int64
    let tree = Node(.directory)
    var recorded: [String: Overlay.RecordedAttributes] = [:]
    var written: Int64 = 0

    init(root: String, fail: @escaping (String) -> LayerError, quote: @escaping (String) -> String, limit: Int64) {
        self.root = root
        self.fail = fail
        self.quote = quote
        self.limit = limit
    }

    mutating func charge(_ bytes: Int64) throws {
        written += bytes
        guard written <= limit else { throw fail("unpacks to more than \(limit) bytes") }
    }

    /// Opens the parent directory of `parts`, creating missing ancestors (recorded nowhere:
    /// they take the scanner's defaults, as Docker creates them 0755 root). Refuses a path below
    /// a symlink or a file of the archive.
    /// - Returns: the parent's descriptor and its node.
    mutating func parent(of parts: [String]) throws -> (fd: Int32, node: Node) {
        var fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("cannot open the staging directory: \(String(cString: strerror(errno)))") }
        var node = tree
        for depth in 1..<parts.count {
            let name = parts[depth - 1]
            let child: Node
            switch node.children[name] {
            case let existing? where existing.kind != .directory:
                close(fd)
                let key = parts[..<depth].joined(separator: "/")
                throw fail("entry '\(quote(parts.joined(separator: "/")))' is below '\(quote(key))', which the archive made a file or symlink")
            case let existing?:
                child = existing
            case nil:
                do { try charge(Self.directoryCost) } catch {
                    close(fd)
                    throw error
                }
                guard mkdirat(fd, name, 0o700) == 0 || errno == EEXIST else {
                    let reason = String(cString: strerror(errno))
                    close(fd)
                    throw fail("cannot create '\(quote(parts[..<depth].joined(separator: "/")))': \(reason)")
                }
                child = Node(.directory)
                node.children[name] = child
            }
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let reason = String(cString: strerror(errno))
            close(fd)
            guard next >= 0 else { throw fail("cannot open '\(quote(parts[..<depth].joined(separator: "/")))': \(reason)") }
            fd = next
            node = child
        }
        return (fd, node)
    }

    /// Makes room for a new entry: a later entry replaces an earlier file or link of any kind
    /// (a directory too, as GNU tar and Docker replace it); a directory is replaced by nothing
    /// but a directory.
    mutating func clear(_ parts: [String], in parent: Int32, node: Node, for kind: Kind) throws {
        let name = parts[parts.count - 1]
        guard let existing = node.children[name] else { return }
        let key = parts.joined(separator: "/")
        switch existing.kind {
        case .directory:
            guard kind == .directory else { throw fail("entry '\(quote(key))' would replace a directory of the archive") }
        case .file, .symlink:
            guard unlinkat(parent, name, 0) == 0 else { throw fail("cannot replace '\(quote(key))': \(String(cString: strerror(errno)))") }
            node.children[name] = nil
            recorded[key] = nil
        }
    }

    mutating func directory(_ parts: [String], attributes: Overlay.RecordedAttributes) throws {
        let (parent, node) = try parent(of: parts)
        defer { close(parent) }
        try clear(parts, in: parent, node: node, for: .directory)
        let key = parts.joined(separator: "/")
        let name = parts[parts.count - 1]
        if node.children[name] == nil {
            try charge(Self.directoryCost)
            guard mkdirat(parent, name, 0o700) == 0 || errno == EEXIST else { throw fail("cannot create '\(quote(key))': \(String(cString: strerror(errno)))") }
            node.children[name] = Node(.directory)
        }
        recorded[key] = attributes
    }

    mutating func symlink(_ parts: [String], target: String, attributes: Overlay.RecordedAttributes) throws {
        let key = parts.joined(separator: "/")
        guard !target.isEmpty else { throw fail("symlink '\(quote(key))' has an empty target") }
        let (parent, node) = try parent(of: parts)
        defer { close(parent) }
        try clear(parts, in: parent, node: node, for: .symlink)
        guard symlinkat(target, parent, parts[parts.count - 1]) == 0 else { throw fail("cannot create symlink '\(quote(key))': \(String(cString: strerror(errno)))") }
        node.children[parts[parts.count - 1]] = Node(.symlink)
        recorded[key] = Overlay.RecordedAttributes(mode: 0o777, owner: attributes.owner)
    }

    /// Writes a regular file from `read` (which fills a buffer and returns the count, 0 at the end).
    mutating func file(_ parts: [String], attributes: Overlay.RecordedAttributes, read: (UnsafeMutableRawBufferPointer) throws -> Int) throws {
        let key = parts.joined(separator: "/")
        let (parent, node) = try parent(of: parts)
        defer { close(parent) }
        try clear(parts, in: parent, node: node, for: .file)
        let fd = openat(parent, parts[parts.count - 1], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw fail("cannot create '\(quote(key))': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        node.children[parts[parts.count - 1]] = Node(.file)
        recorded[key] = attributes
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try read(buffer)
            if count == 0 { break }
            try charge(Int64(count))
            var offset = 0
            while offset < count {
                let done = write(fd, buffer.baseAddress! + offset, count - offset)
                if done < 0, errno == EINTR { continue }
                guard done > 0 else { throw fail("cannot write '\(quote(key))': \(String(cString: strerror(errno)))") }
                offset += done
            }
        }
    }

    /// The node the archive made at `parts`, if any.
    func node(at parts: [String]) -> Node? {
        var node = tree
        for name in parts {
            guard let child = node.children[name] else { return nil }
            node = child
        }
        return node
    }

    /// A hard link: a copy of the earlier regular file it names.
    mutating func copyFile(from target: [String], to parts: [String], attributes: Overlay.RecordedAttributes) throws {
        let source = target.joined(separator: "/")
        guard !target.isEmpty, !target.contains(".."), node(at: target)?.kind == .file else {
            throw fail("hard link '\(quote(parts.joined(separator: "/")))' names '\(quote(source))', which is no earlier file of the archive")
        }
        let (sourceParent, _) = try parent(of: target)
        let input = openat(sourceParent, target[target.count - 1], O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        close(sourceParent)
        guard input >= 0 else { throw fail("cannot open '\(quote(source))': \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let fail = self.fail
        let quoted = quote(source)
        try file(parts, attributes: attributes) { buffer in
            while true {
                let count = read(input, buffer.baseAddress, buffer.count)
                if count < 0, errno == EINTR { continue }
                guard count >= 0 else { throw fail("cannot read '\(quoted)': \(String(cString: strerror(errno)))") }
                return count
            }
        }
    }
}
