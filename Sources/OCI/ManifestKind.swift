/// Either kind of document a reference can point at.
public enum ManifestKind: Sendable {
    case image(ImageManifest)
    case index(ImageIndex)

    /// Parses a manifest or an index, deciding by its media type.
    /// - Throws: ``OCIError`` for schema 1, unknown media types and malformed documents.
    public init(raw: [UInt8], descriptorMediaType: String?, what: String) throws {
        let wire = try ManifestWire.decode(raw, what: what)
        let mediaType = try ManifestKind.resolveMediaType(wire: wire, descriptorMediaType: descriptorMediaType, what: what)
        if MediaType.indexes.contains(mediaType) {
            self = .index(try ImageIndex(wire: wire, raw: raw, descriptorMediaType: mediaType, what: what))
        } else {
            self = .image(try ImageManifest(wire: wire, raw: raw, descriptorMediaType: mediaType, what: what))
        }
    }

    /// The media type of a document: its own `mediaType` field, else what its descriptor said,
    /// else inferred from its shape (OCI makes the field optional).
    static func resolveMediaType(wire: ManifestWire, descriptorMediaType: String?, what: String) throws -> String {
        if wire.schemaVersion == 1 { throw OCIError.schema1(what: what) }
        if let hint = descriptorMediaType, MediaType.schema1.contains(hint) { throw OCIError.schema1(what: what) }
        guard wire.schemaVersion == 2 else {
            throw OCIError.malformed(what: what, reason: "schemaVersion must be 2")
        }
        let mediaType: String
        if let own = wire.mediaType {
            if let hint = descriptorMediaType, hint != own, MediaType.manifests.union(MediaType.indexes).contains(hint) {
                throw OCIError.malformed(what: what, reason: "its mediaType '\(own)' differs from its descriptor's '\(hint)'")
            }
            mediaType = own
        } else if let hint = descriptorMediaType {
            mediaType = hint
        } else {
            mediaType = wire.manifests != nil ? MediaType.ociIndex : MediaType.ociManifest
        }
        guard MediaType.manifests.contains(mediaType) || MediaType.indexes.contains(mediaType) else {
            throw OCIError.unsupportedMediaType(what: what, mediaType: mediaType)
        }
        return mediaType
    }
}
