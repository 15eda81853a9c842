import Foundation
import KilnLayer
import KilnTestSupport
import OCI
import Testing

@Suite struct LayerBuilderTests {
    /// Builds a layer from `overlays` into `blob` and returns its digests.
    private func build(_ overlays: [Overlay], to blob: String, compression: LayerCompression = .storedGzip, times: EntryTimes = .content) throws -> BuiltLayer {
        let entries = try OverlayScanner().scan(overlays: overlays)
        FileManager.default.createFile(atPath: blob, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: blob))
        defer { try? handle.close() }
        return try LayerBuilder(compression: compression, entryTimes: times).build(entries) { handle.write(Data($0)) }
    }

    private func sampleTree(in dir: TemporaryDirectory, reversed: Bool = false, mtime: Date) throws {
        // Same content; creation order and mtimes differ between calls.
        let files = [("conf/a.conf", "alpha\n"), ("conf/sub/b.conf", "beta\n"), ("conf/z.sh", "#!/bin/sh\n"), ("conf/é.txt", "unicode\n")]
        for (path, text) in reversed ? files.reversed() : files {
            try dir.write(path, text, mode: path.hasSuffix(".sh") ? 0o755 : 0o644)
            try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: dir(path))
        }
    }

    @Test func digestsMatchWhatPeersComputeFromTheBlob() throws {
        let dir = try TemporaryDirectory()
        try sampleTree(in: dir, mtime: Date())
        for (compression, decompressor) in [(LayerCompression.storedGzip, "gzip"), (.gzip, "gzip"), (.zstd, "zstd")] {
            let blob = dir("layer.\(compression.rawValue)")
            let layer = try build([Overlay(source: dir("conf"), destination: try ImagePath(absolute: "/etc/app"))], to: blob, compression: compression)
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: blob)))
            #expect(layer.digest == Digest.of(bytes))
            #expect(layer.size == Int64(bytes.count))
            let tar = dir("layer-\(compression.rawValue).tar")
            try runChecked("sh", ["-c", "\(decompressor) -dc '\(blob)' > '\(tar)'"])
            #expect(layer.diffID == Digest.of(Array(try Data(contentsOf: URL(fileURLWithPath: tar)))))
        }
    }

    @Test func gnuTarSeesExactHeaders() throws {
        let dir = try TemporaryDirectory()
        try sampleTree(in: dir, mtime: Date())
        let blob = dir("layer.tgz")
        _ = try build([Overlay(source: dir("conf"), destination: try ImagePath(absolute: "/etc/app"), owner: .resolved(Owner(uid: 1000, gid: 0)))], to: blob, times: .fixed(1_700_000_000))
        let listing = try runChecked("tar", ["--numeric-owner", "--full-time", "-tvzf", blob], environment: ["TZ": "UTC", "LC_ALL": "C.UTF-8"]).stdout
        let lines = listing.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(lines == [
            "drwxr-xr-x 1000/0 0 2023-11-14 22:13:20 etc/",
            "drwxr-xr-x 1000/0 0 2023-11-14 22:13:20 etc/app/",
            "-rw-r--r-- 1000/0 6 2023-11-14 22:13:20 etc/app/a.conf",
            "drwxr-xr-x 1000/0 0 2023-11-14 22:13:20 etc/app/sub/",
            "-rw-r--r-- 1000/0 5 2023-11-14 22:13:20 etc/app/sub/b.conf",
            "-rwxr-xr-x 1000/0 10 2023-11-14 22:13:20 etc/app/z.sh",
            "-rw-r--r-- 1000/0 8 2023-11-14 22:13:20 etc/app/é.txt",
        ])
        // No user or group names leak from the building machine.
        let verbose = try runChecked("tar", ["-tvzf", blob]).stdout
        #expect(!verbose.contains("root"))
        // Stored gzip's header: deflate, no flags, MTIME zero, XFL 0, OS 255 ("unknown").
        let header = Array(try Data(contentsOf: URL(fileURLWithPath: blob)).prefix(10))
        #expect(header == [0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff])
        // libarchive's gzip: no file name flag, MTIME zero, OS byte fixed.
        _ = try build([Overlay(source: dir("conf"), destination: try ImagePath(absolute: "/etc/app"))], to: dir("zlib.tgz"), compression: .gzip)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: dir("zlib.tgz"))).prefix(10)) == [0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03])
    }

    @Test func sameInputsGiveSameBytesWhateverMtimesAndCreationOrder() throws {
        let first = try TemporaryDirectory()
        let second = try TemporaryDirectory()
        try sampleTree(in: first, mtime: Date(timeIntervalSince1970: 1_000))
        try sampleTree(in: second, reversed: true, mtime: Date())
        let a = try build([Overlay(source: first("conf"), destination: try ImagePath(absolute: "/etc/app"))], to: first("l"))
        let b = try build([Overlay(source: second("conf"), destination: try ImagePath(absolute: "/etc/app"))], to: second("l"))
        #expect(a == b)
        #expect(try Data(contentsOf: URL(fileURLWithPath: first("l"))) == Data(contentsOf: URL(fileURLWithPath: second("l"))))
    }

    @Test func modificationTimeChangesTheDigest() throws {
        let dir = try TemporaryDirectory()
        try sampleTree(in: dir, mtime: Date())
        let overlay = [Overlay(source: dir("conf"), destination: try ImagePath(absolute: "/etc/app"))]
        #expect(try build(overlay, to: dir("a"), times: .fixed(0)).diffID != build(overlay, to: dir("b"), times: .fixed(1)).diffID)
        #expect(try build(overlay, to: dir("c"), times: .fixed(0)).diffID != build(overlay, to: dir("d"), times: .content).diffID)
    }

    /// Between the scan and the read, a directory of the overlay is swapped for a symlink to a
    /// secret of the same size: the build refuses instead of baking the link's target.
    @Test func namesSwappedForLinksAfterTheScanAreRefused() throws {
        let dir = try TemporaryDirectory()
        try dir.write("tree/conf/app.conf", "public\n")
        try dir.write("secret/conf/app.conf", "SECRET\n")
        let entries = try OverlayScanner().scan(overlays: [Overlay(source: dir("tree"), destination: try ImagePath(absolute: "/etc/app"))])
        try FileManager.default.removeItem(atPath: dir("tree/conf"))
        try FileManager.default.createSymbolicLink(atPath: dir("tree/conf"), withDestinationPath: dir("secret/conf"))
        var written: [UInt8] = []
        #expect(throws: LayerError.fileChanged(dir("tree/conf/app.conf"))) {
            try LayerBuilder().build(entries) { written += Array($0) }
        }

        // The file itself swapped for a link, and for a FIFO (which must not hang the read).
        try FileManager.default.removeItem(atPath: dir("tree/conf"))
        try dir.write("tree/conf/app.conf", "public\n")
        let again = try OverlayScanner().scan(overlays: [Overlay(source: dir("tree"), destination: try ImagePath(absolute: "/etc/app"))])
        try FileManager.default.removeItem(atPath: dir("tree/conf/app.conf"))
        try FileManager.default.createSymbolicLink(atPath: dir("tree/conf/app.conf"), withDestinationPath: dir("secret/conf/app.conf"))
        #expect(throws: LayerError.fileChanged(dir("tree/conf/app.conf"))) {
            try LayerBuilder().build(again) { _ in }
        }
        try FileManager.default.removeItem(atPath: dir("tree/conf/app.conf"))
        #expect(mkfifo(dir("tree/conf/app.conf"), 0o644) == 0)
        #expect(throws: LayerError.fileChanged(dir("tree/conf/app.conf"))) {
            try LayerBuilder().build(again) { _ in }
        }
    }
}
