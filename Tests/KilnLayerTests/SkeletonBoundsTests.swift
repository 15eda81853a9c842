import Foundation
import KilnLayer
import KilnTestSupport
import OCI
import Testing

/// Hostile base layers against the skeleton: names the kernel could not open are refused with
/// one error naming the layer, reading stays linear in the headers, every value read back from
/// a cache or a lock is range-checked, and kiln's own layer never carries a `.wh.` name.
@Suite struct SkeletonBoundsTests {
    /// Writes a tar (PAX, so names of any length) with Python's tarfile from `entries`
    /// (a Python expression: a list of (name, type, uid, linkname)) and returns its bytes.
    static func tar(_ entries: String, in dir: TemporaryDirectory) throws -> [UInt8] {
        let out = dir("layer-\(UUID().uuidString).tar")
        _ = try runChecked("python3", ["-c", """
            import io, tarfile
            with tarfile.open("\(out)", "w", format=tarfile.PAX_FORMAT) as t:
                for name, kind, uid, link in \(entries):
                    i = tarfile.TarInfo(name); i.type = kind; i.mode = 0o755; i.uid = uid; i.gid = uid; i.linkname = link
                    t.addfile(i, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
            """])
        return Array(try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    static func read(_ blob: [UInt8]) throws -> LayerChanges {
        var offset = 0
        return try LayerHeaderReader.read(what: "layer sha256:abc of base") {
            guard offset < blob.count else { return nil }
            defer { offset += 65536 }
            return Array(blob[offset..<min(blob.count, offset + 65536)])
        }
    }

    @Test func pathsLongerThanPATH_MAXAreRefusedNamingTheLayer() throws {
        let dir = try TemporaryDirectory()
        // 10,000 nested levels: 20,000 bytes of name, in a layer of a few KiB.
        let deep = try Self.tar(#"[("a/" * 10000 + "f", tarfile.REGTYPE, 0, "")]"#, in: dir)
        #expect { try Self.read(deep) } throws: { error in
            let text = "\(error)"
            return text.contains("layer sha256:abc of base") && text.contains("PATH_MAX") && text.contains("10001 levels") && text.count < 400
        }
        // A name of 256 bytes (NAME_MAX) and a link target of 4 KiB are refused the same way.
        #expect(throws: LayerError.self) { try Self.read(try Self.tar(#"[("x" * 256, tarfile.DIRTYPE, 0, "")]"#, in: dir)) }
        #expect(throws: LayerError.self) { try Self.read(try Self.tar(#"[("l", tarfile.SYMTYPE, 0, "t" * 4096)]"#, in: dir)) }
        // Just inside the limits: 2,047 levels, 4,095 bytes with the leading slash.
        let limit = try Self.read(try Self.tar(#"[("a/" * 2046 + "bc", tarfile.DIRTYPE, 0, "")]"#, in: dir))
        #expect(limit.changes.count == 1 && limit.changes[0].path.description.utf8.count == 4095)
    }

    /// 1,000 entries at the bottom of a 2,000-level tree: the old skeleton built every ancestor's
    /// whole path for every entry (billions of bytes, many minutes); names walked one by one
    /// take seconds. The limit guards against the quadratic cost coming back.
    @Test(.timeLimit(.minutes(1))) func theSkeletonIsLinearInTheLayersHeaders() throws {
        let dir = try TemporaryDirectory()
        let blob = try Self.tar(#"[("d/" * 2000, tarfile.DIRTYPE, 0, "")] + [("d/" * 2000 + "f%d" % n, tarfile.REGTYPE, 0, "") for n in range(500)] + [("d/" * 1999 + "x%d" % n, tarfile.DIRTYPE, 0, "") for n in range(500)]"#, in: dir)
        let changes = try Self.read(blob)
        #expect(changes.changes.count == 1001)
        var tree = BaseTree()
        tree.apply(changes)
        // 2,000 nested directories plus 500 beside the deepest.
        let entries = tree.entries
        #expect(entries.count == 2500)
        #expect(tree.isDirectory(try ImagePath(absolute: "/" + String(repeating: "d/", count: 1999) + "x499")))
        #expect(tree.pathBytes == entries.reduce(0) { $0 + $1.path.archiveName.utf8.count })
        // A later layer deleting the top drops the whole chain at once.
        tree.apply(LayerChanges(changes: [(try ImagePath(absolute: "/d"), .whiteout)]))
        #expect(tree.entries.isEmpty && tree.pathBytes == 0)
    }

    /// A destination is resolved as the kernel would open it: links may not lengthen it past
    /// PATH_MAX (255 long targets could otherwise make a path megabytes deep).
    @Test func aDestinationTheLinksMakeLongerThanPATH_MAXIsRefused() throws {
        let tree = BaseTree().applying(LayerChanges(changes: [(try ImagePath(absolute: "/l"), .symlink(target: String(repeating: "d/", count: 1500)))]))
        let given = try ImagePath(absolute: "/l/" + String(repeating: "e/", count: 1500))
        #expect(given.description.utf8.count < 4096)
        #expect(throws: LayerError.self) { try tree.resolve(given, followingLast: true) }
        #expect(try tree.resolve(try ImagePath(absolute: "/l/e"), followingLast: true).components.count == 1501)
        let dir = try TemporaryDirectory()
        try dir.write("app.conf", "x=1\n")
        #expect(throws: LayerError.self) { try OverlayScanner().scan(overlays: [Overlay(source: dir("app.conf"), destination: given)], base: tree) }
    }

    @Test func ownersOutsideWhatAKernelHasAreRefusedOrIgnored() throws {
        let dir = try TemporaryDirectory()
        // In a base layer: one error naming the layer (kiln would repeat the owner in its layer).
        for uid in ["-1", "2 ** 63 - 1", "2 ** 31"] {
            #expect(throws: LayerError.self, "uid \(uid)") { try Self.read(try Self.tar("[(\"etc/\", tarfile.DIRTYPE, \(uid), \"\")]", in: dir)) }
        }
        #expect(try Self.read(try Self.tar(#"[("etc/", tarfile.DIRTYPE, 2 ** 31 - 1, "")]"#, in: dir)).changes.count == 1)
        // In cached changes: the entry is not used (the layer is read again).
        for bad in [#"["dir","/etc","0755",-1,0]"#, #"["dir","/etc","0755",0,9223372036854775807]"#, #"["dir","/etc","0755",2147483648,0]"#,
                    #"["dir","/etc","17777",0,0]"#, #"["link","/l",""]"#, "[\"link\",\"/l\",\"\(String(repeating: "t", count: 4096))\"]",
                    "[\"dir\",\"/\(String(repeating: "a/", count: 2048))\",\"0755\",0,0]", "[\"other\",\"/\(String(repeating: "n", count: 256))\"]"] {
            #expect(LayerChanges(parsing: Array("[\"kiln layer changes\",1]\n\(bad)\n".utf8)) == nil, "\(bad.prefix(60))")
        }
        #expect(LayerChanges(parsing: Array("[\"kiln layer changes\",1]\n[\"dir\",\"/etc\",\"0755\",2147483647,0]\n".utf8)) != nil)
        // In a kiln.lock.d skeleton: an error naming the file and line.
        for bad in [#"["dir","/etc","0755",-1,0]"#, #"["user","kong",9223372036854775807,0]"#, #"["link","/l","a\u0000b"]"#,
                    "[\"dir\",\"/\(String(repeating: "a/", count: 2048))\",\"0755\",0,0]", #"["dir","/a/b","0755",0,0]"#] {
            #expect(throws: TreeTextError.self, "\(bad.prefix(60))") { try BaseTree(parsing: Array("[\"kiln base tree\",1]\n\(bad)\n".utf8), what: "t") }
        }
    }

    static let whiteoutBase: BaseTree = BaseTree().applying(LayerChanges(changes: [
        (try! ImagePath(absolute: "/etc"), .directory(mode: 0o755, owner: .root)),
        (try! ImagePath(absolute: "/usr/local"), .directory(mode: 0o755, owner: .root)),
        (try! ImagePath(absolute: "/opt"), .symlink(target: ".wh..wh..opq")),
        (try! ImagePath(absolute: "/srv"), .symlink(target: "/usr/.wh.local")),
        (try! ImagePath(absolute: "/var"), .symlink(target: "usr/.wh.x/..")),
    ]))

    @Test func whiteoutNamesReachedThroughTheBasesLinksAreRefused() throws {
        let dir = try TemporaryDirectory()
        try dir.write("app.conf", "x=1\n")
        try dir.write("tree/app.conf", "x=1\n")
        for (source, destination, resolved) in [("app.conf", "/opt/app.conf", "/.wh..wh..opq/app.conf"), ("tree", "/opt", "/.wh..wh..opq"),
                                                ("app.conf", "/srv/", "/usr/.wh.local"), ("tree", "/srv/conf", "/usr/.wh.local/conf")] {
            let overlay = Overlay(source: dir(source), destination: try ImagePath(absolute: destination), intoDirectory: destination.hasSuffix("/"))
            #expect(throws: LayerError.conflict("overlay \(dir(source)): destination '\(destination.hasSuffix("/") ? String(destination.dropLast()) : destination)' leads through the base's symlinks to '\(resolved)', and '\(resolved.split(separator: "/").first { $0.hasPrefix(".wh.") }!)' starts with '.wh.', which marks deletions in image layers")) {
                try OverlayScanner().scan(overlays: [overlay], base: Self.whiteoutBase)
            }
        }
        #expect(throws: LayerError.self) { try OverlayScanner().scan(overlays: [], removals: [try ImagePath(absolute: "/srv/bin")], base: Self.whiteoutBase) }
        // `..` after the name takes it back out of the path: that is not a whiteout name.
        let fine = try OverlayScanner().scan(overlays: [Overlay(source: dir("app.conf"), destination: try ImagePath(absolute: "/var/app.conf"))], base: Self.whiteoutBase)
        #expect(fine.map(\.path.description) == ["/usr", "/usr/app.conf"])
    }

    @Test func theLayerBuilderNeverWritesAWhiteoutNameItWasNotAskedFor() throws {
        let dir = try TemporaryDirectory()
        try dir.write("app.conf", "x=1\n")
        let file = try OverlayScanner().scan(overlays: [Overlay(source: dir("app.conf"), destination: try ImagePath(absolute: "/etc/app.conf"))])[1]
        func build(_ entries: [LayerEntry]) throws -> BuiltLayer { try LayerBuilder().build(entries) { _ in } }
        for path in ["/.wh..wh..opq/app.conf", "/usr/.wh.local/x", "/.wh.etc"] {
            var entry = file
            entry.path = try ImagePath(absolute: path)
            #expect(throws: LayerError.self, "\(path)") { try build([entry]) }
        }
        let directory = LayerEntry(path: try ImagePath(absolute: "/.wh..wh..opq"), kind: .directory, mode: 0o755, owner: .root)
        #expect(throws: LayerError.self) { try build([directory]) }
        // The whiteout a removal asks for is written; one below a whiteout name or named like an
        // opaque marker is not.
        #expect(try build([LayerEntry(path: try ImagePath(absolute: "/etc/.wh.old"), kind: .whiteout, mode: 0o644, owner: .root)]).size > 0)
        for path in ["/.wh.x/.wh.y", "/etc/.wh..wh..opq", "/etc/old"] {
            #expect(throws: LayerError.self, "\(path)") { try build([LayerEntry(path: try ImagePath(absolute: path), kind: .whiteout, mode: 0o644, owner: .root)]) }
        }
    }
}
