import KilnBake
import OCI
import Testing
import KilnRecipe

@Suite struct MutateTests {
    static let diffID = try! Digest(parsing: "sha256:" + String(repeating: "1", count: 64))
    let history = Mutate.History(created: "1970-01-01T00:00:00Z", createdBy: "kiln bake: add /etc/kong/kong.conf")

    private func json(_ text: String) throws -> JSONValue { try JSONValue(parsing: Array(text.utf8), what: "test") }
    private func text(_ value: JSONValue) -> String { String(decoding: value.serialized(), as: UTF8.self) }

    @Test func configKeepsUnknownFieldsAndAppendsLayerAndHistory() throws {
        let base = try json(#"{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","x-vendor":{"k":[1,2]},"config":{"Healthcheck":{"Test":["CMD","kong","health"],"Interval":10000000000},"OnBuild":["RUN x"],"Env":["PATH=/bin","KONG_DATABASE=postgres"],"Cmd":["kong"]},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]},"history":[{"created_by":"base"}]}"#)
        var edits = ConfigEdits()
        edits.env = [("KONG_DATABASE", "off"), ("KONG_PLUGINS", "oidc,cors")]
        edits.labels = [("org.opencontainers.image.source", "https://example.org/repo")]
        edits.user = "kong"
        edits.workingDir = "/usr/local/kong"
        edits.entrypoint = ["/docker-entrypoint.sh"]
        edits.cmd = ["kong", "docker-start"]
        let result = try Mutate.config(base, diffID: Self.diffID, history: history, edits: edits, created: nil, what: "c")
        #expect(text(result) == #"{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","x-vendor":{"k":[1,2]},"config":{"Healthcheck":{"Test":["CMD","kong","health"],"Interval":10000000000},"OnBuild":["RUN x"],"Env":["PATH=/bin","KONG_DATABASE=off","KONG_PLUGINS=oidc,cors"],"Cmd":["kong","docker-start"],"Labels":{"org.opencontainers.image.source":"https://example.org/repo"},"User":"kong","WorkingDir":"/usr/local/kong","Entrypoint":["/docker-entrypoint.sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:aa","\#(Self.diffID)"]},"history":[{"created_by":"base"},{"created":"1970-01-01T00:00:00Z","created_by":"kiln bake: add /etc/kong/kong.conf"}]}"#)
    }

    /// What a Dockerfile sets, written as Docker writes it: ExposedPorts and Volumes as sets
    /// (objects of empty objects, keys sorted like a Go map, the base's kept), Healthcheck
    /// durations in nanoseconds with zero values left out, OnBuild appended, ArgsEscaped, the
    /// top-level author, and Cmd removed when ENTRYPOINT came without CMD.
    @Test func dockerfileEditsAreWrittenAsDockerWritesThem() throws {
        let base = try json(#"{"os":"linux","config":{"Cmd":["bash"],"ExposedPorts":{"8080/tcp":{}},"OnBuild":["RUN x"]},"rootfs":{"type":"layers","diff_ids":[]}}"#)
        var edits = ConfigEdits()
        edits.entrypoint = ["/bin/sh", "-c", "exec top -b"]
        edits.clearsCmd = true
        edits.exposedPorts = ["80/udp", "80/tcp", "8080/tcp"]
        edits.volumes = ["/var/log", "/data"]
        edits.stopSignal = "SIGKILL"
        edits.healthcheck = .init(test: ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], interval: 300_000_000_000, timeout: 3_000_000_000)
        edits.shell = ["powershell", "-command"]
        edits.onBuild = ["ADD . /app/src"]
        edits.author = "someone"
        let result = try Mutate.config(base, diffID: nil, history: history, edits: edits, created: nil, what: "c")
        #expect(text(result) == #"{"os":"linux","config":{"ExposedPorts":{"80/tcp":{},"80/udp":{},"8080/tcp":{}},"OnBuild":["RUN x","ADD . /app/src"],"Entrypoint":["/bin/sh","-c","exec top -b"],"Volumes":{"/data":{},"/var/log":{}},"StopSignal":"SIGKILL","Healthcheck":{"Test":["CMD-SHELL","curl -f http://localhost/ || exit 1"],"Interval":300000000000,"Timeout":3000000000},"Shell":["powershell","-command"]},"rootfs":{"type":"layers","diff_ids":[]},"author":"someone","history":[{"created":"1970-01-01T00:00:00Z","created_by":"kiln bake: add /etc/kong/kong.conf","empty_layer":true}]}"#)
        var cleared = ConfigEdits()
        cleared.clearsEntrypoint = true
        cleared.clearsCmd = true
        #expect(text(try Mutate.config(try json(#"{"config":{"Entrypoint":["a"],"Cmd":["b"],"User":"u"}}"#), diffID: nil, history: history, edits: cleared, created: nil, what: "c"))
            .hasPrefix(#"{"config":{"User":"u"}"#))
        var withCmd = ConfigEdits()
        withCmd.cmd = ["-c"]
        withCmd.clearsCmd = true
        withCmd.argsEscaped = true
        #expect(text(try Mutate.config(base, diffID: nil, history: history, edits: withCmd, created: nil, what: "c"))
            .contains(#""config":{"Cmd":["-c"],"ExposedPorts":{"8080/tcp":{}},"OnBuild":["RUN x"],"ArgsEscaped":true}"#))
        var badPorts = ConfigEdits()
        badPorts.exposedPorts = ["80/tcp"]
        #expect(throws: BakeError.malformedConfig(what: "c", reason: "config.ExposedPorts is not an object")) {
            try Mutate.config(try json(#"{"config":{"ExposedPorts":["80/tcp"]}}"#), diffID: nil, history: history, edits: badPorts, created: nil, what: "c")
        }
    }

    @Test func configWithoutSectionsGetsThemAndCreatedWhenAsked() throws {
        let result = try Mutate.config(try json(#"{"os":"linux","config":null}"#), diffID: Self.diffID, history: history, edits: ConfigEdits(), created: "2023-11-14T22:13:20Z", what: "c")
        #expect(text(result) == #"{"os":"linux","config":{},"created":"2023-11-14T22:13:20Z","rootfs":{"type":"layers","diff_ids":["\#(Self.diffID)"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"kiln bake: add /etc/kong/kong.conf"}]}"#)
    }

    @Test func wrongTypesAreNamed() throws {
        var edits = ConfigEdits()
        edits.env = [("A", "b")]
        #expect(throws: BakeError.malformedConfig(what: "c", reason: "config.Env is not an array")) {
            try Mutate.config(try json(#"{"config":{"Env":"A=b"}}"#), diffID: Self.diffID, history: history, edits: edits, created: nil, what: "c")
        }
        #expect(throws: BakeError.malformedConfig(what: "c", reason: "rootfs.diff_ids is not an array")) {
            try Mutate.config(try json(#"{"rootfs":{"diff_ids":{}}}"#), diffID: Self.diffID, history: history, edits: ConfigEdits(), created: nil, what: "c")
        }
        #expect(throws: BakeError.malformedConfig(what: "c", reason: "not a JSON object")) {
            try Mutate.config(try json("[]"), diffID: Self.diffID, history: history, edits: ConfigEdits(), created: nil, what: "c")
        }
    }

    @Test func flagValuesAreParsedStrictly() throws {
        #expect(try ConfigEdits.parseKeyValue("A=b=c", flag: "--env") == ("A", "b=c"))
        #expect(throws: ConfigEditError.invalidKeyValue(flag: "--env", text: "=x")) { try ConfigEdits.parseKeyValue("=x", flag: "--env") }
        #expect(throws: ConfigEditError.invalidKeyValue(flag: "--label", text: "novalue")) { try ConfigEdits.parseKeyValue("novalue", flag: "--label") }
        #expect(try ConfigEdits.parseStringArray(#"["kong","docker-start"]"#, flag: "--cmd") == ["kong", "docker-start"])
        #expect(throws: ConfigEditError.invalidJSONArray(flag: "--cmd", text: "kong start")) { try ConfigEdits.parseStringArray("kong start", flag: "--cmd") }
        #expect(throws: ConfigEditError.invalidJSONArray(flag: "--cmd", text: "[1]")) { try ConfigEdits.parseStringArray("[1]", flag: "--cmd") }
    }

    @Test func manifestAnnotationsOnlyForOCI() throws {
        let config = Descriptor(mediaType: MediaType.ociConfig, digest: Self.diffID, size: 3)
        let layer = Descriptor(mediaType: MediaType.ociLayerGzip, digest: Self.diffID, size: 4)
        let oci = try ImageManifest(raw: Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(Self.diffID)","size":1},"layers":[]}"#.utf8), what: "m")
        let derived = Mutate.manifest(oci, config: config, layer: layer, annotations: [(AnnotationKey.baseDigest, oci.descriptor.digest.description)])
        #expect(derived["annotations"]?[AnnotationKey.baseDigest]?.stringValue == oci.descriptor.digest.description)
        #expect(derived["layers"]?.arrayValue?.count == 1)
        let docker = try ImageManifest(raw: Array(#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"\#(Self.diffID)","size":1},"layers":[]}"#.utf8), what: "m")
        #expect(Mutate.manifest(docker, config: config, layer: layer, annotations: [("k", "v")])["annotations"] == nil)
    }
}
