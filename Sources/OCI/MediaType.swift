/// The media types kiln reads and writes, in both flavours it supports.
///
/// An image keeps its flavour: a Docker-typed base gets Docker-typed output, an OCI base OCI output.
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayerTar = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let ociLayerNondistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"

    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerLayerForeignGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    public static let dockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json"
    public static let dockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"

    /// Media types of single-image manifests.
    public static let manifests: Set<String> = [ociManifest, dockerManifest]
    /// Media types of multi-platform indexes.
    public static let indexes: Set<String> = [ociIndex, dockerManifestList]
    /// Media types of image configs.
    public static let configs: Set<String> = [ociConfig, dockerConfig]
    /// Media types of layers kiln can carry over from a base.
    public static let layers: Set<String> = [
        ociLayerTar, ociLayerGzip, ociLayerZstd, ociLayerNondistributableGzip,
        dockerLayerGzip, dockerLayerForeignGzip,
    ]
    /// Schema 1 media types, refused with a dedicated message.
    public static let schema1: Set<String> = [dockerSchema1, dockerSchema1Signed]
}

/// Which family of media types an image uses.
public enum Flavour: String, Sendable, Equatable {
    case oci
    case docker

    /// The flavour of a manifest or index media type, if it is one kiln knows.
    public init?(manifestMediaType: String) {
        switch manifestMediaType {
        case MediaType.ociManifest, MediaType.ociIndex: self = .oci
        case MediaType.dockerManifest, MediaType.dockerManifestList: self = .docker
        default: return nil
        }
    }

    /// The media type of a new layer in this flavour.
    /// - Returns: `nil` when the flavour has no type for that compression (Docker has no zstd).
    public func layerMediaType(for compression: Compression) -> String? {
        switch (self, compression) {
        case (.oci, .gzip): return MediaType.ociLayerGzip
        case (.oci, .zstd): return MediaType.ociLayerZstd
        case (.docker, .gzip): return MediaType.dockerLayerGzip
        case (.docker, .zstd): return nil
        }
    }

    /// The index media type of this flavour.
    public var indexMediaType: String { self == .oci ? MediaType.ociIndex : MediaType.dockerManifestList }
}

/// How a new layer is compressed.
public enum Compression: String, Sendable, CaseIterable {
    case gzip
    case zstd
}
