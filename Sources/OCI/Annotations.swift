/// Annotation keys from the OCI image spec that kiln reads or writes.
public enum AnnotationKey {
    /// The tag of a manifest in an OCI layout's `index.json`.
    public static let refName = "org.opencontainers.image.ref.name"
    /// The digest of the image a derived image was built on.
    public static let baseDigest = "org.opencontainers.image.base.digest"
    /// The name of the image a derived image was built on.
    public static let baseName = "org.opencontainers.image.base.name"
    /// BuildKit marks attestation manifests inside an index with this key.
    public static let dockerReferenceType = "vnd.docker.reference.type"
}
