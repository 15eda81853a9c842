import Foundation
import KilnTestSupport
import Testing

/// The blob-location cache may come from another run (CI restores caches): a repository name
/// in it is checked against distribution's grammar before it reaches a mount's query, and a
/// mount tries the source and at most two siblings (docs/internals.md), whatever the cache holds.
@Suite struct BlobLocationCacheHardeningTests {
    /// A cache naming `repositories` as holders of every base layer on the target registry.
    private func plant(_ repositories: [String], for f: BlobLocationTests.Fixture, in cache: String) throws {
        var entries: [String: [String]] = [:]
        for layer in f.layers { entries[layer] = repositories }
        let object: [String: Any] = ["version": 1, "registries": [f.target.host: entries]]
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: "\(cache)/blob-locations.json"))
    }

    @Test func aCachedRepositoryNameNeverReachesTheMountQueryUnchecked() throws {
        let f = try BlobLocationTests.Fixture()
        let cache = f.dir("cache")
        #expect(try f.kiln(["lock"]).status == 0)
        let injected = "x&from=evil&mount=sha256:\(String(repeating: "0", count: 64))"
        try plant([injected, "svc/Upper", "svc/a b", "svc/ghost"], for: f, in: cache)
        let start = f.target.requests().count
        let build = try f.kiln(["build", "--quiet", "\(f.root)/images/one.yaml"], cache: cache)
        #expect(build.status == 0, "\(build.stderr)")
        let requests = f.target.requests().dropFirst(start)
        #expect(!requests.contains { $0.contains("evil") || $0.contains("Upper") || $0.contains("a%20b") || $0.contains("a b") }, "\(Array(requests))")
        // The valid name was tried (one refused mount per layer), then each layer streamed.
        let traffic = f.baseLayerTraffic(since: start)
        #expect(traffic.mounted.count == f.layers.count && traffic.mounted.allSatisfy { $0.contains("from=svc/ghost") }, "\(traffic.mounted)")
        #expect(traffic.streamed.count == f.layers.count, "\(traffic.streamed)")
        let saved = try String(contentsOfFile: "\(cache)/blob-locations.json", encoding: .utf8)
        #expect(!saved.contains("evil"), "\(saved)")
    }

    @Test func aMountTriesAtMostTwoSiblingRepositories() throws {
        let f = try BlobLocationTests.Fixture()
        let cache = f.dir("cache")
        #expect(try f.kiln(["lock"]).status == 0)
        // Four siblings known for each layer, none holding it (the base is on another registry,
        // so there is no source repository to try first).
        try plant(["svc/ghost1", "svc/ghost2", "svc/ghost3", "svc/ghost4"], for: f, in: cache)
        let start = f.target.requests().count
        let build = try f.kiln(["build", "--quiet", "\(f.root)/images/one.yaml"], cache: cache)
        #expect(build.status == 0, "\(build.stderr)")
        let traffic = f.baseLayerTraffic(since: start)
        for layer in f.layers {
            let tries = traffic.mounted.filter { $0.contains("mount=\(layer)") }
            #expect(tries.count == 2, "\(layer): \(tries)")
        }
        #expect(traffic.streamed.count == f.layers.count, "\(traffic.streamed)")
    }
}
