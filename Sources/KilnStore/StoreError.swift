import KilnLayer
import OCI

/// Errors reading or writing images. Each names the culprit in one line.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case invalidReference(String, reason: String)
    case notALayout(String, reason: String)
    case tagNotFound(layout: String, tag: String, available: [String])
    case ambiguousLayout(String, available: [String])
    case blobMissing(location: String, digest: Digest)
    case digestMismatch(location: String, expected: Digest, actual: Digest)
    case sizeMismatch(location: String, digest: Digest, expected: Int64, actual: Int64)
    case tooLarge(location: String, digest: Digest, limit: Int)
    case io(path: String, reason: String)
    case notOneImage(location: String)
    case archiveIsOutputOnly(String)
    case noImageForPlatform(what: String, requested: String, available: [String])
    /// An image archive `kiln docker load` cannot take; the reason quotes its names bounded.
    case invalidArchive(String, reason: String)

    public var description: String {
        switch self {
        case .invalidReference(let text, let reason):
            return "invalid image reference '\(text)': \(reason)"
        case .notALayout(let dir, let reason):
            return "'\(dir)' is not a usable OCI image layout: \(reason)"
        case .tagNotFound(let layout, let tag, let available):
            let list = available.isEmpty ? "it has no tagged images" : "tags: \(available.joined(separator: ", "))"
            return "OCI layout '\(layout)' has no image tagged '\(tag)' (\(list))"
        case .ambiguousLayout(let layout, let available):
            return "OCI layout '\(layout)' holds \(available.count) images; name one with oci:\(layout):TAG (tags: \(available.joined(separator: ", ")))"
        case .blobMissing(let location, let digest):
            return "blob \(digest) is missing from \(location)"
        case .digestMismatch(let location, let expected, let actual):
            return "blob \(expected) in \(location) does not match its digest (content hashes to \(actual))"
        case .sizeMismatch(let location, let digest, let expected, let actual):
            return "blob \(digest) in \(location) has \(actual) bytes, its descriptor says \(expected)"
        case .tooLarge(let location, let digest, let limit):
            return "blob \(digest) in \(location) is larger than the \(limit / (1024 * 1024)) MiB allowed for manifests and configs"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .notOneImage(let location):
            return "\(location) holds one image, not an index; choose one platform with --platform"
        case .noImageForPlatform(let what, let requested, let available):
            // The index names them: a few, bounded and escaped.
            let shown = available.prefix(10).map(TarFileReader.excerpt).joined(separator: ", ") + (available.count > 10 ? ", … (\(available.count))" : "")
            return "\(what): no image for platform \(requested) (there are: \(available.isEmpty ? "none" : shown))"
        case .archiveIsOutputOnly(let reference):
            return "\(reference): kiln writes image archives but does not read them; read the image from an OCI layout (oci:DIR) or a registry"
        case .invalidArchive(let archive, let reason):
            return "\(archive): \(reason)"
        }
    }
}
