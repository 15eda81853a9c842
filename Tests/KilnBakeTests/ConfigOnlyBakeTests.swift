import Foundation
import KilnTestSupport
import Testing

/// `kiln bake --env … --cmd …` with no overlay: a new config and manifest, no new layer (the
/// repository's own images/profielen-bron.yaml only changes Cmd), as Docker's ENV and CMD do.
@Suite struct ConfigOnlyBakeTests {
    @Test func configEditsAloneAddNoLayer() throws {
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("base"), work: dir)
        let baseReader = LayoutReader(dir("base"))
        let baseManifest = try baseReader.json(try #require(try baseReader.entry(tag: "base")["digest"] as? String))
        let baseConfig = try baseReader.json(try #require((baseManifest["config"] as? [String: Any])?["digest"] as? String))

        let result = try kiln(["bake", "--base", "oci:\(dir("base")):base", "--env", "SERVER_PORT=8081",
                               "--cmd", #"["--server.servlet.context-path=/gateway"]"#, "--json", "--output", "oci:\(dir("out")):x"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["layer"] is NSNull)

        let reader = LayoutReader(dir("out"))
        let manifest = try reader.json(try #require(try reader.entry(tag: "x")["digest"] as? String))
        #expect((manifest["layers"] as? [[String: Any]])?.count == (baseManifest["layers"] as? [[String: Any]])?.count)
        let config = try reader.json(try #require((manifest["config"] as? [String: Any])?["digest"] as? String))
        #expect((config["rootfs"] as? [String: Any])?["diff_ids"] as? [String] == (baseConfig["rootfs"] as? [String: Any])?["diff_ids"] as? [String])
        let last = try #require((config["history"] as? [[String: Any]])?.last)
        #expect(last["empty_layer"] as? Bool == true && last["created_by"] as? String == "kiln bake: config")
        let section = try #require(config["config"] as? [String: Any])
        #expect((section["Env"] as? [String])?.contains("SERVER_PORT=8081") == true)
        #expect(section["Cmd"] as? [String] == ["--server.servlet.context-path=/gateway"])

        // Independent readers take it: skopeo inspects it, umoci unpacks it.
        let inspect = try runChecked("skopeo", ["inspect", "oci:\(dir("out")):x"]).stdout
        #expect(inspect.contains("SERVER_PORT=8081"))
        try runChecked("umoci", ["unpack", "--rootless", "--image", "\(dir("out")):x", dir("bundle")])
        #expect(FileManager.default.fileExists(atPath: dir("bundle/rootfs/etc/os-release")))

        // Nothing at all to bake is one error line.
        let nothing = try kiln(["bake", "--base", "oci:\(dir("base")):base", "--output", "oci:\(dir("none")):x"])
        #expect(nothing.status == 1 && nothing.stderr.hasPrefix("kiln: error: nothing to bake"), "\(nothing.stderr)")
    }
}

/// The same base by tag, by digest or from a layout gives different digests (the base.name
/// annotation); `--base-name` lets a local bake reproduce the registry bake's digest.
@Suite struct BaseNameTests {
    @Test func aLayoutBakeReproducesTheRegistryDigestWithBaseName() throws {
        let registry = try RegistryServer()
        let dir = try TemporaryDirectory()
        try PeerImages.pushBase(to: registry, work: dir)
        try dir.write("app.conf", "x=1\n")
        let common = ["bake", "--quiet", "--overlay", "\(dir("app.conf")):/etc/app.conf"]
        let fromRegistry = try kiln(common + ["--base", "\(registry.host)/base/app:1.0", "--output", "oci:\(dir("a")):x"])
        let fromLayout = try kiln(common + ["--base", "oci:\(dir("base")):base", "--output", "oci:\(dir("b")):x"])
        let named = try kiln(common + ["--base", "oci:\(dir("base")):base", "--base-name", "\(registry.host)/base/app:1.0", "--output", "oci:\(dir("c")):x"])
        let digest = { (result: ProcessResult) in result.output.split(separator: "@").last.map(String.init) }
        #expect(fromRegistry.status == 0 && fromLayout.status == 0 && named.status == 0, "\(fromRegistry.stderr)\(fromLayout.stderr)\(named.stderr)")
        #expect(digest(fromRegistry) != digest(fromLayout))
        #expect(digest(fromRegistry) == digest(named))

        // '' leaves the annotation out: the layout bake's digest (a layout has no name).
        let omitted = try kiln(common + ["--base", "\(registry.host)/base/app:1.0", "--base-name", "", "--output", "oci:\(dir("d")):x"])
        #expect(digest(omitted) == digest(fromLayout))
    }
}
