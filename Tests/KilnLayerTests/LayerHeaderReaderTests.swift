import Foundation
import KilnLayer
import KilnTestSupport
import Testing

/// Layers written by an independent writer (Python's tarfile; gzip, zstd and plain) read back as
/// the changes they make to the skeleton.
@Suite struct LayerHeaderReaderTests {
    static let writer = #"""
import io, sys, tarfile
out, fmt = sys.argv[1], sys.argv[2]
def add(t, name, kind, mode=0o755, uid=0, gid=0, data=b"", link=""):
    info = tarfile.TarInfo(name); info.type = kind; info.mode = mode; info.uid = uid; info.gid = gid
    info.linkname = link; info.size = len(data) if kind == tarfile.REGTYPE else 0
    t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
with tarfile.open(out, "w:gz" if fmt == "gz" else "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "./", tarfile.DIRTYPE)
    add(t, "./tmp/", tarfile.DIRTYPE, 0o1777)
    add(t, "var/local", tarfile.DIRTYPE, 0o2775, 0, 50)
    add(t, "bin", tarfile.SYMTYPE, 0o777, link="usr/bin")
    add(t, "etc/passwd", tarfile.REGTYPE, 0o644, data=b"root:x:0:0::/root:/bin/sh\napp:x:10:20::/:/bin/sh\n")
    add(t, "etc/group", tarfile.REGTYPE, 0o644, data=b"root:x:0:\nweb:x:20:\n")
    add(t, "etc/passwd-", tarfile.LNKTYPE, 0o644, link="etc/passwd")
    add(t, "opt/.wh..wh..opq", tarfile.REGTYPE, 0o644)
    add(t, "opt/.wh.gone", tarfile.REGTYPE, 0o644)
    add(t, "opt/.wh..wh.plnk", tarfile.REGTYPE, 0o644)
    add(t, "srv/" + "d" * 150 + "/", tarfile.DIRTYPE, 0o700, 1000, 1000)
    add(t, "data/big", tarfile.REGTYPE, 0o644, data=b"x" * 300000)
"""#

    private func layer(_ format: String, in dir: TemporaryDirectory) throws -> [UInt8] {
        let tar = dir("layer." + format)
        _ = try runChecked("python3", ["-c", Self.writer, tar, format == "gz" ? "gz" : "tar"])
        if format == "zst" {
            _ = try runChecked("zstd", ["-q", "-f", tar, "-o", tar + ".zst"])
            return Array(try Data(contentsOf: URL(fileURLWithPath: tar + ".zst")))
        }
        return Array(try Data(contentsOf: URL(fileURLWithPath: tar)))
    }

    /// Feeds the blob in small pieces, as a registry's body arrives.
    private func read(_ blob: [UInt8], chunk: Int = 1000) throws -> LayerChanges {
        var offset = 0
        return try LayerHeaderReader.read(what: "layer L") {
            guard offset < blob.count else { return nil }
            defer { offset += chunk }
            return Array(blob[offset..<min(blob.count, offset + chunk)])
        }
    }

    @Test(arguments: ["gz", "zst", "tar"]) func everyEntryKindIsRead(format: String) throws {
        let dir = try TemporaryDirectory()
        let changes = try read(try layer(format, in: dir))
        let summary = changes.changes.map { "\($0.path) \($0.change)" }
        #expect(summary == [
            "/tmp directory(mode: 1023, owner: 0:0)",
            "/var/local directory(mode: 1533, owner: 0:50)",
            "/bin symlink(target: \"usr/bin\")",
            "/etc/passwd other",
            "/etc/group other",
            "/etc/passwd- other",
            "/opt opaque",
            "/opt/gone whiteout",
            "/srv/\(String(repeating: "d", count: 150)) directory(mode: 448, owner: 1000:1000)",
            "/data/big other",
        ])
        let tree = BaseTree().applying(changes)
        #expect(tree.users["app"] == Owner(uid: 10, gid: 20) && tree.groups["web"] == 20)
    }

    @Test func brokenAndHostileLayersAreOneErrorNamingTheLayer() throws {
        let dir = try TemporaryDirectory()
        let good = try layer("gz", in: dir)
        #expect(throws: LayerError.self) { try read(Array(good.prefix(good.count / 2))) }
        var corrupt = good
        corrupt[corrupt.count / 2] ^= 0xFF
        #expect(throws: LayerError.self) { try read(corrupt) }
        _ = try runChecked("python3", ["-c", """
            import io, tarfile
            with tarfile.open("\(dir("evil.tar"))", "w") as t:
                i = tarfile.TarInfo("etc/../../evil"); i.size = 0; t.addfile(i, io.BytesIO(b""))
            """])
        let evil = Array(try Data(contentsOf: URL(fileURLWithPath: dir("evil.tar"))))
        #expect(throws: LayerError.archive("layer L: entry 'etc/../../evil' leaves the image root")) { try read(evil) }
        struct Gone: Error {}
        #expect(throws: Gone.self) { try LayerHeaderReader.read(what: "layer L") { throw Gone() } }
    }
}
