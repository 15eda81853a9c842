import Foundation
import KilnTestSupport
import Testing

/// One repository per service, every service on one base from another registry: the base
/// layers are streamed across once, then mounted into each sibling repository, within a run
/// (what kiln learns as it goes) and across runs (the blob-location cache).
@Suite struct BlobLocationTests {
    final class Fixture {
        let dir: TemporaryDirectory
        let source: RegistryServer
        let target: RegistryServer
        let layers: [String]
        var root: String { dir("repo") }

        init() throws {
            dir = try TemporaryDirectory()
            source = try RegistryServer()
            target = try RegistryServer()
            try PeerImages.makeOCIBase(at: dir("base"), tag: "1.0", work: dir)
            try source.push(layout: "\(dir("base")):1.0", to: "base/app:1.0")
            let reader = LayoutReader(dir("base"))
            let manifest = try reader.json(try #require(try reader.entry(tag: "1.0")["digest"] as? String))
            layers = ((manifest["layers"] as? [[String: Any]]) ?? []).compactMap { $0["digest"] as? String }
            for name in ["one", "two", "three"] {
                try dir.write("repo/overlays/\(name).conf", "service = \(name)\n")
                try dir.write("repo/images/\(name).yaml", """
                    base: \(source.host)/base/app:1.0
                    target: \(target.host)/svc/\(name)
                    overlays:
                      - from: overlays/\(name).conf
                        to: /etc/app.conf
                    """)
            }
            try dir.write("kiln.yaml", "registries: {}\n")
        }

        func kiln(_ arguments: [String], cache: String = "") throws -> ProcessResult {
            try KilnTestSupport.kiln(arguments + ["--root", root], extraEnvironment: ["KILN_CONFIG": dir("kiln.yaml"), "KILN_CACHE_DIR": cache, "XDG_CONFIG_HOME": dir("config")])
        }

        /// Base-layer uploads (PUT) and mounts (POST ?mount=) the target saw since `start`.
        func baseLayerTraffic(since start: Int) -> (streamed: [String], mounted: [String]) {
            let requests = target.requests().dropFirst(start)
            let streamed = requests.filter { line in line.hasPrefix("PUT ") && layers.contains { line.contains("digest=\($0)") } }
            let mounted = requests.filter { line in line.hasPrefix("POST ") && layers.contains { line.contains("mount=\($0)") } }
            return (streamed, mounted)
        }
    }

    @Test func siblingRepositoriesMountWhatTheRunAlreadyPushed() throws {
        let f = try Fixture()
        #expect(try f.kiln(["lock"]).status == 0)
        let build = try f.kiln(["build", "--parallel", "1", "--quiet", "\(f.root)/images/one.yaml", "\(f.root)/images/two.yaml"])
        #expect(build.status == 0, "\(build.stderr)")
        let traffic = f.baseLayerTraffic(since: 0)
        // Streamed across registries once, for the first image; mounted into the second.
        #expect(traffic.streamed.count == f.layers.count, "\(traffic.streamed)")
        #expect(traffic.mounted.count == f.layers.count && traffic.mounted.allSatisfy { $0.contains("from=svc/one") }, "\(traffic.mounted)")
    }

    @Test func theCacheCarriesLocationsToTheNextRunAndForgetsRefusedOnes() throws {
        let f = try Fixture()
        let cache = f.dir("cache")
        #expect(try f.kiln(["lock"]).status == 0)
        #expect(try f.kiln(["build", "--quiet", "\(f.root)/images/one.yaml"], cache: cache).status == 0)
        let text = try String(contentsOfFile: "\(cache)/blob-locations.json", encoding: .utf8)
        #expect(f.layers.allSatisfy { text.contains($0) } && text.contains("svc/one"), "\(text)")

        // A new run for another service: mounted from svc/one, nothing streamed.
        let before = f.target.requests().count
        #expect(try f.kiln(["build", "--quiet", "\(f.root)/images/two.yaml"], cache: cache).status == 0)
        let traffic = f.baseLayerTraffic(since: before)
        #expect(traffic.streamed.isEmpty, "\(traffic.streamed)")
        #expect(traffic.mounted.count == f.layers.count, "\(traffic.mounted)")

        // A stale entry (a repository that never held the blob) costs one refused mount, then
        // streaming, and is dropped from the cache.
        let stale = text.replacingOccurrences(of: "\"svc/one\"", with: "\"svc/ghost\"")
        try stale.write(toFile: "\(cache)/blob-locations.json", atomically: true, encoding: .utf8)
        let start = f.target.requests().count
        #expect(try f.kiln(["build", "--quiet", "\(f.root)/images/three.yaml"], cache: cache).status == 0)
        let third = f.baseLayerTraffic(since: start)
        #expect(third.mounted.allSatisfy { $0.contains("from=svc/ghost") } && third.streamed.count == f.layers.count, "\(third)")
        let after = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(cache)/blob-locations.json"))) as? [String: Any])
        let known = try #require((after["registries"] as? [String: [String: [String]]])?[f.target.host])
        for layer in f.layers {
            #expect(known[layer]?.contains("svc/ghost") == false && known[layer]?.first == "svc/three", "\(layer): \(known[layer] ?? [])")
        }
    }
}
