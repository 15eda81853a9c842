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

extension Baker {
    /// Every regular file the bake's layer carries, in the layer's order (of every platform's
    /// layer, each file once), with its SHA-256 read as the layer reads it.
    public func overlayFiles(_ request: BakeRequest, base snapshot: BaseSnapshot) async throws -> [OverlayFile] {
        guard request.addsLayer else { return [] }
        let base = try await BaseImage.load(from: snapshot.source, reference: request.base.description, platforms: request.platforms, logger: logger)
        let trees = try await baseTrees(of: base, locked: snapshot.trees, from: nil, reference: request.base.description)
        return try OverlayFile.list(try LayerEntries(request, trees: trees).distinct)
    }
}

extension OverlayFile {
    /// The regular files of the layers' entry lists, each once, hashed.
    static func list(_ distinct: [[LayerEntry]]) throws -> [OverlayFile] {
        var files: [OverlayFile] = []
        for entries in distinct {
            for entry in entries {
                guard case .file(let source, let size) = entry.kind else { continue }
                let file = OverlayFile(source: source.description, withinOverlay: source.components.joined(separator: "/"), destination: entry.path.description,
                                       sha256: try LayerBuilder.fileDigest(source, size: size))
                if !files.contains(file) { files.append(file) }
            }
        }
        return files
    }
}
