/// One entry of the layer's tar archive, with every header field decided.
public struct LayerEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case directory
        /// A regular file whose bytes come from `source` on disk.
        case file(source: FileSource, size: Int64)
        case symlink(target: String)
        /// An OCI whiteout: an empty file named `.wh.NAME` that deletes NAME from lower layers.
        case whiteout
    }

    public var path: ImagePath
    public var kind: Kind
    public var mode: UInt32
    public var owner: Owner

    public init(path: ImagePath, kind: Kind, mode: UInt32, owner: Owner) {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.owner = owner
    }

    var isDirectory: Bool { kind == .directory }
}

/// Where a file's bytes are on disk: a directory that was resolved once (its real path) and the
/// names below it, which are opened one by one without following links, so a name swapped for a
/// symlink after the scan cannot redirect the read outside the overlay.
public struct FileSource: Sendable, Hashable, CustomStringConvertible {
    /// The real path of the overlay directory (or of the directory holding a single file).
    public var root: String
    /// The names from `root` down to the file; never empty.
    public var components: [String]

    public init(root: String, components: [String]) {
        self.root = root
        self.components = components
    }

    /// A file given by its path: resolved to its real path, split into directory and name.
    init(resolving path: String) {
        let real = FileFacts.realPath(path) ?? path
        let slash = real.lastIndex(of: "/") ?? real.startIndex
        let directory = String(real[..<slash])
        self.init(root: directory.isEmpty ? "/" : directory, components: [String(real[real.index(after: slash)...])])
    }

    public var description: String { (root.hasSuffix("/") ? root : root + "/") + components.joined(separator: "/") }
}
