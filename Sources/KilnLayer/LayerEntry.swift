/// One entry of the layer's tar archive, with every header field decided.
public struct LayerEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case directory
        /// A regular file whose bytes come from `source` on disk.
        case file(source: String, size: Int64)
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
