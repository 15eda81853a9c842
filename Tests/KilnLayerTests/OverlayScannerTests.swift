import Foundation
import KilnLayer
import KilnTestSupport
import Testing

@Suite struct OverlayScannerTests {
    private func scan(_ overlays: [Overlay], removals: [String] = []) throws -> [LayerEntry] {
        try OverlayScanner().scan(overlays: overlays, removals: removals.map { try ImagePath(absolute: $0) })
    }

    private func summary(_ entries: [LayerEntry]) -> [String] { entries.map(\.summary) }

    @Test func directoryOverlayIsSortedWithParentsAndDefaults() throws {
        let dir = try TemporaryDirectory()
        try dir.write("tree/b.conf", "b")
        try dir.write("tree/a-b", "x")
        try dir.write("tree/a/run.sh", "#!/bin/sh", mode: 0o700)
        try FileManager.default.createSymbolicLink(atPath: dir("tree/link"), withDestinationPath: "a/run.sh")
        let entries = try scan([Overlay(source: dir("tree"), destination: try ImagePath(absolute: "/etc/app"))])
        #expect(summary(entries) == [
            "/etc d 755 0:0",
            "/etc/app d 755 0:0",
            "/etc/app/a d 755 0:0",
            "/etc/app/a-b f 644 0:0",
            "/etc/app/a/run.sh f 755 0:0",
            "/etc/app/b.conf f 644 0:0",
            "/etc/app/link l->a/run.sh 777 0:0",
        ])
    }

    /// `.dockerignore` at work: excluded files and whole excluded directories are not in the
    /// layer; a directory holding an excluded file still is.
    @Test func excludedPathsAreLeftOut() throws {
        let dir = try TemporaryDirectory()
        try dir.write("ctx/app.conf", "a")
        try dir.write("ctx/secret.key", "k")
        try dir.write("ctx/docs/readme.md", "r")
        try dir.write("ctx/docs/draft.md", "d")
        try dir.write("ctx/node_modules/x/index.js", "j")
        let overlay = Overlay(source: dir("ctx"), destination: try ImagePath(absolute: "/app"), excluding: ["secret.key", "docs/draft.md", "node_modules"])
        #expect(summary(try scan([overlay])) == [
            "/app d 755 0:0",
            "/app/app.conf f 644 0:0",
            "/app/docs d 755 0:0",
            "/app/docs/readme.md f 644 0:0",
        ])
    }

    /// Docker's COPY keeps a context's symlinks whatever they point to; `kiln bake` refuses
    /// those leaving the overlay. Neither follows them.
    @Test func keepsAnyLinkKeepsLinksLeavingTheOverlay() throws {
        let dir = try TemporaryDirectory()
        try dir.write("tree/a", "a")
        try FileManager.default.createSymbolicLink(atPath: dir("tree/current"), withDestinationPath: "/usr/lib/app")
        try FileManager.default.createSymbolicLink(atPath: dir("tree/up"), withDestinationPath: "../../../etc/shadow")
        let destination = try ImagePath(absolute: "/opt/app")
        #expect(throws: LayerError.self) { try scan([Overlay(source: dir("tree"), destination: destination)]) }
        #expect(summary(try scan([Overlay(source: dir("tree"), destination: destination, keepsAnyLink: true)])) == [
            "/opt d 755 0:0",
            "/opt/app d 755 0:0",
            "/opt/app/a f 644 0:0",
            "/opt/app/current l->/usr/lib/app 777 0:0",
            "/opt/app/up l->../../../etc/shadow 777 0:0",
        ])
    }

    /// As BuildKit's COPY --chown: the parents it creates are the overlay's owner's; the ones
    /// the base has keep the base's attributes. Below the base's setgid /usr/local the
    /// directories made (the parents and the new destination, both BuildKit's MkdirAll) also
    /// get the setgid bit, as the kernel gives it.
    @Test func ownerAndModeApplyToTheOverlayAndTheParentsItCreates() throws {
        let dir = try TemporaryDirectory()
        try dir.write("decl/kong.yml", "x")
        let overlay = Overlay(source: dir("decl"), destination: try ImagePath(absolute: "/usr/local/kong/declarative"), owner: .resolved(Owner(uid: 1000, gid: 0)), mode: 0o640)
        #expect(summary(try scan([overlay])) == [
            "/usr d 750 1000:0",
            "/usr/local d 750 1000:0",
            "/usr/local/kong d 750 1000:0",
            "/usr/local/kong/declarative d 750 1000:0",
            "/usr/local/kong/declarative/kong.yml f 640 1000:0",
        ])
        let base = BaseTree().applying(LayerChanges(changes: [
            (try ImagePath(absolute: "/usr"), .directory(mode: 0o755, owner: .root)),
            (try ImagePath(absolute: "/usr/local"), .directory(mode: 0o2775, owner: Owner(uid: 0, gid: 50))),
        ]))
        #expect(summary(try OverlayScanner().scan(overlays: [overlay], base: base)) == [
            "/usr d 755 0:0",
            "/usr/local d 2775 0:50",
            "/usr/local/kong d 2750 1000:0",
            "/usr/local/kong/declarative d 2750 1000:0",
            "/usr/local/kong/declarative/kong.yml f 640 1000:0",
        ])
    }

    @Test func removalsBecomeWhiteouts() throws {
        let dir = try TemporaryDirectory()
        try dir.write("kong.conf", "x")
        let entries = try scan([Overlay(source: dir("kong.conf"), destination: try ImagePath(absolute: "/etc/kong/kong.conf"))], removals: ["/etc/kong/kong.conf.default", "/var/cache"])
        #expect(summary(entries) == [
            "/etc d 755 0:0", "/etc/kong d 755 0:0", "/etc/kong/.wh.kong.conf.default w 644 0:0",
            "/etc/kong/kong.conf f 644 0:0", "/var d 755 0:0", "/var/.wh.cache w 644 0:0",
        ])
    }

    @Test func symlinkLeavingTheOverlayIsRefused() throws {
        for target in ["../../etc/passwd", "/etc/passwd", "../outside"] {
            let dir = try TemporaryDirectory()
            try FileManager.default.createDirectory(atPath: dir("tree"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: dir("tree/bad"), withDestinationPath: target)
            #expect(throws: LayerError.escapingSymlink(path: dir("tree/bad"), target: target)) {
                try scan([Overlay(source: dir("tree"), destination: try ImagePath(absolute: "/etc/app"))])
            }
        }
    }

    @Test func absoluteSymlinkInsideTheOverlayIsKept() throws {
        let dir = try TemporaryDirectory()
        try dir.write("tree/real", "x")
        try FileManager.default.createSymbolicLink(atPath: dir("tree/abs"), withDestinationPath: "/etc/app/real")
        let entries = try scan([Overlay(source: dir("tree"), destination: try ImagePath(absolute: "/etc/app"))])
        #expect(entries.contains { $0.kind == .symlink(target: "/etc/app/real") })
    }

    @Test func specialFilesAndHardlinksAreRefused() throws {
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir("fifo"), withIntermediateDirectories: true)
        #expect(mkfifo(dir("fifo/pipe"), 0o644) == 0)
        #expect(throws: LayerError.unsupportedFileType(path: dir("fifo/pipe"), kind: "FIFO")) {
            try scan([Overlay(source: dir("fifo"), destination: try ImagePath(absolute: "/x"))])
        }
        #expect(throws: LayerError.unsupportedFileType(path: "/dev/null", kind: "character device")) {
            try scan([Overlay(source: "/dev/null", destination: try ImagePath(absolute: "/x"))])
        }
        try dir.write("hard/a", "x")
        #expect(link(dir("hard/a"), dir("hard/b")) == 0)
        #expect(throws: LayerError.hardlink(dir("hard/a"))) {
            try scan([Overlay(source: dir("hard"), destination: try ImagePath(absolute: "/x"))])
        }
    }

    @Test func missingSourceAndBadPathsAreNamed() throws {
        #expect(throws: LayerError.missingSource("/nonexistent/kiln")) {
            try scan([Overlay(source: "/nonexistent/kiln", destination: try ImagePath(absolute: "/x"))])
        }
        #expect(throws: LayerError.destinationNotAbsolute("etc/x")) { try Overlay(parsing: "a:etc/x") }
        #expect(throws: LayerError.invalidImagePath("/etc/../x", reason: "'..' is not allowed")) { try Overlay(parsing: "a:/etc/../x") }
        #expect(throws: LayerError.invalidOwner("kong:root")) { try Owner(parsing: "kong:root") }
        #expect(throws: LayerError.invalidMode("0999")) { try parseMode("0999") }
    }

    @Test func overlayDestinationDefaultsToSourceName() throws {
        #expect(try Overlay(parsing: "overlays/gateway/kong.conf").destination.description == "/kong.conf")
        #expect(try Overlay(parsing: "conf/:/etc/app").destination.description == "/etc/app")
    }

    @Test func twoOverlaysWritingOneFileConflict() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a.conf", "a")
        try dir.write("b.conf", "b")
        let target = try ImagePath(absolute: "/etc/app.conf")
        #expect(throws: LayerError.self) {
            try scan([Overlay(source: dir("a.conf"), destination: target), Overlay(source: dir("b.conf"), destination: target)])
        }
        #expect(throws: LayerError.self) {
            try scan([Overlay(source: dir("a.conf"), destination: target), Overlay(source: dir("b.conf"), destination: target.appending("below"))])
        }
    }

    @Test func whiteoutNamesInOverlaysAreRefused() throws {
        let dir = try TemporaryDirectory()
        try dir.write("tree/.wh.sneaky", "")
        #expect(throws: LayerError.reservedName(dir("tree/.wh.sneaky"))) {
            try scan([Overlay(source: dir("tree"), destination: try ImagePath(absolute: "/etc"))])
        }
    }

    /// An overlay tree 1,500 directories deep (42 s with the cubic ancestor checks) scans to one
    /// entry per directory plus the file, parents first.
    @Test func deepTreeScansEveryLevel() throws {
        let dir = try TemporaryDirectory()
        var relative = "tree"
        for _ in 0..<1_500 { relative += "/d" }
        try FileManager.default.createDirectory(atPath: dir(relative), withIntermediateDirectories: true)
        try dir.write(relative + "/leaf.conf", "x")
        let entries = try scan([Overlay(source: dir("tree"), destination: try ImagePath(absolute: "/opt/deep"))])
        #expect(entries.count == 1 + 1 + 1_500 + 1)
        #expect(entries.last?.path.components.count == 2 + 1_500 + 1)
        #expect(entries.last?.path.name == "leaf.conf")
    }

    /// A later overlay below a file of an earlier one is a conflict at any depth.
    @Test func overlayBelowAFileIsAConflictAtAnyDepth() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a.conf", "a")
        try dir.write("b.conf", "b")
        let first = Overlay(source: dir("a.conf"), destination: try ImagePath(absolute: "/etc/app"))
        for below in ["/etc/app/x", "/etc/app/x/y/z"] {
            #expect(throws: LayerError.self) {
                try scan([first, Overlay(source: dir("b.conf"), destination: try ImagePath(absolute: below))])
            }
        }
    }

    /// Each link's text looks inside the overlay, but `up` is itself a link: resolved through
    /// the tree (as the kernel will), `y` names /etc/shadow.
    @Test func linkChainsAreResolvedThroughTheTreeNotLexically() throws {
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir("tree/sub/a/b/c"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir("tree/sub/a/b/c/up"), withDestinationPath: "../../../..")
        let sneaky = "sub/a/b/c/up/../../../../../etc/shadow"
        try FileManager.default.createSymbolicLink(atPath: dir("tree/y"), withDestinationPath: sneaky)
        #expect(throws: LayerError.escapingSymlink(path: dir("tree/y"), target: sneaky)) {
            try scan([Overlay(source: dir("tree"), destination: try ImagePath(absolute: "/opt/app"))])
        }
        // A loop is refused too; links through links that stay inside are kept.
        try FileManager.default.removeItem(atPath: dir("tree/y"))
        try FileManager.default.createSymbolicLink(atPath: dir("tree/loop1"), withDestinationPath: "loop2/x")
        try FileManager.default.createSymbolicLink(atPath: dir("tree/loop2"), withDestinationPath: "loop1/x")
        #expect(throws: LayerError.self) { try scan([Overlay(source: dir("tree"), destination: try ImagePath(absolute: "/opt/app"))]) }
        try FileManager.default.removeItem(atPath: dir("tree/loop1"))
        try FileManager.default.removeItem(atPath: dir("tree/loop2"))
        try FileManager.default.createSymbolicLink(atPath: dir("tree/ok"), withDestinationPath: "sub/a/b/c/up/sub/a")
        try FileManager.default.createSymbolicLink(atPath: dir("tree/back"), withDestinationPath: "../app/sub")
        let entries = try scan([Overlay(source: dir("tree"), destination: try ImagePath(absolute: "/opt/app"))])
        #expect(entries.contains { $0.kind == .symlink(target: "sub/a/b/c/up/sub/a") })
        #expect(entries.contains { $0.kind == .symlink(target: "../app/sub") })
    }

    /// A DEST ending in `/` means "into this directory", as Docker's COPY has it: a file keeps
    /// its name there instead of replacing the directory (`app.conf:/etc/` turned /etc into a
    /// file before).
    @Test func aTrailingSlashPutsTheFileIntoTheDirectory() throws {
        let dir = try TemporaryDirectory()
        try dir.write("index.html", "<p>hi</p>")
        try dir.write("app.conf", "x=1")
        let entries = try scan([try Overlay(parsing: "\(dir("index.html")):/var/www/html/"), try Overlay(parsing: "\(dir("app.conf")):/etc/"),
                                try Overlay(parsing: "\(dir("app.conf")):/")])
        #expect(summary(entries) == [
            "/app.conf f 644 0:0",
            "/etc d 755 0:0",
            "/etc/app.conf f 644 0:0",
            "/var d 755 0:0",
            "/var/www d 755 0:0",
            "/var/www/html d 755 0:0",
            "/var/www/html/index.html f 644 0:0",
        ])
        // Without the slash the destination is the file's own path, as before.
        let plain = try scan([try Overlay(parsing: "\(dir("app.conf")):/etc/app")])
        #expect(summary(plain) == ["/etc d 755 0:0", "/etc/app f 644 0:0"])
    }
}
