/// A normalized absolute path inside an image, such as `/etc/kong/kong.conf`.
///
/// Construction refuses anything that could name a place outside the image root: `..`
/// components, empty names, NUL bytes. `.` components and repeated slashes are folded.
public struct ImagePath: Hashable, Sendable, CustomStringConvertible {
    /// The components, root first; empty for `/`.
    public let components: [String]

    /// Parses an absolute path.
    /// - Throws: ``LayerError`` when the path is relative or contains `..` or NUL.
    public init(absolute text: String) throws {
        guard text.hasPrefix("/") else { throw LayerError.destinationNotAbsolute(text) }
        guard !text.utf8.contains(0) else { throw LayerError.invalidImagePath(text, reason: "contains a NUL byte") }
        var parts: [String] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { throw LayerError.invalidImagePath(text, reason: "'..' is not allowed") }
            parts.append(String(part))
        }
        self.components = parts
    }

    init(components: [String]) { self.components = components }

    /// The root, `/`.
    public static let root = ImagePath(components: [])

    public var isRoot: Bool { components.isEmpty }

    /// The path one level up; the root's parent is the root.
    public var parent: ImagePath { ImagePath(components: Array(components.dropLast())) }

    /// The last component, or empty for the root.
    public var name: String { components.last ?? "" }

    /// This path extended by one component.
    public func appending(_ component: String) -> ImagePath { ImagePath(components: components + [component]) }

    /// Every proper ancestor except the root, outermost first: `/a/b/c` gives `/a`, `/a/b`.
    public var ancestors: [ImagePath] {
        guard components.count > 1 else { return [] }
        return (1..<components.count).map { ImagePath(components: Array(components.prefix($0))) }
    }

    /// Whether `self` is `other` or lies below it.
    public func isWithin(_ other: ImagePath) -> Bool {
        components.count >= other.components.count && Array(components.prefix(other.components.count)) == other.components
    }

    /// Resolves a symlink target written at `self` the way the kernel would inside the image.
    /// - Returns: the normalized target, or `nil` when `..` climbs above the root.
    public func resolveLinkTarget(_ target: String) -> ImagePath? {
        var parts = target.hasPrefix("/") ? [] : parent.components
        for part in target.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if parts.isEmpty { return nil }
                parts.removeLast()
                continue
            }
            parts.append(String(part))
        }
        return ImagePath(components: parts)
    }

    /// Whether the kernel could open this path: at most ``BaseTree/maxPathLength`` bytes as
    /// an absolute path (PATH_MAX with its NUL), each name at most ``BaseTree/maxNameLength``
    /// (NAME_MAX). Depth follows: 2,048 levels at most.
    static func withinKernelLimits(_ path: ImagePath) -> Bool {
        var length = 0
        for part in path.components {
            let count = part.utf8.count
            guard count <= BaseTree.maxNameLength else { return false }
            length += 1 + count
            guard length <= BaseTree.maxPathLength else { return false }
        }
        return true
    }

    /// Whether `target` could be a symlink's target: 1 to PATH_MAX - 1 bytes, no NUL.
    static func isUsableLinkTarget(_ target: String) -> Bool {
        !target.isEmpty && target.utf8.count <= BaseTree.maxPathLength && !target.utf8.contains(0)
    }

    public var description: String { "/" + components.joined(separator: "/") }

    /// The name inside a tar archive: no leading slash.
    public var archiveName: String { components.joined(separator: "/") }

    /// Bytewise UTF-8 key: sorting and identity never depend on Unicode normalization.
    var key: [UInt8] { Array(archiveName.utf8) }
}
