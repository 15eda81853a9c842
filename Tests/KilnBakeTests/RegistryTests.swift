import Foundation
import KilnTestSupport
import Testing

/// kiln against real distribution registries on 127.0.0.1, with skopeo and umoci as referees.
@Suite struct RegistryTests {
    /// An isolated Docker config dir, so the machine's own credentials never take part.
    private func environment(_ dir: TemporaryDirectory, config: String = #"{"auths":{}}"#, path: String? = nil) throws -> [String: String] {
        try dir.write("docker/config.json", config)
        var environment = ["DOCKER_CONFIG": dir("docker"), "REGISTRY_AUTH_FILE": ""]
        if let path { environment["PATH"] = path }
        return environment
    }

    /// A umoci-built base pushed to `registry` as base/app:1.0.
    private func overlay(_ dir: TemporaryDirectory) throws -> String {
        try dir.write("overlay/kong.conf", "database = off\n")
        try dir.write("overlay/declarative/kong.yml", "_format_version: \"2.1\"\n")
        return "\(dir("overlay")):/etc/kong"
    }

    /// Pulls `reference` back with skopeo into a layout and unpacks it with umoci.
    private func pullAndUnpack(_ reference: String, from registry: RegistryServer, work: TemporaryDirectory) throws -> String {
        let layout = work("pulled-\(UUID().uuidString)")
        try runChecked("skopeo", ["copy", "--quiet"] + registry.skopeoFlags(dest: false) + ["docker://\(reference)", "oci:\(layout):x"])
        try PeerImages.unpack("\(layout):x", to: work("bundle-\(UUID().uuidString)"))
        return try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.hasPrefix("bundle-") }.map { work($0) + "/rootfs" }.first ?? ""
    }

    @Test func digestMatchesSkopeoWithoutDownloadingLayers() throws {
        let registry = try RegistryServer()
        let dir = try TemporaryDirectory()
        try PeerImages.pushBase(to: registry, work: dir)
        let before = registry.requests().count
        let digest = try kiln(["digest", "\(registry.host)/base/app:1.0"], extraEnvironment: try environment(dir))
        #expect(digest.status == 0, "\(digest.stderr)")
        let kilnRequests = Array(registry.requests()[before...])
        #expect(!kilnRequests.isEmpty && !kilnRequests.contains { $0.contains("/blobs/") }, "\(kilnRequests)")
        let skopeo = try runChecked("skopeo", ["inspect", "--format", "{{.Digest}}"] + registry.skopeoFlags(dest: nil) + ["docker://\(registry.host)/base/app:1.0"]).output
        #expect(digest.output == skopeo)
    }

    @Test func crossRegistryBakeReadsEachBaseLayerFromTheSourceOnceColdOrWarm() throws {
        let source = try RegistryServer()
        // A registry each, so the second bake cannot mount from the first's repository.
        let (coldDestination, warmDestination) = (try RegistryServer(), try RegistryServer())
        let dir = try TemporaryDirectory()
        try PeerImages.pushBase(to: source, work: dir)
        // A cold cache (an empty directory, as on a fresh CI runner), then the one it leaves.
        let env = try environment(dir).merging(["KILN_CACHE_DIR": dir("cache"), "XDG_CONFIG_HOME": dir("config")]) { $1 }
        let baseLayers = try LayoutReader(dir("base")).json(try LayoutReader(dir("base")).entry(tag: "base")["digest"] as! String)["layers"] as! [[String: Any]]
        let layerDigests = baseLayers.compactMap { $0["digest"] as? String }
        #expect(!layerDigests.isEmpty)
        func bake(to destination: RegistryServer) throws -> (BakeJSON, [String]) {
            let start = source.requests().count
            let run = try kiln(["bake", "--base", "\(source.host)/base/app:1.0", "--overlay", try overlay(dir), "--user", "kong",
                                "--output", "\(destination.host)/svc/app:v1", "--json"], extraEnvironment: env)
            return (try BakeJSON(run), Array(source.requests()[start...]))
        }
        #expect(!FileManager.default.fileExists(atPath: dir("cache/layer-changes")))
        let (cold, coldRequests) = try bake(to: coldDestination)
        // The skeleton read downloaded each layer once; the copy took it from the spool.
        for digest in layerDigests { #expect(coldRequests.filter { $0 == "GET /v2/base/app/blobs/\(digest)" }.count == 1, "\(coldRequests)") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir("cache/layer-changes")).count == layerDigests.count)
        // Warm: no skeleton read; the copy reads each layer from the source once.
        let (warm, warmRequests) = try bake(to: warmDestination)
        #expect(warm.digest == cold.digest)
        for digest in layerDigests { #expect(warmRequests.filter { $0 == "GET /v2/base/app/blobs/\(digest)" }.count == 1, "\(warmRequests)") }
        // Both destinations hold every base layer, as skopeo reads them back.
        for (name, destination) in [("cold", coldDestination), ("warm", warmDestination)] {
            let raw = try runChecked("skopeo", ["inspect", "--raw"] + destination.skopeoFlags(dest: nil) + ["docker://\(destination.host)/svc/app:v1"]).stdout
            for digest in layerDigests { #expect(raw.contains(digest)) }
            try runChecked("skopeo", ["copy", "--quiet"] + destination.skopeoFlags(dest: false) + ["docker://\(destination.host)/svc/app:v1", "oci:\(dir("pulled-\(name)")):x"])
        }
    }

    @Test func sameRegistryBakeMountsBaseLayersAndRerunUploadsNothing() throws {
        let registry = try RegistryServer()
        let dir = try TemporaryDirectory()
        try PeerImages.pushBase(to: registry, work: dir)
        // The per-machine cache of the base's skeleton is on for this test (tests default to off).
        let env = try environment(dir).merging(["KILN_CACHE_DIR": dir("cache"), "XDG_CONFIG_HOME": dir("config")]) { $1 }
        let arguments = ["bake", "--base", "\(registry.host)/base/app:1.0", "--overlay", try overlay(dir),
                         "--env", "KONG_DATABASE=off", "--user", "kong", "--output", "\(registry.host)/um/gateway:v1", "--json"]
        let start = registry.requests().count
        let run = try kiln(arguments, extraEnvironment: env)
        let result = try BakeJSON(run)
        // Without a terminal: one plain line per finished blob on stderr; stdout holds only the JSON.
        #expect(run.stderr.contains("\(result.layer.digest.dropFirst(7).prefix(12)): written ("))
        #expect(run.stderr.contains(": mounted ("))
        #expect(result.reference == "\(registry.host)/um/gateway@\(result.digest)")
        let requests = Array(registry.requests()[start...])
        let baseLayers = try LayoutReader(dir("base")).json(try LayoutReader(dir("base")).entry(tag: "base")["digest"] as! String)["layers"] as! [[String: Any]]
        #expect(requests.filter { $0.hasPrefix("POST /v2/um/gateway/blobs/uploads/?mount=") }.count == baseLayers.count)
        // Only the new layer and the config are uploaded. Each base layer is read once, for its
        // tar headers (the base's directories and symlinks); a second bake reads none (cache).
        #expect(requests.filter { $0.hasPrefix("PUT /v2/um/gateway/blobs/uploads/") }.count == 2)
        let baseLayerDigests = baseLayers.compactMap { $0["digest"] as? String }
        for digest in baseLayerDigests { #expect(requests.filter { $0 == "GET /v2/base/app/blobs/\(digest)" }.count == 1, "\(requests)") }
        #expect(requests.filter { $0.hasPrefix("PATCH") }.isEmpty)
        #expect(requests.last == "PUT /v2/um/gateway/manifests/v1")

        let root = try pullAndUnpack("\(registry.host)/um/gateway:v1", from: registry, work: dir)
        #expect(try String(contentsOfFile: "\(root)/etc/kong/kong.conf", encoding: .utf8) == "database = off\n")
        #expect(FileManager.default.fileExists(atPath: "\(root)/etc/os-release"))
        let inspect = try runChecked("skopeo", ["inspect"] + registry.skopeoFlags(dest: nil) + ["docker://\(registry.host)/um/gateway:v1"]).stdout
        #expect(inspect.contains("\"KONG_DATABASE=off\"") && inspect.contains(result.digest))

        let again = registry.requests().count
        let second = try BakeJSON(kiln(arguments, extraEnvironment: env))
        #expect(second.digest == result.digest)
        let rerun = Array(registry.requests()[again...])
        #expect(rerun.filter { $0.hasPrefix("PUT") || $0.hasPrefix("POST") || $0.hasPrefix("PATCH") }.isEmpty, "\(rerun)")
        // The config is fetched (a document); no base layer is read again.
        #expect(!rerun.contains { request in baseLayerDigests.contains { request == "GET /v2/base/app/blobs/\($0)" } }, "\(rerun)")
    }

    @Test func crossRegistryBakeStreamsLayersAndMatchesTheLayoutBake() throws {
        let source = try RegistryServer()
        let target = try RegistryServer()
        let dir = try TemporaryDirectory()
        try PeerImages.pushBase(to: source, work: dir)
        let env = try environment(dir)
        let overlay = try overlay(dir)
        let toRegistry = try BakeJSON(kiln(["bake", "--base", "\(source.host)/base/app:1.0", "--overlay", overlay,
                                            "--output", "\(target.host)/um/gateway:v1", "--json"], extraEnvironment: env))
        let toLayout = try BakeJSON(kiln(["bake", "--base", "\(source.host)/base/app:1.0", "--overlay", overlay,
                                          "--output", "oci:\(dir("layout")):v1", "--json"], extraEnvironment: env))
        #expect(toRegistry.digest == toLayout.digest)
        let pushed = target.requests().filter { $0.hasPrefix("PUT /v2/um/gateway/blobs/uploads/") }
        let layers = (try LayoutReader(dir("layout")).json(toLayout.digest)["layers"] as? [Any])?.count ?? 0
        #expect(pushed.count == layers + 1)
        let root = try pullAndUnpack("\(target.host)/um/gateway:v1", from: target, work: dir)
        #expect(FileManager.default.fileExists(atPath: "\(root)/etc/kong/declarative/kong.yml"))

        // Layout to registry: the README's demo gives its golden digest in a registry too.
        let demo = try BakeJSON(kiln(Demo.arguments(output: "\(target.host)/um/demo:gateway") + ["--json"], extraEnvironment: env))
        #expect(demo.digest == Demo.goldenManifest)
        #expect(try kiln(["digest", "\(target.host)/um/demo:gateway"], extraEnvironment: env).output == Demo.goldenManifest)
    }

    @Test func multiPlatformIndexInRegistries() throws {
        let registry = try RegistryServer()
        let dir = try TemporaryDirectory()
        try PeerImages.makeTwoPlatformBase(at: dir("base"), work: dir)
        try runChecked("skopeo", ["copy", "--quiet", "--all"] + registry.skopeoFlags(dest: true) + ["oci:\(dir("base")):multi", "docker://\(registry.host)/base/multi:1"])
        let result = try BakeJSON(kiln(["bake", "--base", "\(registry.host)/base/multi:1", "--overlay", try overlay(dir),
                                        "--output", "\(registry.host)/um/multi:1", "--json"], extraEnvironment: try environment(dir)))
        #expect(result.platforms == ["linux/amd64", "linux/arm64/v8"])
        let raw = try runChecked("skopeo", ["inspect", "--raw"] + registry.skopeoFlags(dest: nil) + ["docker://\(registry.host)/um/multi:1"]).stdout
        let index = try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any] ?? [:]
        #expect((index["manifests"] as? [Any])?.count == 2)
        for arch in ["amd64", "arm64"] {
            let layers = try runChecked("skopeo", ["inspect", "--override-arch", arch, "--format", "{{.Layers}}"] + registry.skopeoFlags(dest: nil) + ["docker://\(registry.host)/um/multi:1"]).output
            #expect(layers.contains(result.layer.digest))
        }
        // One overlay blob, uploaded once although two manifests use it.
        #expect(registry.requests().filter { $0 == "HEAD /v2/um/multi/blobs/\(result.layer.digest)" }.count <= 1)
    }

    @Test func tlsAndBasicAuthWithDockerConfigAndCredentialHelper() throws {
        let registry = try RegistryServer(tls: true, user: ("ci", "s3cret-pass"))
        let dir = try TemporaryDirectory()
        try PeerImages.pushBase(to: registry, work: dir)
        let auth = Data("ci:s3cret-pass".utf8).base64EncodedString()
        let arguments = ["bake", "--base", "\(registry.host)/base/app:1.0", "--overlay", try overlay(dir),
                         "--ca-file", registry.caFile!, "--env", "A=b", "--output", "\(registry.host)/um/gateway:v1"]
        let ok = try kiln(arguments, extraEnvironment: try environment(dir, config: #"{"auths":{"\#(registry.host)":{"auth":"\#(auth)"}}}"#))
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(!ok.stderr.contains("s3cret") && !ok.stdout.contains("s3cret"))
        let inspect = try runChecked("skopeo", ["inspect"] + registry.skopeoFlags(dest: nil) + ["docker://\(registry.host)/um/gateway:v1"]).stdout
        #expect(inspect.contains("\"A=b\""))

        // The same through a credential helper on PATH.
        try dir.write("bin/docker-credential-kilntest", """
            #!/bin/sh
            read server
            [ "$1" = get ] && [ "$server" = "\(registry.host)" ] || exit 1
            echo '{"ServerURL":"\(registry.host)","Username":"ci","Secret":"s3cret-pass"}'
            """, mode: 0o755)
        let path = dir("bin") + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let helper = try kiln(arguments.dropLast() + ["\(registry.host)/um/gateway:v2"],
                              extraEnvironment: try environment(dir, config: #"{"credHelpers":{"\#(registry.host)":"kilntest"}}"#, path: path))
        #expect(helper.status == 0, "\(helper.stderr)")

        // A chatty helper: a megabyte on standard error before its answer (a full stderr pipe
        // once hung kiln, which read standard output first).
        try dir.write("bin/docker-credential-chatty", """
            #!/bin/sh
            read server
            head -c 1048576 /dev/zero | tr '\\0' x >&2
            echo '{"ServerURL":"\(registry.host)","Username":"ci","Secret":"s3cret-pass"}'
            """, mode: 0o755)
        let chatty = try kiln(arguments.dropLast() + ["\(registry.host)/um/gateway:v2b"],
                              extraEnvironment: try environment(dir, config: #"{"credHelpers":{"\#(registry.host)":"chatty"}}"#, path: path))
        #expect(chatty.status == 0, "\(chatty.stderr.prefix(300))")

        // A wrong password: one line, names where the credentials came from, shows no secret, pushes nothing.
        let wrong = Data("ci:wrong-pass".utf8).base64EncodedString()
        let before = registry.requests().count
        let denied = try kiln(arguments.dropLast() + ["\(registry.host)/um/gateway:v3"],
                              extraEnvironment: try environment(dir, config: #"{"auths":{"\#(registry.host)":{"auth":"\#(wrong)"}}}"#))
        #expect(denied.status == 1)
        #expect(denied.stderr == "kiln: error: registry \(registry.host) rejected the credentials from \(dir("docker/config.json"))\n")
        #expect(!registry.requests()[before...].contains { $0.hasPrefix("PUT") || $0.hasPrefix("POST") })

        // No credentials at all.
        let anonymous = try kiln(arguments, extraEnvironment: try environment(dir))
        #expect(anonymous.status == 1)
        #expect(anonymous.stderr.hasPrefix("kiln: error: registry \(registry.host) requires credentials for base/app; none found (looked in: "))

        // Without the CA, TLS fails clearly.
        let untrusted = try kiln(arguments.filter { $0 != "--ca-file" && $0 != registry.caFile! },
                                 extraEnvironment: try environment(dir, config: #"{"auths":{"\#(registry.host)":{"auth":"\#(auth)"}}}"#))
        #expect(untrusted.status == 1)
        #expect(untrusted.stderr.contains("TLS handshake failed") && untrusted.stderr.contains("--ca-file"))
    }

    @Test func passwordFromStdinAppliesToTheOutputRegistry() throws {
        let registry = try RegistryServer(tls: true, user: ("ci", "pw-from-stdin"))
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("base"), work: dir)
        var env = ProcessInfo.processInfo.environment
        env.merge(try environment(dir)) { $1 }
        let result = try run("sh", ["-c", "printf 'pw-from-stdin\\n' | '\(kilnExecutable)' bake --base 'oci:\(dir("base")):base' --overlay '\(try overlay(dir))' --ca-file '\(registry.caFile!)' --username ci --password-stdin --output '\(registry.host)/um/app:1'"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("pw-from-stdin"))
    }

    @Test func dockerHubNamesRoutedToALocalRegistryByTheConfigFile() throws {
        let registry = try RegistryServer()
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("base"), work: dir)
        try registry.push(layout: "\(dir("base")):base", to: "library/kong:2.6.0-alpine")
        try dir.write("kiln.yaml", "registries:\n  docker.io:\n    endpoint: http://\(registry.host)\n")
        var env = try environment(dir)
        env["KILN_CONFIG"] = dir("kiln.yaml")
        let result = try BakeJSON(kiln(["bake", "--base", "kong:2.6.0-alpine", "--overlay", try overlay(dir),
                                        "--output", "oci:\(dir("out")):gateway", "--json"], extraEnvironment: env))
        let manifest = try LayoutReader(dir("out")).json(result.digest)
        let annotations = manifest["annotations"] as? [String: String] ?? [:]
        #expect(annotations["org.opencontainers.image.base.name"] == "docker.io/library/kong:2.6.0-alpine")
        #expect(registry.requests().contains("GET /v2/library/kong/manifests/2.6.0-alpine"))

        try dir.write("bad.yaml", "registries:\n  docker.io:\n    mirror: x\n")
        env["KILN_CONFIG"] = dir("bad.yaml")
        let bad = try kiln(["digest", "kong:2.6.0-alpine"], extraEnvironment: env)
        #expect(bad.status == 1)
        #expect(bad.stderr == "kiln: error: \(dir("bad.yaml")):3: unknown key 'registries.docker.io.mirror' (known: endpoint, insecure, mirrors, pull-from-mirror, aws-profile)\n")
    }
}
