/// The base image's skeleton: every directory and symlink of its merged file system (after the
/// whiteouts and opaque directories of every layer), with the users and groups of its
/// `/etc/passwd` and `/etc/group`.
///
/// It is what a bake needs to place files the way Docker's `COPY` (BuildKit) does: a directory
/// the base has keeps its owner, group and mode; a destination that goes through a symlink of
/// the base is written where the link leads, clamped to the image root; a file sent to an
/// existing directory goes inside it. Regular files are not recorded: a layer replaces them.
/// `kiln lock` records one per platform manifest, so `kiln plan` needs no network.
///
/// Kept as a tree of names (each node holds its own name, not its whole path), so applying a
/// layer costs the length of its entries' names: a path 2,000 levels deep adds 2,000 nodes, not
/// 2,000 copies of ever longer paths.
public struct BaseTree: Sendable {
    /// What is at a path of the base.
    public enum Node: Sendable, Equatable {
        case directory(mode: UInt32, owner: Owner)
        case symlink(target: String)
    }

    /// One node of the tree; only directories have children.
    struct Slot: Sendable {
        var node: Node
        /// By the name's exact UTF-8 bytes (no Unicode normalization): the slot of each child.
        var children: [[UInt8]: Int] = [:]
    }

    /// Slot 0 is the root. A removed subtree stays here unreachable (what a layer removes was
    /// added by an earlier one, so the array stays linear in the layers' headers).
    private(set) var slots: [Slot] = [Slot(node: .directory(mode: 0o755, owner: .root))]
    /// `/etc/passwd`: user name -> (uid, primary gid).
    public internal(set) var users: [String: Owner]
    /// `/etc/group`: group name -> gid.
    public internal(set) var groups: [String: Int]

    /// The longest path the kernel opens: PATH_MAX (4096) with its terminating NUL.
    public static let maxPathLength = 4095
    /// The longest name of one path component (NAME_MAX).
    public static let maxNameLength = 255
    /// The most bytes all the skeleton's paths together may take (what `kiln lock` writes to
    /// `kiln.lock.d`): far above real bases (a large one has about 100,000 directories of 100
    /// bytes), far below what thousands of nested 4 KiB paths would make.
    public static let maxPathBytes = 64 << 20

    /// A base with nothing in it (a `FROM scratch` image).
    public init() {
        users = [:]
        groups = [:]
    }

    static let rootIndex = 0

    /// The slot at exactly `components` (links in it are not followed), if any.
    func slot(_ components: [String]) -> Int? {
        var current = Self.rootIndex
        for part in components {
            guard let child = slots[current].children[Array(part.utf8)] else { return nil }
            current = child
        }
        return current
    }

    /// The node at exactly `path` (links in it are not followed).
    public func node(at path: ImagePath) -> Node? {
        slot(path.components).map { slots[$0].node }
    }

    /// Whether `path`, taken literally, is a directory of the base.
    public func isDirectory(_ path: ImagePath) -> Bool {
        if case .directory? = node(at: path) { return true }
        return false
    }

    /// Adds a slot holding `node` as child `name` of `parent`, replacing whatever was there
    /// (and everything below it).
    @discardableResult
    mutating func put(_ node: Node, named name: [UInt8], in parent: Int) -> Int {
        slots.append(Slot(node: node))
        slots[parent].children[name] = slots.count - 1
        return slots.count - 1
    }

    mutating func setNode(_ node: Node, at slot: Int) { slots[slot].node = node }
    mutating func removeChild(_ name: [UInt8], of parent: Int) { slots[parent].children[name] = nil }
    mutating func removeChildren(of slot: Int) { slots[slot].children = [:] }

    /// Every reachable node below the root, depth first, each with its path's bytes (no
    /// leading slash) built from its parent's: the work is the size of the result.
    private func walk(_ body: (_ key: [UInt8], _ node: Node) -> Void) {
        var pending: [(slot: Int, key: [UInt8])] = [(Self.rootIndex, [])]
        while let (slot, key) = pending.popLast() {
            for (name, child) in slots[slot].children {
                let childKey = key.isEmpty ? name : key + [UInt8(ascii: "/")] + name
                body(childKey, slots[child].node)
                pending.append((child, childKey))
            }
        }
    }

    /// The bytes of all the skeleton's paths together (without leading slashes), computed from
    /// lengths alone: what ``maxPathBytes`` bounds.
    public var pathBytes: Int {
        var total = 0
        var pending: [(slot: Int, length: Int)] = [(Self.rootIndex, 0)]
        while let (slot, length) = pending.popLast() {
            for (name, child) in slots[slot].children {
                let childLength = length == 0 ? name.count : length + 1 + name.count
                total += childLength
                pending.append((child, childLength))
            }
        }
        return total
    }

    /// Every entry, sorted by path bytes: the skeleton's stable order.
    public var entries: [(path: ImagePath, node: Node)] {
        var all: [(key: [UInt8], node: Node)] = []
        walk { all.append(($0, $1)) }
        return all.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { (ImagePath(key: $0.key), $0.node) }
    }

    /// Resolves `path` through the base's symlinks the way BuildKit's `COPY` resolves its
    /// destination (``RootedPath``: every component that is a symlink is replaced by its target,
    /// relative targets from the link's directory, absolute ones from the image root, and `..`
    /// stops at the root instead of leaving it).
    ///
    /// - Parameter followingLast: whether a symlink in the last component is followed too
    ///   (`COPY`'s destination: yes; a name inside a copied tree or a removal: no).
    /// - Throws: ``LayerError/conflict(_:)`` when the links loop (more than
    ///   ``RootedPath/maxLinksFollowed``), or lead to a path longer than the kernel opens.
    public func resolve(_ path: ImagePath, followingLast: Bool) throws -> ImagePath {
        do {
            return ImagePath(components: try RootedPath.resolve(components: path.components, in: Resolution(tree: self, path: path), followingLast: followingLast))
        } catch RootedPath.Failure.tooManyLinks {
            throw LayerError.conflict("'\(path)' goes through a loop of symlinks in the base (more than \(RootedPath.maxLinksFollowed))")
        } catch RootedPath.Failure.emptyLinkTarget(let at) {
            throw LayerError.conflict("'\(path)' goes through the symlink '/\(at.joined(separator: "/"))' of the base, which has no target")
        }
    }

    /// The base's skeleton as ``RootedPath`` walks it: each step looks up one name below the
    /// previous one (never a whole path again) and keeps the resolved path's length, which links
    /// may not make longer than the kernel would open (long targets followed again and again
    /// could otherwise make it megabytes deep).
    private struct Resolution: LinkedTree {
        let tree: BaseTree
        /// The path asked for, for the error.
        let path: ImagePath

        /// The slot of the resolved name, `nil` where the base has nothing; the resolved
        /// path's length with its slashes.
        typealias Place = (slot: Int?, length: Int)

        var rootPlace: Place { (BaseTree.rootIndex, 0) }

        func step(into name: String, of parent: Place, path _: [String], isLast _: Bool) throws -> (place: Place, linkTarget: String?) {
            let slot = parent.slot.flatMap { tree.slots[$0].children[Array(name.utf8)] }
            let length = parent.length + 1 + name.utf8.count
            guard length <= BaseTree.maxPathLength, name.utf8.count <= BaseTree.maxNameLength else {
                throw LayerError.conflict("'\(path.description.prefix(64))' resolves through the base's symlinks to a path longer than the kernel opens (PATH_MAX, \(BaseTree.maxPathLength) bytes, or a name over NAME_MAX, \(BaseTree.maxNameLength))")
            }
            guard let slot, case .symlink(let target) = tree.slots[slot].node else { return ((slot, length), nil) }
            return ((slot, length), target)
        }
    }
}

extension BaseTree: Equatable {
    /// The same directories and links with the same attributes, users and groups (however the
    /// trees were built).
    public static func == (lhs: BaseTree, rhs: BaseTree) -> Bool {
        guard lhs.users == rhs.users, lhs.groups == rhs.groups else { return false }
        var pending = [(BaseTree.rootIndex, BaseTree.rootIndex)]
        while let (left, right) = pending.popLast() {
            let l = lhs.slots[left], r = rhs.slots[right]
            guard l.node == r.node, l.children.count == r.children.count else { return false }
            for (name, child) in l.children {
                guard let other = r.children[name] else { return false }
                pending.append((child, other))
            }
        }
        return true
    }
}

extension ImagePath {
    /// The inverse of ``key``.
    init(key: [UInt8]) {
        self.init(components: key.isEmpty ? [] : key.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) })
    }
}
