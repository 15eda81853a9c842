import KilnPlatform

/// Small POSIX helpers with errors that name the path.
package enum FileIO {
    static func errorText() -> String { String(cString: strerror(errno)) }

    package static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The size of a regular file, or `nil` when it does not exist.
    static func size(_ path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    /// Creates a directory; returns whether it was created (false when it already existed).
    @discardableResult
    static func makeDirectory(_ path: String) throws -> Bool {
        if mkdir(path, 0o755) == 0 { return true }
        if errno == EEXIST, isDirectory(path) { return false }
        throw StoreError.io(path: path, reason: errorText())
    }

    static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Opens a regular file for reading. Non-blocking, so a FIFO put in a blob's place cannot
    /// hang the open; whatever was opened is then checked to be a regular file.
    static func openForReading(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw StoreError.io(path: path, reason: errorText()) }
        return try regularFile(fd, path: path)
    }

    /// `fd` when it is open on a regular file; else it is closed and the error names `path`.
    private static func regularFile(_ fd: Int32, path: String) throws -> Int32 {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = errorText()
            close(fd)
            throw StoreError.io(path: path, reason: reason)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw StoreError.io(path: path, reason: "not a regular file")
        }
        return fd
    }

    /// Opens the regular file `names` below `directory` name by name with `O_NOFOLLOW`: a link at
    /// any step below `directory` (a layout's `blobs`, `sha256`, or a blob itself) is refused,
    /// which `O_NOFOLLOW` on the whole path would check for the last name only. Non-blocking, so
    /// a FIFO cannot hang the open; what was opened is checked to be a regular file (`fstat`).
    static func openBeneath(_ directory: String, _ names: [String]) throws -> Int32 {
        let shown = ([directory] + names).joined(separator: "/")
        var parent = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else { throw StoreError.io(path: directory, reason: errorText()) }
        for (position, name) in names.enumerated() {
            let last = position == names.count - 1
            let flags = last ? O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC : O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
            let next = openat(parent, name, flags)
            let failure = errno
            close(parent)
            guard next >= 0 else {
                // ELOOP: the last name is a link; ENOTDIR: a directory name is a link or a file.
                if failure == ELOOP || failure == ENOTDIR { throw StoreError.io(path: shown, reason: "a symbolic link or not a directory on the way (kiln follows no links inside a layout)") }
                throw StoreError.io(path: shown, reason: String(cString: strerror(failure)))
            }
            parent = next
        }
        return try regularFile(parent, path: shown)
    }

    /// Reads the whole regular file `names` below `directory` without following links
    /// (``openBeneath(_:_:)``), refusing more than `limit` bytes.
    static func readFileBeneath(_ directory: String, _ names: [String], limit: Int) throws -> [UInt8]? {
        let fd = try openBeneath(directory, names)
        defer { close(fd) }
        return try readAll(fd, path: ([directory] + names).joined(separator: "/"), limit: limit)
    }

    /// Reads into `buffer`, retrying on EINTR; 0 at the end.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws -> Int {
        while true {
            let count = LibC.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw StoreError.io(path: path, reason: errorText()) }
        }
    }

    /// Reads at `offset` without moving the file position, retrying on EINTR; 0 at the end.
    static func read(_ fd: Int32, at offset: Int64, into buffer: UnsafeMutableRawBufferPointer, path: String) throws -> Int {
        while true {
            let count = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            if count >= 0 { return count }
            if errno != EINTR { throw StoreError.io(path: path, reason: errorText()) }
        }
    }

    /// `$TMPDIR`, else `/tmp`.
    static var temporaryDirectory: String {
        if let value = getenv("TMPDIR"), value.pointee != 0 {
            let text = String(cString: value)
            return text.count > 1 && text.hasSuffix("/") ? String(text.dropLast()) : text
        }
        return "/tmp"
    }

    /// Reads a whole file, refusing more than `limit` bytes.
    package static func readFile(_ path: String, limit: Int) throws -> [UInt8]? {
        let fd = try openForReading(path)
        defer { close(fd) }
        return try readAll(fd, path: path, limit: limit)
    }

    /// Reads `fd` to its end, refusing more than `limit` bytes (`nil`).
    private static func readAll(_ fd: Int32, path: String, limit: Int) throws -> [UInt8]? {
        var out: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try read(fd, into: buffer, path: path)
            if count == 0 { return out }
            out.append(contentsOf: buffer[0..<count])
            if out.count > limit { return nil }
        }
    }

    /// Writes all bytes to `fd`.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let count = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(path: path, reason: errorText())
            }
            offset += count
        }
    }

    /// A new, uniquely named file next to where it will be renamed to, not inherited by child
    /// processes (credential helpers).
    /// - Parameter mode: 0644 for blobs (content, readable by everyone whatever the umask);
    ///   mkstemp's 0600 stays for private files (the registry spool).
    static func createTemporary(in directory: String, mode: mode_t = 0o644) throws -> (fd: Int32, path: String) {
        var template = Array("\(directory)/.kiln-tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw StoreError.io(path: directory, reason: errorText()) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        if mode != 0o600 { fchmod(fd, mode) }
        // Held while the file is being written; the kernel drops it when the process dies,
        // which is how a later run tells an abandoned temporary file from a live one.
        _ = flock(fd, LOCK_EX | LOCK_NB)
        return (fd, path)
    }

    /// Removes `.kiln-tmp-*` files in `directory` left by kiln processes that died (kill -9,
    /// power loss): those whose lock nobody holds and that have not changed for `minimumAge`
    /// seconds (a file just made by `mkstemp` is not locked yet for a moment).
    static func sweepAbandonedTemporaries(in directory: String, minimumAge: Int = 10) {
        for name in listDirectory(directory) where name.hasPrefix(".kiln-tmp-") {
            let path = "\(directory)/\(name)"
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
                  Int(time(nil)) - LibC.modificationSeconds(info) >= minimumAge,
                  flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            // Still the same file under that name: then nobody is writing it.
            var named = stat()
            if lstat(path, &named) == 0, named.st_ino == info.st_ino, named.st_dev == info.st_dev { unlink(path) }
        }
    }

    /// Writes `bytes` to `path` atomically: a reader sees the old file or the new one, never half.
    /// kiln's one atomic file write (no Foundation `.atomic`): its temporary file is a
    /// `.kiln-tmp-*` in `directory`, and the ones of dead runs there are swept first
    /// (``sweepAbandonedTemporaries(in:minimumAge:)``), so a killed run leaves nothing for long.
    /// - Parameter mode: the file's permissions (`0o600` for a secret).
    package static func writeAtomically(_ bytes: [UInt8], to path: String, in directory: String, mode: mode_t = 0o644) throws {
        sweepAbandonedTemporaries(in: directory)
        try writeTemporary(bytes, in: directory, mode: mode) { temporary in try rename(temporary, to: path) }
    }

    /// ``writeAtomically(_:to:in:mode:)`` with the temporary file beside `path` (in `.` for a
    /// bare file name).
    package static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let parent = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        try writeAtomically(bytes, to: path, in: parent, mode: mode)
    }

    /// Writes a file the user named on the command line (`render-taskdef --output`,
    /// `--provenance-file`): a regular file is replaced atomically and keeps its permissions
    /// (a 0600 file stays private); a link is followed, so the file it names is replaced and
    /// the link stays; a FIFO or a device (`/dev/stdout`, `/dev/null`, a shell's `>(…)`) is
    /// written to as a shell's `>` writes it, never replaced by a file; a new name gets a new
    /// 0644 file.
    /// - Throws: ``StoreError/io(path:reason:)`` naming `path` (a directory, say).
    package static func writeUserFile(_ bytes: [UInt8], to path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { return try writeAtomically(bytes, to: path) }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            guard let resolved = realpath(path, nil) else { throw StoreError.io(path: path, reason: errorText()) }
            defer { free(resolved) }
            try writeAtomically(bytes, to: String(cString: resolved), mode: info.st_mode & 0o777)
        case S_IFDIR:
            throw StoreError.io(path: path, reason: "is a directory")
        default:
            let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
            guard fd >= 0 else { throw StoreError.io(path: path, reason: errorText()) }
            defer { close(fd) }
            try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
        }
    }

    /// Writes `bytes` to a new temporary file and hands its path to `place` while the file is
    /// still open and locked (so no sweep of another run can take it meanwhile); the temporary
    /// file is gone afterwards, whatever happened.
    private static func writeTemporary<T>(_ bytes: [UInt8], in directory: String, mode: mode_t = 0o644, place: (String) throws -> T) throws -> T {
        let (fd, temporary) = try createTemporary(in: directory, mode: mode)
        defer { close(fd) }
        do {
            try bytes.withUnsafeBytes { try writeAll(fd, $0, path: temporary) }
            guard fsync(fd) == 0 else { throw StoreError.io(path: temporary, reason: errorText()) }
            return try place(temporary)
        } catch {
            // Only when not placed: once renamed, the name may already be another run's file.
            unlink(temporary)
            throw error
        }
    }

    /// Creates `path` and any missing ancestors.
    /// - Returns: the directories it created, outermost first (for an abort to remove).
    package static func makeDirectories(_ path: String) throws -> [String] {
        if isDirectory(path) { return [] }
        var missing: [String] = []
        var current = path
        while !current.isEmpty, current != "/", !isDirectory(current) {
            missing.append(current)
            guard let slash = current.lastIndex(of: "/") else { break }
            current = String(current[..<slash])
        }
        var created: [String] = []
        for directory in missing.reversed() where try makeDirectory(directory) { created.append(directory) }
        return created
    }

    /// Moves a finished temporary file to `target` unless `target` already exists.
    /// - Returns: whether this call put the file there (false: another writer had, and the
    ///   temporary file is removed). A hard link does what rename cannot: fail when the name is
    ///   taken, so a run never counts another run's blob as its own.
    static func placeNew(_ temporary: String, at target: String) throws -> Bool {
        if link(temporary, target) == 0 {
            unlink(temporary)
            return true
        }
        if errno == EEXIST {
            unlink(temporary)
            return false
        }
        // File systems without hard links: rename, which replaces.
        try rename(temporary, to: target)
        return true
    }

    /// Writes a content-addressed file unless it exists: a reader never sees half of it.
    /// - Returns: whether this call created it.
    package static func writeNew(_ bytes: [UInt8], to path: String, in directory: String) throws -> Bool {
        try writeTemporary(bytes, in: directory) { temporary in try placeNew(temporary, at: path) }
    }

    static func rename(_ from: String, to: String) throws {
        guard LibC.rename(from, to) == 0 else { throw StoreError.io(path: to, reason: errorText()) }
    }

    static func remove(_ path: String) { unlink(path) }
    static func close(_ fd: Int32) { _ = LibC.close(fd) }
    static func removeDirectory(_ path: String) { rmdir(path) }
}
