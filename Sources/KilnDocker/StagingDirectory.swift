import Foundation
import KilnPlatform
import KilnStore

/// The private directory where `kiln docker build` unpacks ADD's archives until the layer is
/// built: `TMPDIR/kiln-docker-add-XXXXXX`, mode 0700, holding a `.kiln-lock` file locked while
/// its build lives. The kernel drops the lock when the process dies (`kill -9` included), which
/// is how a later build tells an abandoned directory from a live one and removes it
/// (``sweepAbandoned(in:minimumAge:)``), as layouts sweep their temporary files.
/// Removal walks the tree with `openat`/`unlinkat` (``DirectoryTree``), so a tree deeper than
/// `PATH_MAX` goes too.
final class StagingDirectory {
    static let prefix = "kiln-docker-add-"
    static let lockName = ".kiln-lock"

    let path: String
    private var lock: Int32

    private init(path: String, lock: Int32) {
        self.path = path
        self.lock = lock
    }

    /// The system's temporary directory: `$TMPDIR`, else `/tmp`.
    static var temporaryDirectory: String {
        var path = FileManager.default.temporaryDirectory.path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return path
    }

    /// Makes a new staging directory in `parent` and locks it for this process.
    static func make(in parent: String = temporaryDirectory) throws -> StagingDirectory {
        var template = Array("\(parent)/\(prefix)XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw StoreError.io(path: parent, reason: String(cString: strerror(errno)))
        }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let lock = open("\(path)/\(lockName)", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            let reason = String(cString: strerror(errno))
            if lock >= 0 { _ = LibC.close(lock) }
            try? DirectoryTree.remove(path)
            throw StoreError.io(path: path, reason: reason)
        }
        return StagingDirectory(path: path, lock: lock)
    }

    /// Removes the directory and everything in it, then releases the lock (so no sweep of
    /// another build sees it half removed and unlocked meanwhile). What cannot be removed stays
    /// unlocked for the next build's sweep.
    func remove() {
        guard lock >= 0 else { return }
        try? DirectoryTree.remove(path)
        _ = LibC.close(lock)
        lock = -1
    }

    deinit { remove() }

    /// Removes the staging directories in `parent` whose build died: this user's
    /// `kiln-docker-add-*` directories whose lock nobody holds, made at least `minimumAge`
    /// seconds ago (a directory just made is not locked yet for a moment), and those without a
    /// lock file untouched for `unlockedAge` seconds. Links and other users' directories are
    /// left alone.
    static func sweepAbandoned(in parent: String = temporaryDirectory, minimumAge: Int = 10, unlockedAge: Int = 3600) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
        for name in names where name.hasPrefix(prefix) {
            let path = "\(parent)/\(name)"
            let directory = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard directory >= 0 else { continue }
            defer { _ = LibC.close(directory) }
            var info = stat()
            guard fstat(directory, &info) == 0, info.st_uid == getuid() else { continue }
            let lock = openat(directory, lockName, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            if lock >= 0 {
                defer { _ = LibC.close(lock) }
                var lockInfo = stat()
                guard fstat(lock, &lockInfo) == 0, (lockInfo.st_mode & S_IFMT) == S_IFREG,
                      Int(time(nil)) - LibC.modificationSeconds(lockInfo) >= minimumAge,
                      flock(lock, LOCK_EX | LOCK_NB) == 0 else { continue }
                // Held while removing: another sweep finds it locked and leaves it.
                try? DirectoryTree.remove(path)
            } else if errno == ENOENT, Int(time(nil)) - LibC.modificationSeconds(info) >= unlockedAge {
                // No lock: its build died between making the directory and locking it, or an
                // earlier kiln made it (they locked nothing; an hour untouched, no build is on it).
                try? DirectoryTree.remove(path)
            }
        }
    }
}
