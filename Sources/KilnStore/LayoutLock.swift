import KilnPlatform

/// An advisory lock on `DIR/.kiln-lock` that serializes kiln processes writing one layout:
/// `index.json` read-modify-write and removals after a failure.
///
/// The lock is on a file of its own because `index.json` is replaced by rename, which would
/// leave a lock on the old inode. It guards against other kiln processes only: skopeo and
/// umoci take no lock of their own.
struct LayoutLock {
    static let fileName = ".kiln-lock"
    /// How long a writer waits for another before it fails cleanly.
    static let patience: Duration = .seconds(120)

    private let fd: Int32

    /// Waits (polling, so no thread blocks) until the lock is held.
    static func acquire(directory: String) async throws -> LayoutLock {
        let path = "\(directory)/\(fileName)"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw StoreError.io(path: path, reason: FileIO.errorText()) }
        let deadline = ContinuousClock.now + patience
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let reason = FileIO.errorText()
                FileIO.close(fd)
                throw StoreError.io(path: path, reason: reason)
            }
            guard ContinuousClock.now < deadline else {
                FileIO.close(fd)
                throw StoreError.io(path: path, reason: "another kiln process has held this layout's lock for \(patience); try again")
            }
            do { try await Task.sleep(for: .milliseconds(20)) } catch {
                FileIO.close(fd)
                throw error
            }
        }
        return LayoutLock(fd: fd)
    }

    /// Blocks until the lock is held (for `abort()`, which is synchronous).
    static func acquireBlocking(directory: String) -> LayoutLock? {
        let fd = open("\(directory)/\(fileName)", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { return nil }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { FileIO.close(fd); return nil }
        }
        return LayoutLock(fd: fd)
    }

    func release() {
        _ = flock(fd, LOCK_UN)
        FileIO.close(fd)
    }
}

