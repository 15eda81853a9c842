import Foundation
import KilnTestSupport
import Testing

@Suite struct ReproducibilityTests {
    @Test func demoBakeMatchesGoldenDigests() throws {
        let dir = try TemporaryDirectory()
        let result = try BakeJSON(kiln(Demo.arguments(output: "oci:\(dir("out")):gateway") + ["--json"]))
        #expect(result.digest == Demo.goldenManifest)
        #expect(result.layer.digest == Demo.goldenLayer)
        #expect(result.reference == "oci:\(dir("out"))@\(Demo.goldenManifest)")
        #expect(result.platforms == ["linux/amd64"])
    }

    /// The old format stays one flag away, byte for byte (on this zlib).
    @Test func zlibGzipWithEpochTimesIsTheFormerFormat() throws {
        let dir = try TemporaryDirectory()
        let result = try kiln(Demo.arguments(output: "oci:\(dir("out")):gateway") + ["--compression", "gzip", "--mtime", "epoch"])
        #expect(result.output == "oci:\(dir("out"))@\(Demo.goldenManifestZlibEpoch)", "\(result.stderr)")
    }

    /// Item 7 of issue 11: the default layer's bytes depend on kiln alone. Python's zlib and
    /// zlib-ng both give the tar the diff_id names, and a stored-block writer that shares no code
    /// with kiln rewrites that tar into exactly kiln's blob.
    @Test(arguments: ["demo", "large"])
    func defaultLayerIsReadByZlibAndZlibNGAndEqualsAnIndependentWriter(overlay: String) throws {
        let dir = try TemporaryDirectory()
        var arguments = Demo.arguments(output: "oci:\(dir("out")):gateway") + ["--json"]
        if overlay == "large" {
            // Several 64 KiB blocks: 300 KB of text plus the demo's files.
            try dir.write("www/index.html", String(repeating: "<p>kiln bakes config files into images.</p>\n", count: 7_000))
            arguments += ["--overlay", "\(dir("www")):/var/www"]
        }
        let result = try BakeJSON(kiln(arguments))
        let report = try gzipReferee(check: dir("out/blobs/sha256/\(result.layer.digest.dropFirst(7))"))
        #expect(report.zlib == result.layer.diffID, "Python's zlib \(report.zlibVersion)")
        #expect(report.zlibNG == result.layer.diffID, "zlib-ng \(report.zlibNGVersion)")
        #expect(report.restored == result.layer.digest)
        #expect(report.restoredIdentical)
        #expect(overlay == "large" ? report.blocks > 4 : report.blocks == 1)
    }

    @Test func sameBytesWhateverMtimesUmaskOrderTimezoneAndCheckoutPath() throws {
        let first = try TemporaryDirectory()
        let second = try TemporaryDirectory()
        let gateway = "\(repositoryRoot)/overlays/gateway"
        try copyTree(gateway, to: first("gw"), reversed: false, mtime: Date(timeIntervalSince1970: 86_400))
        try copyTree(gateway, to: second("gw"), reversed: true, mtime: Date())

        func bake(_ dir: TemporaryDirectory, umask: String, tz: String) throws -> BakeJSON {
            let arguments = Demo.arguments(overlays: dir("gw"), output: "oci:\(dir("out")):gateway") + ["--json"]
            let quoted = arguments.map { "'\($0)'" }.joined(separator: " ")
            var environment = ProcessInfo.processInfo.environment
            environment["TZ"] = tz
            environment["SOURCE_DATE_EPOCH"] = nil
            return try BakeJSON(run("sh", ["-c", "umask \(umask) && exec '\(kilnExecutable)' \(quoted)"], environment: environment))
        }
        let a = try bake(first, umask: "077", tz: "Asia/Tokyo")
        let b = try bake(second, umask: "022", tz: "America/Los_Angeles")
        #expect(a.digest == b.digest)
        #expect(a.digest == Demo.goldenManifest)
        #expect(LayoutReader(first("out")).fingerprint() == LayoutReader(second("out")).fingerprint())
    }

    @Test func sourceDateEpochDatesEntriesHistoryAndConfig() throws {
        let dir = try TemporaryDirectory()
        let epoch = ["--mtime", "epoch", "--json"]
        let result = try BakeJSON(kiln(Demo.arguments(output: "oci:\(dir("out")):gateway") + epoch, extraEnvironment: ["SOURCE_DATE_EPOCH": "1700000000"]))
        #expect(result.digest != Demo.goldenManifest)
        let reader = LayoutReader(dir("out"))
        let manifest = try reader.json(result.digest)
        let config = try reader.json((manifest["config"] as? [String: Any])?["digest"] as? String ?? "")
        #expect(config["created"] as? String == "2023-11-14T22:13:20Z")
        let history = config["history"] as? [[String: Any]] ?? []
        #expect(history.last?["created"] as? String == "2023-11-14T22:13:20Z")
        #expect(history.last?["created_by"] as? String == "kiln bake: add /etc/kong/kong.conf /usr/local/kong/declarative; remove /etc/kong/kong.conf.default")
        let listing = try runChecked("tar", ["--full-time", "-tvzf", dir("out/blobs/sha256/\(result.layer.digest.dropFirst(7))")], environment: ["TZ": "UTC"]).stdout
        #expect(listing.split(separator: "\n").allSatisfy { $0.contains("2023-11-14 22:13:20") })

        let again = try BakeJSON(kiln(Demo.arguments(output: "oci:\(dir("again")):gateway") + epoch, extraEnvironment: ["SOURCE_DATE_EPOCH": "1700000000"]))
        #expect(again.digest == result.digest)
        // With content times (the default) SOURCE_DATE_EPOCH dates the config and history only:
        // the layer is the golden one.
        let content = try BakeJSON(kiln(Demo.arguments(output: "oci:\(dir("content")):gateway") + ["--json"], extraEnvironment: ["SOURCE_DATE_EPOCH": "1700000000"]))
        #expect(content.layer.digest == Demo.goldenLayer)
        #expect(content.digest != Demo.goldenManifest && content.digest != result.digest)
        // A fixed time given in seconds is the same as SOURCE_DATE_EPOCH with epoch.
        let seconds = try BakeJSON(kiln(Demo.arguments(output: "oci:\(dir("seconds")):gateway") + ["--mtime", "1700000000", "--json"]))
        #expect(seconds.layer == result.layer)
        let badTime = try kiln(Demo.arguments(output: "oci:\(dir("bad")):gateway") + ["--mtime", "5s"])
        #expect(badTime.status == 1)
        #expect(badTime.stderr == "kiln: error: --mtime: '5s' is not content, epoch or a whole number of seconds\n")
        let bad = try kiln(Demo.arguments(output: "oci:\(dir("bad")):gateway"), extraEnvironment: ["SOURCE_DATE_EPOCH": "yesterday"])
        #expect(bad.status != 0)
        #expect(bad.stderr == "kiln: error: SOURCE_DATE_EPOCH 'yesterday' must be a non-negative whole number of seconds\n")
    }
}
