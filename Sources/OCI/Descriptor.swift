/// A content descriptor: what a manifest or index says about one blob it points at.
///
/// Field names follow the OCI image spec so the spec can be read beside the code.
public struct Descriptor: Hashable, Sendable, Codable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var platform: Platform?
    public var annotations: [String: String]?

    public init(mediaType: String, digest: Digest, size: Int64, platform: Platform? = nil, annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.annotations = annotations
    }

    /// The descriptor of `bytes` with the given media type.
    public static func of(_ bytes: [UInt8], mediaType: String) -> Descriptor {
        Descriptor(mediaType: mediaType, digest: .of(bytes), size: Int64(bytes.count))
    }
}
