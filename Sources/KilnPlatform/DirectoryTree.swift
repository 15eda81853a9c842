/// Removing a directory tree of any depth with `openat`/`unlinkat`, one directory open at a time.
///
/// A tree an archive built can be deeper than the kernel's paths (`PATH_MAX`): every path-based
/// removal (Foundation's `removeItem`, `nftw`) fails on it with `ENAMETOOLONG` and leaves it
/// behind. This walk names each entry relative to its open parent, never follows a link (a
/// link is removed, not entered), holds one directory descriptor whatever the depth (it climbs
/// back with `..`, checked to be the directory it came from), and costs one listing per
/// directory plus one to see it empty.
package enum DirectoryTree {
    /// Why a tree could not be removed whole.
    package struct Failure: Error, CustomStringConvertible {
        package let path: String
        package let reason: String
        package var description: String { "cannot remove '\(path)': \(reason)" }
    }

    /// A directory on the way down: its name in its parent, its identity (to check the climb
    /// back), and the subdirectories of it still to remove.
    private struct Level {
        /// NUL-terminated: names are bytes, not necessarily UTF-8.
        var name: [CChar]
        var device: UInt64
        var inode: UInt64
        var pending: [[CChar]]
    }

    /// Removes `path` and everything below it; nothing when it does not exist. A link or file at
    /// `path` is removed itself (never followed).
    /// - Throws: ``Failure`` when something could not be removed (what could be is gone).
    package static func remove(_ path: String) throws {
        var fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            switch errno {
            case ENOENT: return
            case ENOTDIR, ELOOP:
                guard unlink(path) == 0 || errno == ENOENT else { throw Failure(path: path, reason: errorText()) }
                return
            default: throw Failure(path: path, reason: errorText())
            }
        }
        guard let root = identity(of: fd) else {
            let reason = errorText()
            _ = close(fd)
            throw Failure(path: path, reason: reason)
        }
        var levels = [Level(name: [0], device: root.device, inode: root.inode, pending: [])]
        do {
            try clearEntries(of: fd, into: &levels[0].pending, path: path)
            while true {
                if let next = levels[levels.count - 1].pending.popLast() {
                    guard let child = try openChild(next, of: fd, path: path) else { continue }
                    guard let id = identity(of: child) else {
                        let reason = errorText()
                        _ = close(child)
                        throw Failure(path: path, reason: reason)
                    }
                    _ = close(fd)
                    fd = child
                    levels.append(Level(name: next, device: id.device, inode: id.inode, pending: []))
                    try clearEntries(of: fd, into: &levels[levels.count - 1].pending, path: path)
                    continue
                }
                // Everything listed is gone; one more look for what appeared meanwhile.
                try clearEntries(of: fd, into: &levels[levels.count - 1].pending, path: path)
                guard levels[levels.count - 1].pending.isEmpty else { continue }
                guard levels.count > 1 else { break }
                let parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard parent >= 0 else { throw Failure(path: path, reason: errorText()) }
                let expected = levels[levels.count - 2]
                guard let id = identity(of: parent), id.device == expected.device, id.inode == expected.inode else {
                    _ = close(parent)
                    throw Failure(path: path, reason: "a directory was moved while it was being removed")
                }
                _ = close(fd)
                fd = parent
                let done = levels.removeLast()
                guard unlinkat(fd, done.name, AT_REMOVEDIR) == 0 || errno == ENOENT else { throw Failure(path: path, reason: errorText()) }
            }
        } catch {
            _ = close(fd)
            throw error
        }
        _ = close(fd)
        guard rmdir(path) == 0 || errno == ENOENT else { throw Failure(path: path, reason: errorText()) }
    }

    /// Unlinks every entry of `fd` that is not a directory; adds the directories' names to
    /// `directories`.
    private static func clearEntries(of fd: Int32, into directories: inout [[CChar]], path: String) throws {
        for (name, isDirectory) in try entries(of: fd, path: path) {
            if isDirectory {
                directories.append(name)
            } else if unlinkat(fd, name, 0) != 0 {
                switch errno {
                case ENOENT: continue
                case EISDIR, EPERM: directories.append(name)
                default: throw Failure(path: path, reason: errorText())
                }
            }
        }
    }

    /// The names in `fd` (without `.` and `..`), each with whether it is a directory (not
    /// following links). Read whole before anything is removed.
    private static func entries(of fd: Int32, path: String) throws -> [([CChar], Bool)] {
        let copy = dup(fd)
        guard copy >= 0 else { throw Failure(path: path, reason: errorText()) }
        guard let directory = fdopendir(copy) else {
            let reason = errorText()
            _ = close(copy)
            throw Failure(path: path, reason: reason)
        }
        defer { closedir(directory) }
        var result: [([CChar], Bool)] = []
        while let entry = readdir(directory) {
            let name: [CChar] = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })).map { CChar(bitPattern: $0) } + [0] }
            if name == [46, 0] || name == [46, 46, 0] { continue }
            var isDirectory = Int(entry.pointee.d_type) == Int(DT_DIR)
            if Int(entry.pointee.d_type) == Int(DT_UNKNOWN) {
                var info = stat()
                isDirectory = fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
            }
            result.append((name, isDirectory))
        }
        return result
    }

    /// Opens the subdirectory `name` of `fd` without following a link; `nil` when it is gone or
    /// turned out to be no directory (then it is unlinked). A directory without search or read
    /// permission for its owner (this user) gets it first.
    private static func openChild(_ name: [CChar], of fd: Int32, path: String) throws -> Int32? {
        for attempt in 0..<2 {
            let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if child >= 0 { return child }
            switch errno {
            case ENOENT:
                return nil
            case ENOTDIR, ELOOP:
                guard unlinkat(fd, name, 0) == 0 || errno == ENOENT else { throw Failure(path: path, reason: errorText()) }
                return nil
            case EACCES where attempt == 0:
                guard fchmodat(fd, name, 0o700, 0) == 0 else { throw Failure(path: path, reason: errorText()) }
            default:
                throw Failure(path: path, reason: errorText())
            }
        }
        throw Failure(path: path, reason: errorText())
    }

    private static func identity(of fd: Int32) -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        return (UInt64(truncatingIfNeeded: info.st_dev), UInt64(truncatingIfNeeded: info.st_ino))
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
