import Foundation
import KilnLayer
import KilnTestSupport
import Testing

/// Overlays placed against a base's skeleton as BuildKit's COPY places files: through the
/// base's symlinks, into its directories, keeping their attributes.
@Suite struct OverlayPlacementTests {
    private func scan(_ overlays: [Overlay], removals: [String] = []) throws -> [String] {
        try OverlayScanner().scan(overlays: overlays, removals: removals.map { try ImagePath(absolute: $0) }, base: BaseTreeTests.debian).map(\.summary)
    }

    @Test func aDestinationThroughABaseSymlinkIsWrittenWhereTheLinkLeads() throws {
        let dir = try TemporaryDirectory()
        try dir.write("healthcheck.sh", "#!/bin/sh\nexit 0\n", mode: 0o755)
        #expect(try scan([Overlay(parsing: "\(dir("healthcheck.sh")):/bin/healthcheck.sh")]) == [
            "/usr d 755 0:0",
            "/usr/bin d 755 0:0",
            "/usr/bin/healthcheck.sh f 755 0:0",
        ])
        // The last name is followed too (COPY resolves its whole destination).
        #expect(try scan([Overlay(parsing: "\(dir("healthcheck.sh")):/etc/alternatives-x")]).last == "/usr/bin/x-real f 755 0:0")
        // A removal finds its directory the same way.
        #expect(try scan([], removals: ["/bin/sh"]) == ["/usr d 755 0:0", "/usr/bin d 755 0:0", "/usr/bin/.wh.sh w 644 0:0"])
    }

    @Test func directoriesOfTheBaseKeepTheirOwnerGroupAndMode() throws {
        let dir = try TemporaryDirectory()
        try dir.write("x", "x")
        let owner = try OwnerSpec(parsing: "nginx:nginx")
        #expect(try scan([Overlay(source: dir("x"), destination: try ImagePath(absolute: "/tmp/seed/x"), owner: owner)]) == [
            "/tmp d 1777 0:0",
            "/tmp/seed d 755 101:102",
            "/tmp/seed/x f 644 101:102",
        ])
        #expect(try scan([Overlay(parsing: "\(dir("x")):/var/local/x"), Overlay(parsing: "\(dir("x")):/var/log/nginx/x")]) == [
            "/var d 755 0:0",
            "/var/local d 2775 0:50",
            "/var/local/x f 644 0:0",
            "/var/log d 755 0:0",
            "/var/log/nginx d 755 0:4",
            "/var/log/nginx/x f 644 0:0",
        ])
    }

    @Test func aFileSentToADirectoryOfTheBaseGoesInsideWithOrWithoutASlash() throws {
        let dir = try TemporaryDirectory()
        try dir.write("app.conf", "a=1")
        for destination in ["/etc", "/etc/"] {
            #expect(try scan([Overlay(parsing: "\(dir("app.conf")):\(destination)")]) == ["/etc d 755 0:0", "/etc/app.conf f 644 0:0"])
        }
        // Through a link to a directory: /bin -> usr/bin.
        #expect(try scan([Overlay(parsing: "\(dir("app.conf")):/bin")]).last == "/usr/bin/app.conf f 644 0:0")
    }

    @Test func whatTheBaseMakesImpossibleIsRefusedWithTheReason() throws {
        let dir = try TemporaryDirectory()
        try dir.write("rootfs/bin/tool", "x")
        try dir.write("files/tmp", "not a directory")
        #expect(throws: LayerError.conflict("'/bin' is a symlink in the base (to 'usr/bin'); \(dir("rootfs/bin")) cannot make it a directory (send the overlay to where the link points)")) {
            try scan([Overlay(parsing: "\(dir("rootfs")):/")])
        }
        #expect(throws: LayerError.self) { try scan([Overlay(parsing: "\(dir("files")):/")]) }
        #expect(throws: LayerError.conflict("'/tmp' is a directory in the base; \(dir("files"))/tmp cannot replace it with a file (give the destination a trailing / to put the file inside)")) {
            try scan([Overlay(parsing: "\(dir("files")):/")])
        }
        #expect(throws: LayerError.unknownOwner("user 'kong' of owner 'kong' is not in the base's /etc/passwd")) {
            try scan([Overlay(source: dir("files"), destination: try ImagePath(absolute: "/srv"), owner: try OwnerSpec(parsing: "kong"))])
        }
    }

    /// A directory made below a setgid directory (`/var/local`, 2775 root:staff) gets the
    /// setgid bit and, without an owner, that directory's group: what the kernel's `mkdir` gives
    /// BuildKit's `MkdirAll` under Docker (umask 0, no chmod); with `--chown` the owner is set
    /// and the bit stays (chown keeps it on directories). A new destination of a directory copy
    /// is made the same way (BuildKit's Copy makes it with MkdirAll); directories inside the
    /// copied tree take their own attributes, as BuildKit's copy chmods and chowns them.
    @Test func parentsMadeBelowASetgidDirectoryInheritItsGroupAndTheBit() throws {
        let dir = try TemporaryDirectory()
        try dir.write("x", "x")
        try dir.write("tree/sub/y", "y")
        #expect(try scan([Overlay(parsing: "\(dir("x")):/var/local/newsub/deeper/")]) == [
            "/var d 755 0:0",
            "/var/local d 2775 0:50",
            "/var/local/newsub d 2755 0:50",
            "/var/local/newsub/deeper d 2755 0:50",
            "/var/local/newsub/deeper/x f 644 0:0",
        ])
        let owned = Overlay(source: dir("x"), destination: try ImagePath(absolute: "/var/local/newsub/x"), owner: try OwnerSpec(parsing: "nginx"))
        #expect(try scan([owned]).filter { $0.hasPrefix("/var/local/") } == ["/var/local/newsub d 2755 101:102", "/var/local/newsub/x f 644 101:102"])
        #expect(try scan([Overlay(parsing: "\(dir("tree")):/var/local/app/tree")]).filter { $0.hasPrefix("/var/local/") } == [
            "/var/local/app d 2755 0:50",
            "/var/local/app/tree d 2755 0:50",
            "/var/local/app/tree/sub d 755 0:0",
            "/var/local/app/tree/sub/y f 644 0:0",
        ])
        // Not below a setgid directory: plain 0755 root.
        #expect(try scan([Overlay(parsing: "\(dir("x")):/var/log/new/x")]).contains("/var/log/new d 755 0:0"))
    }

    /// WORKDIR's directory (BuildKit's `Mkdir` with parents, 0755, the USER's): every missing
    /// directory is made and owned by that user (a name alone: its passwd group); directories
    /// the base has keep their attributes; the path goes through the base's links.
    @Test func aDirectoryToMakeIsMadeWithItsParentsForItsOwner() throws {
        let nginx = try OwnerSpec(parsing: "nginx")
        #expect(try scan([.directory(try ImagePath(absolute: "/srv/app/w"), owner: nginx)]) == [
            "/srv d 755 101:102",
            "/srv/app d 755 101:102",
            "/srv/app/w d 755 101:102",
        ])
        #expect(try scan([.directory(try ImagePath(absolute: "/tmp/w"), owner: nil)]) == ["/tmp d 1777 0:0", "/tmp/w d 755 0:0"])
        #expect(try scan([.directory(try ImagePath(absolute: "/tmp"), owner: nginx)]) == ["/tmp d 1777 0:0"])
        #expect(try scan([.directory(try ImagePath(absolute: "/bin/w"), owner: nil)]) == ["/usr d 755 0:0", "/usr/bin d 755 0:0", "/usr/bin/w d 755 0:0"])
        #expect(try scan([.directory(try ImagePath(absolute: "/var/local/w"), owner: nginx)]).last == "/var/local/w d 2755 101:102")
        // A file copied into it later leaves it the user's; an unknown user is an error.
        let dir = try TemporaryDirectory()
        try dir.write("b.txt", "b")
        #expect(try scan([.directory(try ImagePath(absolute: "/home/kong/w"), owner: nginx), Overlay(parsing: "\(dir("b.txt")):/home/kong/w/")]) == [
            "/home d 755 101:102",
            "/home/kong d 755 101:102",
            "/home/kong/w d 755 101:102",
            "/home/kong/w/b.txt f 644 0:0",
        ])
        #expect(throws: LayerError.unknownOwner("user 'kong' of owner 'kong' is not in the base's /etc/passwd")) {
            try scan([.directory(try ImagePath(absolute: "/w"), owner: try OwnerSpec(parsing: "kong"))])
        }
    }
}
