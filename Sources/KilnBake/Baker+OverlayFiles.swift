import KilnLayer
import KilnRecipe
import OCI

/// One file the new layer carries: where it came from, where it goes and its SHA-256 (what
/// provenance records about the overlays).
public struct OverlayFile: Sendable, Equatable {
    /// The file on the build machine (its real path).
    public var source: String
    /// Its path below its overlay directory (the file's name for a single-file overlay).
    public var withinOverlay: String
    /// Its path in the image.
    public var destination: String
    public var sha256: Digest
}

extension OverlayFile {
    /// The regular files of the layers' entry lists (of every platform's layer, each file once,
    /// in the layer's order), each with its SHA-256 as the layer reads it.
    /// - Parameter known: SHA-256s already read (the secret scan's), not read again.
    static func list(_ distinct: [[LayerEntry]], known: [FileSource: [UInt8]] = [:]) throws -> [OverlayFile] {
        var files: [OverlayFile] = []
        for entries in distinct {
            for entry in entries {
                guard case .file(let source, let size) = entry.kind else { continue }
                let file = OverlayFile(source: source.description, withinOverlay: source.components.joined(separator: "/"), destination: entry.path.description,
                                       sha256: try known[source].map { Digest(sha256: $0) } ?? LayerBuilder.fileDigest(source, size: size))
                if !files.contains(file) { files.append(file) }
            }
        }
        return files
    }
}
