/// A multi-platform image index (OCI index or Docker manifest list), parsed from its exact bytes.
public struct ImageIndex: Sendable {
    /// The bytes as read.
    public let raw: [UInt8]
    /// The whole document, with fields kiln does not model.
    public let json: JSONValue
    public let mediaType: String
    public let manifests: [Descriptor]

    /// Which media type family the index uses.
    public var flavour: Flavour { Flavour(manifestMediaType: mediaType) ?? .oci }

    /// Parses and validates an index.
    /// - Throws: ``OCIError`` naming the index when it is not one or lacks `manifests`.
    public init(raw: [UInt8], descriptorMediaType: String? = nil, what: String) throws {
        try self.init(wire: try ManifestWire.decode(raw, what: what), raw: raw, descriptorMediaType: descriptorMediaType, what: what)
    }

    /// From the document's one parse.
    init(wire: ManifestWire, raw: [UInt8], descriptorMediaType: String?, what: String) throws {
        let mediaType = try ManifestKind.resolveMediaType(wire: wire, descriptorMediaType: descriptorMediaType, what: what)
        guard MediaType.indexes.contains(mediaType) else {
            throw OCIError.malformed(what: what, reason: "expected an image index, found '\(mediaType)'")
        }
        guard let manifests = wire.manifests else { throw OCIError.malformed(what: what, reason: "missing field 'manifests'") }
        self.raw = raw
        self.json = wire.json
        self.mediaType = mediaType
        self.manifests = manifests
    }

    /// The descriptor of this index.
    public var descriptor: Descriptor { Descriptor.of(raw, mediaType: mediaType) }
}

extension Descriptor {
    /// Whether this index entry is an image kiln can bake, rather than an attestation, a
    /// signature, a nested index or an artifact of unknown type.
    public var isBakeableImage: Bool {
        guard MediaType.manifests.contains(mediaType) else { return false }
        if annotations?[AnnotationKey.dockerReferenceType] != nil { return false }
        if let platform, platform.os == "unknown" || platform.architecture == "unknown" { return false }
        return true
    }
}
