#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few facts about a file on disk that decide its layer entry, read with `lstat`.
struct FileFacts {
    enum Kind { case regular, directory, symlink, other(String) }
    var kind: Kind
    var permissions: UInt32
    var size: Int64
    var linkCount: Int

    /// `lstat` (or `stat` when `followLinks`) of `path`, or `nil` when it does not exist.
    static func read(_ path: String, followLinks: Bool = false) throws -> FileFacts? {
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
    static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            throw LayerError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name: String? = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                let bytes = raw.prefix(while: { $0 != 0 })
                return String(validating: Array(bytes), as: UTF8.self)
            }
            guard let name else {
                throw LayerError.invalidImagePath(path + "/<name>", reason: "a file name in this directory is not valid UTF-8")
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return names
    }

    /// The target of a symlink.
    static func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { throw LayerError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The canonical path (every symlink resolved), or `nil` when it does not resolve.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Fails with a one-line error when `path` cannot be opened for reading.
    static func checkReadable(_ path: String) throws {
        // Non-blocking: opening a FIFO for reading would otherwise wait for a writer.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw LayerError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        close(fd)
    }
}
