import Foundation
import KilnLayer
import KilnTestSupport
import OCI
import Testing

/// `--mtime content`: each file dated by its bytes inside 2025, read back by Python's tarfile.
@Suite struct EntryTimesTests {
    /// The window as docs/reproducibility.md states it: 2025-01-01T00:00:00Z, 365 days.
    let windowStart: Int64 = 1_735_689_600
    let windowWidth: Int64 = 365 * 86_400

    /// The date docs/reproducibility.md gives a file: the window start plus the first eight
    /// bytes of its SHA-256, big-endian, modulo the width (computed here from the hex digest).
    func documentedTime(of text: String) -> Int64 {
        let prefix = UInt64(Digest.of(Array(text.utf8)).hex.prefix(16), radix: 16) ?? 0
        return windowStart + Int64(prefix % UInt64(windowWidth))
    }

    func bake(_ dir: TemporaryDirectory, tree: String, blob: String, times: EntryTimes = .content) throws -> [String: Int64] {
        let entries = try OverlayScanner().scan(overlays: [Overlay(source: dir(tree), destination: try ImagePath(absolute: "/srv/www"))])
        var bytes: [UInt8] = []
        _ = try LayerBuilder(entryTimes: times).build(entries) { bytes += Array($0) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir(blob)))
        return try tarModificationTimes(dir(blob))
    }

    @Test func filesAreDatedByContentInsideTheWindow() throws {
        let dir = try TemporaryDirectory()
        // index.html and app.js have the same size and different bytes; copy.html is index.html.
        try dir.write("site/index.html", "<h1>version 1</h1>\n")
        try dir.write("site/app.js", "console.log('v2');\n")
        try dir.write("site/copy.html", "<h1>version 1</h1>\n")
        try dir.write("site/css/site.css", "body { margin: 0 }\n")
        try FileManager.default.createSymbolicLink(atPath: dir("site/latest.html"), withDestinationPath: "index.html")
        #expect(try FileManager.default.attributesOfItem(atPath: dir("site/index.html"))[.size] as? Int
            == FileManager.default.attributesOfItem(atPath: dir("site/app.js"))[.size] as? Int)

        let times = try bake(dir, tree: "site", blob: "layer.tgz")
        let index = try #require(times["srv/www/index.html"])
        #expect(index == documentedTime(of: "<h1>version 1</h1>\n"))
        #expect(times["srv/www/app.js"] == documentedTime(of: "console.log('v2');\n"))
        #expect(times["srv/www/css/site.css"] == documentedTime(of: "body { margin: 0 }\n"))
        // Same size, other bytes: another date (so nginx's mtime-size ETag differs).
        #expect(times["srv/www/app.js"] != index)
        // Same bytes: the same date.
        #expect(times["srv/www/copy.html"] == index)
        // Directories and links have no content of their own: the window's start.
        for name in ["srv", "srv/www", "srv/www/css", "srv/www/latest.html"] {
            #expect(times[name] == windowStart, "\(name)")
        }
        for (name, time) in times {
            #expect(time >= windowStart && time < windowStart + windowWidth, "\(name) at \(time)")
        }
    }

    @Test func aChangedFileGetsANewDateAndTheRestKeepTheirs() throws {
        let dir = try TemporaryDirectory()
        try dir.write("v1/index.html", "<p>release 1</p>\n")
        try dir.write("v1/about.html", "<p>about us</p>\n")
        try dir.write("v2/index.html", "<p>release 2</p>\n")
        try dir.write("v2/about.html", "<p>about us</p>\n")
        let first = try bake(dir, tree: "v1", blob: "v1.tgz")
        let second = try bake(dir, tree: "v2", blob: "v2.tgz")
        #expect(first["srv/www/index.html"] != second["srv/www/index.html"])
        #expect(first["srv/www/about.html"] == second["srv/www/about.html"])

        // Deterministic: the same tree baked again gives the same bytes.
        _ = try bake(dir, tree: "v2", blob: "again.tgz")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir("v2.tgz"))) == Data(contentsOf: URL(fileURLWithPath: dir("again.tgz"))))
    }

    @Test func fixedTimesDateEveryEntry() throws {
        let dir = try TemporaryDirectory()
        try dir.write("site/index.html", "<h1>hello</h1>\n")
        try dir.write("site/app.js", "let a = 1;\n")
        let times = try bake(dir, tree: "site", blob: "layer.tgz", times: .fixed(1_700_000_000))
        #expect(!times.isEmpty)
        #expect(times.values.allSatisfy { $0 == 1_700_000_000 })
    }

    @Test func parsing() throws {
        #expect(try EntryTimes(parsing: "content", epoch: 5) == .content)
        #expect(try EntryTimes(parsing: "epoch", epoch: 5) == .fixed(5))
        #expect(try EntryTimes(parsing: "0", epoch: 5) == .fixed(0))
        #expect(try EntryTimes(parsing: "1700000000", epoch: 5) == .fixed(1_700_000_000))
        for bad in ["", "-1", "+3", "1.5", "now", " 1", "99999999999999999999"] {
            #expect(throws: LayerError.invalidEntryTime(bad)) { try EntryTimes(parsing: bad, epoch: 0) }
        }
    }
}
