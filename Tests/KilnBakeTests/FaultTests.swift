import Foundation
import KilnTestSupport
import Testing

/// Faults a real registry does not produce, injected by a proxy in front of real registries.
@Suite struct FaultTests {
    private func setUp() throws -> (source: RegistryServer, target: RegistryServer, dir: TemporaryDirectory, env: [String: String]) {
        let source = try RegistryServer()
        let target = try RegistryServer()
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("base"), work: dir)
        try source.push(layout: "\(dir("base")):base", to: "base/app:1.0")
        try dir.write("overlay/kong.conf", "database = off\n")
        try dir.write("docker/config.json", #"{"auths":{}}"#)
        return (source, target, dir, ["DOCKER_CONFIG": dir("docker"), "REGISTRY_AUTH_FILE": ""])
    }

    @Test func transientFaultsAreRetriedAndTheDigestIsRight() throws {
        let (source, target, dir, env) = try setUp()
        let arguments = ["bake", "--base", "\(source.host)/base/app:1.0", "--overlay", "\(dir("overlay")):/etc/kong", "--json"]
        let clean = try BakeJSON(kiln(arguments + ["--output", "oci:\(dir("clean")):x"], extraEnvironment: env))

        // Cut a config download and, separately, the base layer while it streams into the target.
        let reader = LayoutReader(dir("base"))
        let layer = ((try reader.json(try reader.entry(tag: "base")["digest"] as! String))["layers"] as! [[String: Any]])[0]["digest"] as! String
        let sourceProxy = try FaultProxy(upstream: source, faults: ["--drop-blob-get", "1", "--drop-digest", layer, "--manifest-get-429", "1"])
        let targetProxy = try FaultProxy(upstream: target, faults: ["--blob-put-503", "2", "--manifest-put-503", "1"])
        let faulty = try kiln(arguments + [
            "--output", "\(target.host)/um/gateway:v1",
            "--registry-endpoint", "\(source.host)=\(sourceProxy.url)",
            "--registry-endpoint", "\(target.host)=\(targetProxy.url)",
        ], extraEnvironment: env)
        let result = try BakeJSON(faulty)
        #expect(result.digest == clean.digest)
        // The cut base layer is resumed where it broke (Range), not pushed again from the start.
        #expect(faulty.stderr.contains("download of blob \(layer) connection closed mid-transfer at byte"), "\(faulty.stderr)")
        #expect(faulty.stderr.contains("interrupted (HTTP 503); retrying in"), "\(faulty.stderr)")
        #expect(faulty.stderr.contains("HTTP 429; retrying in 1.0 s"))
        let inspect = try runChecked("skopeo", ["inspect", "--tls-verify=false", "--format", "{{.Digest}}", "docker://\(target.host)/um/gateway:v1"]).output
        #expect(inspect == clean.digest)
    }

    @Test func faultsBeyondTheRetryBudgetFailClearlyAndLeaveTheTagAlone() throws {
        let (source, target, dir, env) = try setUp()
        let proxy = try FaultProxy(upstream: target, faults: ["--manifest-put-503", "-1"])
        let result = try kiln(["bake", "--base", "\(source.host)/base/app:1.0", "--overlay", "\(dir("overlay")):/etc/kong",
                               "--output", "\(target.host)/um/gateway:v1", "--registry-endpoint", "\(target.host)=\(proxy.url)"],
                              extraEnvironment: env)
        #expect(result.status == 1)
        let lastLine = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(lastLine.hasPrefix("kiln: error: registry \(target.host): PUT manifest \(target.host)/um/gateway:v1 failed after 5 attempts (last: HTTP 503)"), "\(result.stderr)")
        #expect(!target.requests().contains { $0.hasPrefix("PUT /v2/um/gateway/manifests/") })
        let tags = try run("skopeo", ["inspect", "--tls-verify=false", "docker://\(target.host)/um/gateway:v1"])
        #expect(tags.status != 0)
    }

    @Test func crossOriginRedirectDropsTheAuthorizationHeader() throws {
        let registry = try RegistryServer(user: ("ci", "s3cret"))
        let dir = try TemporaryDirectory()
        try PeerImages.pushBase(to: registry, work: dir)
        let auth = Data("ci:s3cret".utf8).base64EncodedString()
        try dir.write("docker/config.json", #"{"auths":{"\#(registry.host)":{"auth":"\#(auth)"}}}"#)
        try dir.write("overlay/kong.conf", "x\n")
        // The "CDN" is another origin (localhost, not 127.0.0.1) that records what it was sent.
        let cdn = try FaultProxy(upstream: registry, faults: ["--record-auth", dir("cdn.log"), "--grant", "ci:s3cret"])
        let front = try FaultProxy(upstream: registry, faults: ["--redirect-blobs", "http://localhost:\(cdn.port)"])
        let result = try kiln(["bake", "--base", "\(registry.host)/base/app:1.0", "--overlay", "\(dir("overlay")):/etc/kong",
                               "--registry-endpoint", "\(registry.host)=\(front.url)", "--output", "oci:\(dir("out")):x"],
                              extraEnvironment: ["DOCKER_CONFIG": dir("docker"), "REGISTRY_AUTH_FILE": ""])
        #expect(result.status == 0, "\(result.stderr)")
        let seen = (try String(contentsOfFile: dir("cdn.log"), encoding: .utf8)).split(separator: "\n")
        #expect(!seen.isEmpty, "no blob was fetched through the redirect")
        #expect(seen.allSatisfy { $0 == "none" }, "the Authorization header crossed origins: \(seen)")
        // The base layer arrived through the redirect and was verified into the layout.
        #expect(try run("oci-image-tool", ["validate", "--type", "image", "--ref", "name=x", dir("out")]).status == 0)
    }
}
