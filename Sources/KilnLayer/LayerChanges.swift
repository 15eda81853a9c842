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
    /// The skeleton after `layer` is applied on top of this one (see ``apply(_:)``).
    public func applying(_ layer: LayerChanges) -> BaseTree {
        var tree = self
        tree.apply(layer)
        return tree
    }

    /// Applies `layer` on top of this skeleton, as the OCI image spec's changeset rules say:
    /// whiteouts and opaque markers hide only what lower layers hold, then the layer's own
    /// entries are added in order (a directory over a directory updates its attributes;
    /// anything else replaces what was there, and everything below it).
    ///
    /// Each entry costs the length of its name: its path is walked name by name from the root,
    /// and a replaced or deleted subtree is dropped by unlinking its top.
    public mutating func apply(_ layer: LayerChanges) {
        // Removals first: they apply to the lower layers only.
        for (path, change) in layer.changes {
            switch change {
            case .whiteout:
                guard !path.isRoot else { continue }
                if let parent = slot(path.parent.components) { removeChild(Array(path.name.utf8), of: parent) }
                dropUserDatabase(path.components, count: path.components.count)
            case .opaque:
                if let directory = slot(path.components) { removeChildren(of: directory) }
                if LayerChanges.passwdPath.parent.isWithin(path) { users = [:]; groups = [:] }
            default:
                continue
            }
        }
        for (path, change) in layer.changes where !path.isRoot {
            // An entry below a path that is not a directory (yet): an overlay file system shows
            // a directory there, as podman's storage does, created as a runtime would create it.
            var parent = Self.rootIndex
            for (depth, part) in path.components.dropLast().enumerated() {
                let name = Array(part.utf8)
                if let child = slots[parent].children[name], case .directory = slots[child].node {
                    parent = child
                    continue
                }
                parent = put(.directory(mode: 0o755, owner: .root), named: name, in: parent)
                dropUserDatabase(path.components, count: depth + 1)
            }
            let name = Array(path.name.utf8)
            switch change {
            case .directory(let mode, let owner):
                if let existing = slots[parent].children[name], case .directory = slots[existing].node {
                    setNode(.directory(mode: mode, owner: owner), at: existing)
                } else {
                    put(.directory(mode: mode, owner: owner), named: name, in: parent)
                }
            case .symlink(let target):
                put(.symlink(target: target), named: name, in: parent)
                dropUserDatabase(path.components, count: path.components.count)
            case .other:
                removeChild(name, of: parent)
                // The layer's own text of the file, if it has one, is taken below.
                dropUserDatabase(path.components, count: path.components.count)
            case .whiteout, .opaque:
                continue
            }
        }
        if let text = layer.passwd { users = UserDatabase.users(in: text) }
        if let text = layer.group { groups = UserDatabase.groups(in: text) }
    }

    /// Forgets the users or groups when the path made of the first `count` of `components`
    /// replaces or deletes `/etc/passwd` or `/etc/group` (it is the file or one of its
    /// directories). Constant time: only the first two names can matter.
    private mutating func dropUserDatabase(_ components: [String], count: Int) {
        func holds(_ file: ImagePath) -> Bool {
            count <= file.components.count && components.prefix(count).elementsEqual(file.components.prefix(count))
        }
        if holds(LayerChanges.passwdPath) { users = [:] }
        if holds(LayerChanges.groupPath) { groups = [:] }
    }
}
