import Foundation
import KilnLayer
import KilnTestSupport
import Testing

/// The base's skeleton: how layers build it (whiteouts, opaque directories, replacements) and
/// how a path resolves through its symlinks, as BuildKit's COPY resolves a destination.
@Suite struct BaseTreeTests {
    static func path(_ text: String) -> ImagePath { try! ImagePath(absolute: text) }
    static func dir(_ text: String, _ mode: UInt32 = 0o755, _ uid: Int = 0, _ gid: Int = 0) -> (path: ImagePath, change: LayerChanges.Change) {
        (path(text), .directory(mode: mode, owner: Owner(uid: uid, gid: gid)))
    }
    static func link(_ text: String, _ target: String) -> (path: ImagePath, change: LayerChanges.Change) { (path(text), .symlink(target: target)) }
    static func other(_ text: String) -> (path: ImagePath, change: LayerChanges.Change) { (path(text), .other) }

    /// A merged-/usr Debian-like skeleton.
    static let debian: BaseTree = BaseTree().applying(LayerChanges(changes: [
        dir("/etc"), dir("/tmp", 0o1777), dir("/usr"), dir("/usr/bin"), dir("/usr/lib"),
        link("/bin", "usr/bin"), link("/lib", "usr/lib"), link("/lib64", "/usr/lib64"),
        dir("/var"), dir("/var/local", 0o2775, 0, 50), dir("/var/log"), dir("/var/log/nginx", 0o755, 0, 4),
        link("/etc/alternatives-x", "../usr/bin/x-real"), link("/usr/bin/loop1", "loop2"), link("/usr/bin/loop2", "loop1"),
        link("/escape", "../../../../etc"), other("/etc/passwd"), other("/etc/group"),
    ], passwd: Array("root:x:0:0::/root:/bin/sh\nnginx:x:101:102::/nonexistent:/bin/false\nbroken line\n".utf8),
       group: Array("root:x:0:\nadm:x:4:\nstaff:x:50:\nnginx:x:102:\n".utf8)))

    @Test func destinationsResolveThroughTheBasesLinksClampedToTheRoot() throws {
        let tree = Self.debian
        #expect(try tree.resolve(Self.path("/bin/healthcheck.sh"), followingLast: true) == Self.path("/usr/bin/healthcheck.sh"))
        #expect(try tree.resolve(Self.path("/bin"), followingLast: true) == Self.path("/usr/bin"))
        #expect(try tree.resolve(Self.path("/bin"), followingLast: false) == Self.path("/bin"))
        // Absolute targets restart at the image root; `..` stops there.
        #expect(try tree.resolve(Self.path("/lib64/ld.so"), followingLast: true) == Self.path("/usr/lib64/ld.so"))
        #expect(try tree.resolve(Self.path("/escape/passwd"), followingLast: true) == Self.path("/etc/passwd"))
        // A link through a link: /etc/alternatives-x -> ../usr/bin/x-real is itself a plain name.
        #expect(try tree.resolve(Self.path("/etc/alternatives-x"), followingLast: true) == Self.path("/usr/bin/x-real"))
        #expect(throws: LayerError.self) { try tree.resolve(Self.path("/bin/loop1/x"), followingLast: true) }
    }

    /// The kernel's limit (RootedPath's): a destination through 40 links resolves, through 41
    /// it is refused as a loop.
    @Test func destinationsFollowAtMostFortyLinks() throws {
        var changes = [Self.dir("/end")]
        for i in 0..<41 { changes.append(Self.link("/l\(i)", i == 40 ? "/end" : "l\(i + 1)")) }
        let tree = BaseTree().applying(LayerChanges(changes: changes, passwd: nil, group: nil))
        #expect(try tree.resolve(Self.path("/l1/app.conf"), followingLast: true) == Self.path("/end/app.conf"))
        #expect { try tree.resolve(Self.path("/l0/app.conf"), followingLast: true) } throws: { "\($0)".contains("loop of symlinks") }
        // Links not followed (the last name of a removal) do not count.
        #expect(try tree.resolve(Self.path("/l0"), followingLast: false) == Self.path("/l0"))
    }

    @Test func upperLayersWhiteoutsOpaqueDirectoriesAndReplacementsCount() {
        var tree = BaseTree().applying(LayerChanges(changes: [
            Self.dir("/a"), Self.dir("/a/b"), Self.dir("/a/b/c"), Self.dir("/keep"), Self.dir("/keep/old"), Self.dir("/d"), Self.dir("/d/sub"),
            Self.link("/l", "a"), Self.dir("/f"), Self.dir("/f/x"),
        ]))
        tree = tree.applying(LayerChanges(changes: [
            (Self.path("/a/b"), .whiteout),          // .wh.b: b and everything below go
            (Self.path("/keep"), .opaque),           // .wh..wh..opq: lower children go, the dir stays
            Self.dir("/keep/new", 0o700),            // the same layer's own entries stay
            Self.dir("/l", 0o750),                   // a directory replaces the symlink
            Self.other("/f"),                        // a file replaces the directory and its contents
            Self.dir("/d", 0o1777, 0, 3),            // a directory over a directory: attributes only
            Self.dir("/implied/child"),              // missing parents appear as a runtime makes them
        ]))
        let entries = tree.entries.map { "\($0.path) \($0.node)" }
        #expect(entries == [
            "/a directory(mode: 493, owner: 0:0)",
            "/d directory(mode: 1023, owner: 0:3)",
            "/d/sub directory(mode: 493, owner: 0:0)",
            "/implied directory(mode: 493, owner: 0:0)",
            "/implied/child directory(mode: 493, owner: 0:0)",
            "/keep directory(mode: 493, owner: 0:0)",
            "/keep/new directory(mode: 448, owner: 0:0)",
            "/l directory(mode: 488, owner: 0:0)",
        ])
    }

    @Test func ownerNamesResolveAgainstTheBasesUserDatabase() throws {
        let tree = Self.debian
        #expect(try OwnerSpec(parsing: "nginx:adm").resolve(in: tree) == Owner(uid: 101, gid: 4))
        #expect(try OwnerSpec(parsing: "nginx").resolve(in: tree) == Owner(uid: 101, gid: 102), "a user name alone: its passwd line's group, as BuildKit's COPY --chown")
        #expect(try OwnerSpec(parsing: "nginx:102").resolve(in: tree) == Owner(uid: 101, gid: 102))
        #expect(try OwnerSpec(parsing: "root").resolve(in: BaseTree()) == Owner(uid: 0, gid: 0), "root needs no passwd, as in BuildKit")
        #expect(try OwnerSpec(parsing: "7:root").resolve(in: BaseTree()) == Owner(uid: 7, gid: 0))
        #expect(try OwnerSpec(parsing: "1000:staff").resolve(in: tree) == Owner(uid: 1000, gid: 50))
        #expect(try OwnerSpec(parsing: "7").resolve(in: tree) == Owner(uid: 7, gid: 7))
        #expect(throws: LayerError.unknownOwner("user 'kong' of owner 'kong:adm' is not in the base's /etc/passwd")) { try OwnerSpec(parsing: "kong:adm").resolve(in: tree) }
        #expect(throws: LayerError.unknownOwner("group 'wheel' of owner 'root:wheel' is not in the base's /etc/group")) { try OwnerSpec(parsing: "root:wheel").resolve(in: tree) }
        for bad in ["", ":", "a:b:c", "-1:0", "9999999999:0", "ro ot", "1a:0", "x:"] {
            #expect(throws: LayerError.invalidOwner(bad)) { try OwnerSpec(parsing: bad) }
        }
        // A later layer that deletes /etc/passwd (or all of /etc) takes the names away.
        let without = tree.applying(LayerChanges(changes: [(Self.path("/etc"), .opaque)]))
        #expect(without.users.isEmpty && without.groups.isEmpty)
        let replaced = tree.applying(LayerChanges(changes: [Self.other("/etc/passwd")], passwd: Array("app:x:5:6::/:/bin/sh\n".utf8)))
        #expect(replaced.users == ["app": Owner(uid: 5, gid: 6)] && replaced.groups["adm"] == 4)
    }

    @Test func theSkeletonTextRoundTripsAndIsVerifiedLineByLine() throws {
        let text = Self.debian.serialized()
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n")
        #expect(lines.first == "[\"kiln base tree\",1]")
        #expect(lines.contains("[\"dir\",\"/tmp\",\"1777\",0,0]"))
        #expect(lines.contains("[\"link\",\"/bin\",\"usr/bin\"]"))
        #expect(lines.contains("[\"user\",\"nginx\",101,102]"))
        #expect(lines.contains("[\"group\",\"adm\",4]"))
        #expect(try BaseTree(parsing: text, what: "t") == Self.debian)
        #expect(throws: TreeTextError(message: "t:2: '/a/../b' is not a path in the image")) {
            try BaseTree(parsing: Array("[\"kiln base tree\",1]\n[\"dir\",\"/a/../b\",\"0755\",0,0]\n".utf8), what: "t")
        }
        #expect(throws: TreeTextError.self) { try BaseTree(parsing: Array("[\"kiln base tree\",2]\n".utf8), what: "t") }
        let changes = LayerChanges(changes: [Self.dir("/x", 0o2775, 3, 4), Self.link("/y", "x"), Self.other("/z"), (Self.path("/w"), .whiteout), (ImagePath.root, .opaque)],
                                   passwd: Array("a:x:1:1::/:/bin/sh\n".utf8))
        #expect(LayerChanges(parsing: changes.serialized()) == changes)
        #expect(LayerChanges(parsing: Array("[\"kiln layer changes\",1]\n[\"dir\",\"/x\"]\n".utf8)) == nil)
    }
}
