/// A single-platform image manifest, parsed from the exact bytes it was read as.
///
/// The raw bytes are kept beside the parsed values: a digest is always over what was read,
/// never over a re-serialization.
public struct ImageManifest: Sendable {
    /// The bytes as read.
    public let raw: [UInt8]
    /// The whole document, with fields kiln does not model.
    public let json: JSONValue
    /// OCI or Docker v2 schema 2 manifest media type.
    public let mediaType: String
    public let config: Descriptor
    public let layers: [Descriptor]

    /// Which media type family the manifest uses.
    public var flavour: Flavour { Flavour(manifestMediaType: mediaType) ?? .oci }

    /// Parses and validates a manifest.
    ///
    /// - Parameters:
    ///   - raw: the manifest bytes.
    ///   - descriptorMediaType: the media type its descriptor or the registry announced, if any;
    ///     used when the document has no `mediaType` field, as OCI allows.
    ///   - what: names the manifest in errors.
    /// - Throws: ``OCIError`` naming the manifest for schema 1, unknown media types or missing fields.
    public init(raw: [UInt8], descriptorMediaType: String? = nil, what: String) throws {
        try self.init(wire: try ManifestWire.decode(raw, what: what), raw: raw, descriptorMediaType: descriptorMediaType, what: what)
    }

    /// From the document's one parse.
    init(wire: ManifestWire, raw: [UInt8], descriptorMediaType: String?, what: String) throws {
        let mediaType = try ManifestKind.resolveMediaType(wire: wire, descriptorMediaType: descriptorMediaType, what: what)
        guard MediaType.manifests.contains(mediaType) else {
            throw OCIError.malformed(what: what, reason: "expected an image manifest, found '\(mediaType)'")
        }
        guard let config = wire.config else { throw OCIError.malformed(what: what, reason: "missing field 'config'") }
        guard MediaType.configs.contains(config.mediaType) else {
            throw OCIError.unsupportedMediaType(what: "config of \(what)", mediaType: config.mediaType)
        }
        let layers = wire.layers ?? []
        for layer in layers where !MediaType.layers.contains(layer.mediaType) {
            throw OCIError.unsupportedMediaType(what: "layer \(layer.digest) of \(what)", mediaType: layer.mediaType)
        }
        self.raw = raw
        self.json = wire.json
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
    }

    /// The descriptor of this manifest.
    public var descriptor: Descriptor { Descriptor.of(raw, mediaType: mediaType) }
}
