import Foundation
import KilnTestSupport
import Testing

/// Registries that are not there, fail their probe, or trickle bytes to hold a run: each gives
/// a clear, quick answer (a proxy in front of the real registry injects the behaviour).
@Suite struct SlowAndDeadRegistryTests {
    static func oneErrorLine(_ result: ProcessResult) -> Substring? {
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("kiln: error: ") }
        return errors.count == 1 && result.stderr.split(separator: "\n").last == errors.first ? errors.first : nil
    }

    @Test func refusedPortsAndUnknownHostsAreReportedInSeconds() throws {
        let port = try freePort()
        for (reference, reason) in [("127.0.0.1:\(port)/app:1", "connection refused"), ("no-such-host.invalid/app:1", "unknown host")] {
            let started = Date()
            let result = try kiln(["digest", reference])
            let elapsed = Date().timeIntervalSince(started)
            #expect(result.status == 1)
            let line = Self.oneErrorLine(result)
            #expect(line?.contains(reason) == true, "\(result.stderr)")
            #expect(elapsed < 8, "\(reference) took \(elapsed) s to report")
        }
    }

    @Test func aFailingProbeIsReportedAsWhatItIsWithNoBuildPaths() throws {
        let registry = try RegistryServer()
        let proxy = try FaultProxy(upstream: registry, faults: ["--v2-status", "500"])
        let result = try kiln(["digest", "127.0.0.1:\(proxy.port)/app:1"], extraEnvironment: ["KILN_STALL_SECONDS": "5"])
        #expect(result.status == 1)
        let line = try #require(Self.oneErrorLine(result), "\(result.stderr)")
        #expect(line.contains("HTTP 500"), "\(line)")
        #expect(!result.stderr.contains("TLS") && !result.stderr.contains(".build/") && !result.stderr.contains(".swift"), "\(result.stderr)")
    }

    /// A base layer sent one byte per second: the download is aborted after the stall window
    /// and resumed with a Range request; the bake gives the same digest as a clean one.
    @Test func aTricklingBlobIsResumedAndATricklingManifestTimesOut() throws {
        let registry = try RegistryServer()
        let dir = try TemporaryDirectory()
        try PeerImages.pushBase(to: registry, work: dir)
        try dir.write("app.conf", "x=1\n")
        let environment = ["KILN_STALL_SECONDS": "2"]
        let arguments = ["bake", "--base", "\(registry.host)/base/app:1.0", "--overlay", "\(dir("app.conf")):/etc/app.conf", "--quiet"]
        let clean = try kiln(arguments + ["--output", "oci:\(dir("clean")):x"], extraEnvironment: environment)
        #expect(clean.status == 0, "\(clean.stderr)")

        let trickling = try FaultProxy(upstream: registry, faults: ["--trickle-blob-get", "1"])
        let started = Date()
        let slow = try kiln(arguments.filter { $0 != "--quiet" } + ["--output", "oci:\(dir("slow")):x", "--registry-endpoint", "\(registry.host)=\(trickling.url)"],
                            extraEnvironment: environment)
        #expect(slow.status == 0, "\(slow.stderr)")
        #expect(slow.stderr.contains("stalled (below 1 KiB/s for 2 s) at byte"), "\(slow.stderr)")
        #expect(slow.output.split(separator: "@").last == clean.output.split(separator: "@").last, "same digest")
        #expect(Date().timeIntervalSince(started) < 30)

        let stuck = try FaultProxy(upstream: registry, faults: ["--trickle-manifest-get", "-1"])
        let begun = Date()
        let failed = try kiln(arguments + ["--output", "oci:\(dir("stuck")):x", "--registry-endpoint", "\(registry.host)=\(stuck.url)"], extraEnvironment: environment)
        #expect(failed.status == 1)
        let line = try #require(Self.oneErrorLine(failed), "\(failed.stderr)")
        #expect(line.contains("download of \(registry.host)/base/app:1.0") && line.contains("not complete within 4 s"), "\(line)")
        #expect(Date().timeIntervalSince(begun) < 20)
        #expect(!FileManager.default.fileExists(atPath: dir("stuck")))
    }

    /// A base layer cut off mid-body while it streams into a layout: resumed, not restarted.
    @Test func aCutOffDownloadIntoALayoutIsResumed() throws {
        let registry = try RegistryServer()
        let dir = try TemporaryDirectory()
        try PeerImages.pushBase(to: registry, work: dir)
        try dir.write("app.conf", "x=1\n")
        let proxy = try FaultProxy(upstream: registry, faults: ["--drop-blob-get", "2"])
        let result = try kiln(["bake", "--base", "\(registry.host)/base/app:1.0", "--overlay", "\(dir("app.conf")):/etc/app.conf",
                               "--output", "oci:\(dir("out")):x", "--registry-endpoint", "\(registry.host)=\(proxy.url)"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("connection closed mid-transfer at byte"), "\(result.stderr)")
    }
}
