/// What one base layer does to the skeleton, read from its tar headers: the directories and
/// symlinks it writes, the paths it turns into something else, its whiteouts and opaque
/// directories, and the text of `/etc/passwd` and `/etc/group` when it writes them.
///
/// It depends on the layer alone, so it is cached per machine by the layer's digest; the
/// skeleton is these applied in layer order (``BaseTree/applying(_:)``).
public struct LayerChanges: Sendable, Equatable {
    public enum Change: Sendable, Equatable {
        case directory(mode: UInt32, owner: Owner)
        case symlink(target: String)
        /// A regular file, hard link or device: replaces whatever was there.
        case other
        /// `.wh.NAME`: NAME of a lower layer is deleted (the path is NAME's).
        case whiteout
        /// `.wh..wh..opq`: the lower layers' contents of this directory are hidden.
        case opaque
    }

    /// In the order of the archive, paths without a leading slash.
    public var changes: [(path: ImagePath, change: Change)]
    /// The text of the files the user database comes from, when this layer writes them.
    public var passwd: [UInt8]?
    public var group: [UInt8]?

    public init(changes: [(path: ImagePath, change: Change)] = [], passwd: [UInt8]? = nil, group: [UInt8]? = nil) {
        self.changes = changes
        self.passwd = passwd
        self.group = group
    }

    public static func == (lhs: LayerChanges, rhs: LayerChanges) -> Bool {
        lhs.passwd == rhs.passwd && lhs.group == rhs.group && lhs.changes.count == rhs.changes.count
            && zip(lhs.changes, rhs.changes).allSatisfy { $0.path == $1.path && $0.change == $1.change }
    }

    /// The files whose text is kept: what `--owner NAME:GROUP` resolves against.
    static let passwdPath = try! ImagePath(absolute: "/etc/passwd")
    static let groupPath = try! ImagePath(absolute: "/etc/group")
}

extension BaseTree {
    /// The skeleton after `layer` is applied on top of this one, as the OCI image spec's
    /// changeset rules say: whiteouts and opaque markers hide only what lower layers hold, then
    /// the layer's own entries are added (a directory over a directory updates its attributes;
    /// anything else replaces what was there, and everything below it).
    ///
    /// Only directories have nodes below them, so replacing anything else removes nothing more.
    public func applying(_ layer: LayerChanges) -> BaseTree {
        var nodes = self.nodes
        var users = self.users
        var groups = self.groups
        func dropsUserDatabase(_ path: ImagePath) {
            if LayerChanges.passwdPath.isWithin(path) { users = [:] }
            if LayerChanges.groupPath.isWithin(path) { groups = [:] }
        }
        // Removals first: they apply to the lower layers only. One pass over the nodes, each
        // checked against its own ancestors (not every marker against every node).
        var deleted: Set<[UInt8]> = []
        var emptied: Set<[UInt8]> = []
        for (path, change) in layer.changes {
            switch change {
            case .whiteout:
                deleted.insert(path.key)
                dropsUserDatabase(path)
            case .opaque:
                emptied.insert(path.key)
                if LayerChanges.passwdPath.parent.isWithin(path) { users = [:]; groups = [:] }
            default:
                continue
            }
        }
        if !deleted.isEmpty || !emptied.isEmpty {
            nodes = nodes.filter { !deleted.contains($0.key) && !Self.hasAncestor(of: $0.key, in: deleted.union(emptied)) }
        }
        // Directories this layer replaces with something else: what the lower layers held below
        // them goes, in one pass at the end (not one pass over every node per replacement, which
        // a hostile layer could make quadratic).
        var replaced: Set<[UInt8]> = []
        var added: Set<[UInt8]> = []
        for (path, change) in layer.changes where !path.isRoot {
            // An entry below a path that is not a directory (yet): an overlay file system shows
            // a directory there, as podman's storage does, created as a runtime would create it.
            for ancestor in path.ancestors {
                if case .directory? = nodes[ancestor.key] { continue }
                nodes[ancestor.key] = .directory(mode: 0o755, owner: .root)
                added.insert(ancestor.key)
                dropsUserDatabase(ancestor)
            }
            let wasDirectory: Bool
            if case .directory? = nodes[path.key] { wasDirectory = true } else { wasDirectory = false }
            switch change {
            case .directory(let mode, let owner):
                nodes[path.key] = .directory(mode: mode, owner: owner)
                added.insert(path.key)
            case .symlink(let target):
                if wasDirectory { replaced.insert(path.key) }
                nodes[path.key] = .symlink(target: target)
                added.insert(path.key)
                dropsUserDatabase(path)
            case .other:
                if wasDirectory { replaced.insert(path.key) }
                nodes[path.key] = nil
                // The layer's own text of the file, if it has one, is taken below.
                dropsUserDatabase(path)
            case .whiteout, .opaque:
                continue
            }
        }
        if !replaced.isEmpty {
            nodes = nodes.filter { added.contains($0.key) || !Self.hasAncestor(of: $0.key, in: replaced) }
        }
        if let text = layer.passwd { users = UserDatabase.users(in: text) }
        if let text = layer.group { groups = UserDatabase.groups(in: text) }
        return BaseTree(nodes: nodes, users: users, groups: groups)
    }

    /// Whether a proper ancestor of `key` (the root included) is in `set`.
    private static func hasAncestor(of key: [UInt8], in set: Set<[UInt8]>) -> Bool {
        if set.contains([]) { return true }
        for (index, byte) in key.enumerated() where byte == UInt8(ascii: "/") && set.contains(Array(key[..<index])) {
            return true
        }
        return false
    }
}
