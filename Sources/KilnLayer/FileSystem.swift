import KilnPlatform

/// The few facts about a file on disk that decide its layer entry, read with `lstat`.
package struct FileFacts {
    package enum Kind { case regular, directory, symlink, other(String) }
    package var kind: Kind
    package var permissions: UInt32
    package var size: Int64
    package var linkCount: Int

    /// `lstat` (or `stat` when `followLinks`) of `path`, or `nil` when it does not exist.
    package static func read(_ path: String, followLinks: Bool = false) throws -> FileFacts? {
        var info = stat()
        let result = followLinks ? stat(path, &info) : lstat(path, &info)
        if result != 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw LayerError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        let kind: Kind
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        case S_IFCHR: kind = .other("character device")
        case S_IFBLK: kind = .other("block device")
        case S_IFIFO: kind = .other("FIFO")
        case S_IFSOCK: kind = .other("socket")
        default: kind = .other("special file")
        }
        return FileFacts(kind: kind, permissions: UInt32(info.st_mode & 0o7777), size: Int64(info.st_size), linkCount: Int(info.st_nlink))
    }

    /// The names in a directory, excluding `.` and `..`, as raw bytes decoded strictly as UTF-8.
    package static func listDirectory(_ path: String) throws -> [String] {
        let listing = try listDirectoryNames(path)
        guard listing.notUTF8.isEmpty else {
            throw LayerError.invalidImagePath(path + "/<name>", reason: "a file name in this directory is not valid UTF-8")
        }
        return listing.names
    }

    /// The names in a directory (without `.` and `..`), and apart from them those that are not
    /// valid UTF-8, decoded with U+FFFD for messages and pattern matching only (such a name
    /// cannot be opened by its decoded form).
    package static func listDirectoryNames(_ path: String) throws -> (names: [String], notUTF8: [String]) {
        guard let dir = opendir(path) else {
            throw LayerError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { closedir(dir) }
        var names: [String] = []
        var notUTF8: [String] = []
        while let entry = readdir(dir) {
            let bytes: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                notUTF8.append(String(decoding: bytes, as: UTF8.self))
                continue
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return (names, notUTF8)
    }

    /// The target of a symlink.
    package static func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { throw LayerError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The canonical path (every symlink resolved), or `nil` when it does not resolve.
    package static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Opens a regular file below `source.root` name by name with `O_NOFOLLOW` (a symlink at
    /// any step is refused, which `O_NOFOLLOW` on the whole path would check only for the last
    /// name), non-blocking (a FIFO cannot hang the open), and checks what was opened.
    /// - Returns: the descriptor and the opened file's size.
    static func openBeneath(_ source: FileSource) throws -> (fd: Int32, size: Int64) {
        var directory = open(source.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw LayerError.unreadable(path: source.root, reason: String(cString: strerror(errno))) }
        for name in source.components.dropLast() {
            let next = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let failure = errno
            close(directory)
            guard next >= 0 else {
                if failure == ELOOP || failure == ENOTDIR { throw LayerError.fileChanged(source.description) }
                throw LayerError.unreadable(path: source.description, reason: String(cString: strerror(failure)))
            }
            directory = next
        }
        let fd = openat(directory, source.components.last ?? ".", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        let failure = errno
        close(directory)
        guard fd >= 0 else {
            if failure == ELOOP { throw LayerError.fileChanged(source.description) }
            throw LayerError.unreadable(path: source.description, reason: String(cString: strerror(failure)))
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw LayerError.fileChanged(source.description)
        }
        return (fd, Int64(info.st_size))
    }

    /// Fails with a one-line error when the file cannot be opened the way the layer builder will.
    static func checkOpenable(_ source: FileSource) throws {
        let (fd, _) = try openBeneath(source)
        close(fd)
    }
}
