/// Any OCI image manifest seen as a carrier of blobs, without requiring it to be a runnable
/// image: what a signature, SBOM or attestation attached to an image is (cosign's and notation's
/// config types, the empty config `application/vnd.oci.empty.v1+json`, an `artifactType`).
/// Copying one moves its bytes and the blobs it names as they are; nothing else is interpreted.
/// ``ImageManifest`` stays strict: this type is for referrers only.
public struct ArtifactManifest: Sendable {
    /// The bytes as read.
    public let raw: [UInt8]
    public let json: JSONValue
    /// Always the OCI image manifest type: referrers are OCI manifests.
    public let mediaType: String
    /// The manifest's `artifactType`, else its config's media type: what the referrers list
    /// calls its artifact type.
    public let artifactType: String?
    public let config: Descriptor
    public let layers: [Descriptor]
    /// The manifest this one refers to.
    public let subject: Descriptor?

    /// Every blob the manifest names, config first.
    public var blobs: [Descriptor] { [config] + layers }

    public init(raw: [UInt8], descriptorMediaType: String? = nil, what: String) throws {
        let wire = try ManifestWire.decode(raw, what: what)
        guard wire.schemaVersion == 2 else { throw OCIError.malformed(what: what, reason: "schemaVersion must be 2") }
        let mediaType = wire.mediaType ?? descriptorMediaType ?? MediaType.ociManifest
        guard mediaType == MediaType.ociManifest else {
            throw OCIError.unsupportedMediaType(what: what, mediaType: mediaType)
        }
        guard let config = wire.config else { throw OCIError.malformed(what: what, reason: "missing field 'config'") }
        var subject: Descriptor?
        if let value = wire.json["subject"], value != .null {
            subject = try ManifestWire.decode(JSONValue.object([("config", value)]).serialized(), what: what).config
        }
        var artifactType = config.mediaType
        if let value = wire.json["artifactType"], value != .null {
            guard let text = value.stringValue else { throw OCIError.malformed(what: what, reason: "artifactType: wrong type or missing value") }
            artifactType = text
        }
        self.raw = raw
        self.json = wire.json
        self.mediaType = mediaType
        self.artifactType = artifactType
        self.config = config
        self.layers = wire.layers ?? []
        self.subject = subject
    }

    /// The descriptor of this manifest as a referrers list gives it: media type, digest, size,
    /// artifact type and the manifest's annotations.
    public var referrerDescriptor: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("mediaType", .string(mediaType)),
            ("digest", .string(Digest.of(raw).description)),
            ("size", .integer(raw.count)),
        ]
        if let artifactType { members.append(("artifactType", .string(artifactType))) }
        if let annotations = json["annotations"], annotations.isObject { members.append(("annotations", annotations)) }
        return .object(members)
    }
}

/// The list of an image's referrers: an OCI index whose `manifests` are the referrers'
/// descriptors, as the referrers API answers it and the tag schema stores it.
public struct ReferrersIndex: Sendable {
    public var json: JSONValue
    public var manifests: [Descriptor]

    /// An empty list.
    public init() {
        json = .object([("schemaVersion", .integer(2)), ("mediaType", .string(MediaType.ociIndex)), ("manifests", .array([]))])
        manifests = []
    }

    public init(raw: [UInt8], what: String) throws {
        let wire = try ManifestWire.decode(raw, what: what)
        guard wire.schemaVersion == 2, (wire.mediaType ?? MediaType.ociIndex) == MediaType.ociIndex else {
            throw OCIError.malformed(what: what, reason: "not an OCI image index")
        }
        json = wire.json
        manifests = wire.manifests ?? []
    }

    /// Whether the list names `digest`.
    public func contains(_ digest: Digest) -> Bool { manifests.contains { $0.digest == digest } }

    /// The list with `descriptor` appended at the end, everything else kept in its order.
    /// - Returns: `nil` when the list already names that digest (nothing to write).
    public func adding(_ descriptor: JSONValue, digest: Digest) throws -> ReferrersIndex? {
        guard !contains(digest) else { return nil }
        var json = self.json
        json["manifests"] = .array((json["manifests"]?.arrayValue ?? []) + [descriptor])
        return try ReferrersIndex(raw: json.serialized(), what: "referrers index")
    }

    public var bytes: [UInt8] { json.serialized() }
}
