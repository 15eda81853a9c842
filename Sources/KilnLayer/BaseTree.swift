/// The base image's skeleton: every directory and symlink of its merged file system (after the
/// whiteouts and opaque directories of every layer), with the users and groups of its
/// `/etc/passwd` and `/etc/group`.
///
/// It is what a bake needs to place files the way Docker's `COPY` (BuildKit) does: a directory
/// the base has keeps its owner, group and mode; a destination that goes through a symlink of
/// the base is written where the link leads, clamped to the image root; a file sent to an
/// existing directory goes inside it. Regular files are not recorded: a layer replaces them.
/// `kiln lock` records one per platform manifest, so `kiln plan` needs no network.
public struct BaseTree: Sendable, Equatable {
    /// What is at a path of the base.
    public enum Node: Sendable, Equatable {
        case directory(mode: UInt32, owner: Owner)
        case symlink(target: String)
    }

    /// By the path's exact UTF-8 bytes (no Unicode normalization), without a leading slash.
    private(set) var nodes: [[UInt8]: Node]
    /// `/etc/passwd`: user name -> (uid, primary gid).
    public private(set) var users: [String: Owner]
    /// `/etc/group`: group name -> gid.
    public private(set) var groups: [String: Int]

    /// A base with nothing in it (a `FROM scratch` image).
    public init() {
        nodes = [:]
        users = [:]
        groups = [:]
    }

    init(nodes: [[UInt8]: Node], users: [String: Owner], groups: [String: Int]) {
        self.nodes = nodes
        self.users = users
        self.groups = groups
    }

    /// The node at exactly `path` (links in it are not followed).
    public func node(at path: ImagePath) -> Node? {
        path.isRoot ? .directory(mode: 0o755, owner: .root) : nodes[path.key]
    }

    /// Whether `path`, taken literally, is a directory of the base.
    public func isDirectory(_ path: ImagePath) -> Bool {
        if case .directory? = node(at: path) { return true }
        return false
    }

    /// Every entry, sorted by path bytes: the skeleton's stable order.
    public var entries: [(path: ImagePath, node: Node)] {
        nodes.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { (ImagePath(key: $0.key), $0.value) }
    }

    /// At most this many links are followed resolving one path, as the `RootPath` of BuildKit's
    /// copy (continuity's) allows; a longer chain is a loop.
    static let maxLinksFollowed = 255

    /// Resolves `path` through the base's symlinks the way BuildKit's `COPY` resolves its
    /// destination: every component that is a symlink is replaced by its target, relative
    /// targets from the link's directory, absolute ones from the image root, and `..` stops at
    /// the root instead of leaving it.
    ///
    /// - Parameter followingLast: whether a symlink in the last component is followed too
    ///   (`COPY`'s destination: yes; a name inside a copied tree or a removal: no).
    /// - Throws: ``LayerError/conflict(_:)`` when the links loop.
    public func resolve(_ path: ImagePath, followingLast: Bool) throws -> ImagePath {
        var resolved: [String] = []
        var pending = Array(path.components.reversed())
        var followed = 0
        while let part = pending.popLast() {
            if part == "." || part.isEmpty { continue }
            if part == ".." {
                if !resolved.isEmpty { resolved.removeLast() }
                continue
            }
            resolved.append(part)
            let isLast = pending.isEmpty
            guard !isLast || followingLast else { break }
            guard case .symlink(let target)? = nodes[ImagePath(components: resolved).key] else { continue }
            followed += 1
            guard followed <= Self.maxLinksFollowed else {
                throw LayerError.conflict("'\(path)' goes through a loop of symlinks in the base")
            }
            resolved.removeLast()
            if target.hasPrefix("/") { resolved = [] }
            pending.append(contentsOf: target.split(separator: "/", omittingEmptySubsequences: true).map(String.init).reversed())
        }
        return ImagePath(components: resolved)
    }
}

extension ImagePath {
    /// The inverse of ``key``.
    init(key: [UInt8]) {
        self.init(components: key.isEmpty ? [] : key.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) })
    }
}
