import OCI
import Testing

@Suite struct ManifestTests {
    static let configDigest = "sha256:" + String(repeating: "c", count: 64)
    static let layerDigest = "sha256:" + String(repeating: "d", count: 64)

    static func manifest(mediaType: String? = MediaType.ociManifest, layerType: String = MediaType.ociLayerGzip, configType: String = MediaType.ociConfig) -> [UInt8] {
        let typeField = mediaType.map { #""mediaType":"\#($0)","# } ?? ""
        return Array(#"{"schemaVersion":2,\#(typeField)"config":{"mediaType":"\#(configType)","digest":"\#(configDigest)","size":7},"layers":[{"mediaType":"\#(layerType)","digest":"\#(layerDigest)","size":9}],"annotations":{"keep":"me"}}"#.utf8)
    }

    @Test func parsesOCIManifestKeepingRawBytes() throws {
        let raw = Self.manifest()
        let manifest = try ImageManifest(raw: raw, what: "m")
        #expect(manifest.flavour == .oci)
        #expect(manifest.layers.map(\.digest.description) == [Self.layerDigest])
        #expect(manifest.descriptor.digest == Digest.of(raw))
        #expect(manifest.json["annotations"]?["keep"]?.stringValue == "me")
    }

    @Test func mediaTypeComesFromDescriptorWhenAbsent() throws {
        let manifest = try ImageManifest(raw: Self.manifest(mediaType: nil), descriptorMediaType: MediaType.ociManifest, what: "m")
        #expect(manifest.mediaType == MediaType.ociManifest)
    }

    @Test func dockerManifestKeepsDockerFlavour() throws {
        let raw = Self.manifest(mediaType: MediaType.dockerManifest, layerType: MediaType.dockerLayerGzip, configType: MediaType.dockerConfig)
        let manifest = try ImageManifest(raw: raw, what: "m")
        #expect(manifest.flavour == .docker)
        #expect(manifest.flavour.layerMediaType(for: .gzip) == MediaType.dockerLayerGzip)
        #expect(manifest.flavour.layerMediaType(for: .zstd) == nil)
    }

    @Test func refusesSchema1() {
        let raw = Array(#"{"schemaVersion":1,"name":"library/kong","tag":"old","fsLayers":[]}"#.utf8)
        #expect(throws: OCIError.schema1(what: "m")) { try ManifestKind(raw: raw, descriptorMediaType: nil, what: "m") }
    }

    @Test func refusesUnknownLayerMediaType() {
        let raw = Self.manifest(layerType: "application/x-tar-bzip2")
        #expect(throws: OCIError.unsupportedMediaType(what: "layer \(Self.layerDigest) of m", mediaType: "application/x-tar-bzip2")) {
            try ImageManifest(raw: raw, what: "m")
        }
    }

    @Test func refusesUnknownManifestMediaType() {
        let raw = Self.manifest(mediaType: "application/vnd.example+json")
        #expect(throws: OCIError.unsupportedMediaType(what: "m", mediaType: "application/vnd.example+json")) {
            try ManifestKind(raw: raw, descriptorMediaType: nil, what: "m")
        }
    }

    @Test func refusesMissingConfigWithOneLine() {
        let raw = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#.utf8)
        #expect(throws: OCIError.malformed(what: "m", reason: "missing field 'config'")) { try ImageManifest(raw: raw, what: "m") }
    }

    @Test func refusesBadDigestInsideDescriptor() {
        let raw = Array(#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:nothex","size":1},"layers":[]}"#.utf8)
        #expect(throws: OCIError.self) { try ImageManifest(raw: raw, what: "m") }
    }

    /// Fields are read from the one JSONValue parse; a bad one is named by its path.
    @Test func badFieldsAreNamedByTheirPath() {
        let config = #""config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(Self.configDigest)","size":1}"#
        let cases: [(String, String)] = [
            (#"{"schemaVersion":2,\#(config),"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\#(Self.layerDigest)","size":1},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"md5:x","size":1}]}"#, "layers[1].digest"),
            (#"{"schemaVersion":2,\#(config),"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\#(Self.layerDigest)","size":"1"}]}"#, "layers[0].size: wrong type"),
            (#"{"schemaVersion":"2",\#(config),"layers":[]}"#, "schemaVersion: wrong type"),
            (#"{"schemaVersion":2,\#(config),"layers":{}}"#, "layers: wrong type"),
            (#"[1]"#, "document: wrong type"),
        ]
        for (text, path) in cases {
            do {
                _ = try ImageManifest(raw: Array(text.utf8), what: "m")
                Issue.record("accepted: \(text)")
            } catch {
                #expect("\(error)".contains(path), "\(error)")
            }
        }
    }

    @Test func parsesIndexAndSpotsAttestations() throws {
        let raw = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(Self.layerDigest)","size":1,"platform":{"os":"linux","architecture":"amd64"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(Self.configDigest)","size":1,"platform":{"os":"unknown","architecture":"unknown"},"annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}"#.utf8)
        guard case .index(let index) = try ManifestKind(raw: raw, descriptorMediaType: nil, what: "i") else {
            Issue.record("expected an index")
            return
        }
        #expect(index.manifests.map(\.isBakeableImage) == [true, false])
        #expect(index.flavour == .oci)
    }
}
