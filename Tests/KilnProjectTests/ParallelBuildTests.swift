import Foundation
import KilnTestSupport
import Testing

/// `kiln build` of several specs at once, repeated: the shape that crashed (or printed nothing)
/// in release builds of 0.2.0. `.ci/run` runs this suite against the release binary too.
@Suite struct ParallelBuildTests {
    static let names = ["alpha", "bravo", "charlie", "delta"]

    /// Four specs on one base, each with its own file and env, targeting `target(name)`.
    static func project(in dir: TemporaryDirectory, target: (String) -> String) throws -> String {
        try PeerImages.makeOCIBase(at: dir("repo/base"), tag: "1.0", work: dir)
        for name in names {
            try dir.write("repo/overlays/\(name)/app.conf", "name = \(name)\n")
            try dir.write("repo/images/\(name).yaml", """
                base: oci:\(dir("repo/base")):1.0
                target: \(target(name))
                tags: [latest, stable]
                overlays:
                  - from: overlays/\(name)/app.conf
                    to: /etc/app/app.conf
                config:
                  env: {SERVICE: \(name)}
                """)
        }
        try dir.write("kiln.yaml", "registries: {}\n")
        return dir("repo")
    }

    static func kiln(_ arguments: [String], root: String, dir: TemporaryDirectory) throws -> ProcessResult {
        try KilnTestSupport.kiln(arguments + ["--root", root], extraEnvironment: ["KILN_CONFIG": dir("kiln.yaml")])
    }

    /// The planned digest of every image, from `kiln plan --json`.
    static func plannedDigests(root: String, dir: TemporaryDirectory) throws -> [String: String] {
        let plan = try kiln(["plan", "--json"], root: root, dir: dir)
        #expect(plan.status == 0, "\(plan.stderr)")
        let images = try #require((try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])?["images"] as? [String: [String: String]])
        return images.compactMapValues { $0["digest"] }
    }

    @Test func fourSpecsInParallelTenTimesIntoLayouts() throws {
        let dir = try TemporaryDirectory()
        let root = try Self.project(in: dir) { "oci:\(dir("repo/out"))/\($0)" }
        #expect(try Self.kiln(["lock"], root: root, dir: dir).status == 0)
        let planned = try Self.plannedDigests(root: root, dir: dir)
        #expect(planned.count == 4)

        for round in 1...10 {
            try? FileManager.default.removeItem(atPath: dir("repo/out"))
            let build = try Self.kiln(["build", "--parallel", "4", "--quiet"], root: root, dir: dir)
            #expect(build.status == 0, "round \(round): exit \(build.status): \(build.stderr)")
            let expected = Self.names.map { "\($0) oci:\(dir("repo/out"))/\($0)@\(planned[$0] ?? "?") (built)" }
            #expect(build.output == expected.joined(separator: "\n"), "round \(round): \(build.stdout)\(build.stderr)")
        }
        // A no-op round, as JSON: every image, up to date.
        let again = try Self.kiln(["build", "--parallel", "4", "--json", "--quiet"], root: root, dir: dir)
        #expect(again.status == 0, "\(again.stderr)")
        let images = try #require((try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])?["images"] as? [String: [String: String]])
        #expect(Set(images.keys) == Set(Self.names))
        for (name, image) in images {
            #expect(image["digest"] == planned[name])
            #expect(image["action"] == "up to date")
        }
        let verify = try Self.kiln(["verify"], root: root, dir: dir)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test func fourSpecsInParallelTenTimesToARegistry() throws {
        let dir = try TemporaryDirectory()
        let registry = try RegistryServer()
        let root = try Self.project(in: dir) { "\(registry.host)/svc/\($0)" }
        #expect(try Self.kiln(["lock"], root: root, dir: dir).status == 0)
        let planned = try Self.plannedDigests(root: root, dir: dir)

        for round in 1...10 {
            // Each round pushes to new repositories, so every image is really built.
            let spec = { (name: String) in "\(registry.host)/round\(round)/\(name)" }
            for name in Self.names {
                let path = "\(root)/images/\(name).yaml"
                let text = try String(contentsOfFile: path, encoding: .utf8)
                let updated = text.split(separator: "\n").map { $0.hasPrefix("target:") ? "target: \(spec(name))" : String($0) }
                try updated.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            }
            let build = try Self.kiln(["build", "--parallel", "4", "--quiet"], root: root, dir: dir)
            #expect(build.status == 0, "round \(round): exit \(build.status): \(build.stderr)")
            let expected = Self.names.map { "\($0) \(spec($0))@\(planned[$0] ?? "?") (built)" }
            #expect(build.output == expected.joined(separator: "\n"), "round \(round): \(build.stdout)\(build.stderr)")
        }
        // skopeo, an independent reader, finds the last round's tags at the planned digests.
        for name in Self.names {
            for tag in ["latest", "stable"] {
                let inspect = try runChecked("skopeo", ["inspect", "--tls-verify=false", "--format", "{{.Digest}}", "docker://\(registry.host)/round10/\(name):\(tag)"])
                #expect(inspect.output == planned[name])
            }
        }
        let verify = try Self.kiln(["verify"], root: root, dir: dir)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }
}
