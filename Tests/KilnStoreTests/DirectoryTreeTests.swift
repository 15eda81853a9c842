import Foundation
import KilnPlatform
import KilnTestSupport
import Testing

/// `DirectoryTree.remove`: what `kiln docker build` removes its ADD staging directories with,
/// whatever an archive built there.
@Suite struct DirectoryTreeTests {
    /// A tree far deeper than PATH_MAX (built name by name with `mkdirat`, as the unpacker
    /// builds), with files, links out of it and a directory nobody may enter: removed whole, and
    /// nothing a link points at is touched.
    @Test func removesATreeDeeperThanPathMaxWithoutFollowingLinks() throws {
        let dir = try TemporaryDirectory()
        try dir.write("outside/keep.txt", "keep")
        let root = dir("tree")
        #expect(mkdir(root, 0o700) == 0)
        var fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let levels = 3000
        for level in 0..<levels {
            if level % 300 == 0 {
                let file = openat(fd, "file", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
                #expect(file >= 0)
                _ = close(file)
                #expect(symlinkat(dir("outside"), fd, "link") == 0)
                #expect(symlinkat(dir("outside/keep.txt"), fd, "file-link") == 0)
            }
            #expect(mkdirat(fd, "level", 0o700) == 0)
            let next = openat(fd, "level", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            _ = close(fd)
            fd = next
        }
        // The bottom: a directory with a file, then made inaccessible; and a wide directory.
        #expect(mkdirat(fd, "locked", 0o700) == 0)
        let locked = openat(fd, "locked", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        _ = close(openat(locked, "inside", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600))
        _ = close(locked)
        #expect(fchmodat(fd, "locked", 0, 0) == 0)
        #expect(mkdirat(fd, "wide", 0o700) == 0)
        let wide = openat(fd, "wide", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        for index in 0..<2000 { _ = close(openat(wide, "f\(index)", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)) }
        _ = close(wide)
        _ = close(fd)
        // The deepest name is far beyond what a path can reach.
        #expect(levels * "level/".utf8.count > 4 * Int(PATH_MAX))

        try DirectoryTree.remove(root)
        var info = stat()
        #expect(lstat(root, &info) != 0 && errno == ENOENT, "the tree is gone")
        #expect(try String(contentsOfFile: dir("outside/keep.txt"), encoding: .utf8) == "keep", "links are removed, not followed")
        #expect(FileManager.default.fileExists(atPath: dir("outside")))
    }

    @Test func removesALinkItselfAndNothingWhenThePathIsMissing() throws {
        let dir = try TemporaryDirectory()
        try dir.write("target/keep.txt", "keep")
        #expect(symlink(dir("target"), dir("link")) == 0)
        try DirectoryTree.remove(dir("link"))
        var info = stat()
        #expect(lstat(dir("link"), &info) != 0)
        #expect(FileManager.default.fileExists(atPath: dir("target/keep.txt")))
        try DirectoryTree.remove(dir("missing"))
    }
}
