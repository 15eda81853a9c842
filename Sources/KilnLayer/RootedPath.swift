/// A tree of names with symbolic links in it that ``RootedPath`` resolves paths in: the base
/// image's skeleton (``BaseTree``), the layer being built (``OverlayScanner``), a Docker build
/// context on disk, an image archive's entries. The tree says what one name is; the walk, the
/// `..` rule, the root rule and the link limit are ``RootedPath``'s, the same for all.
package protocol LinkedTree {
    /// What the walk keeps for each resolved name, so a lookup starts from its parent's: the
    /// base's slot and the path's length, or nothing (`Void`) where the path names it well enough.
    associatedtype Place
    /// The root's place.
    var rootPlace: Place { get }
    /// Looks up `name` in the directory at `parent`.
    /// - Parameters:
    ///   - path: the resolved path so far, `name` last (no links in it, no `.` or `..`).
    ///   - isLast: whether no name is left to resolve after this one.
    /// - Returns: the name's place and, when it is a symbolic link, its target (`nil` for
    ///   anything else, including nothing at all).
    /// - Throws: to end the walk (a name the tree refuses, a path leaving where it may go).
    func step(into name: String, of parent: Place, path: [String], isLast: Bool) throws -> (place: Place, linkTarget: String?)
}

/// Resolves a path inside a root the way the kernel resolves it inside a `chroot` (and
/// BuildKit's `COPY` inside its root, fsutil's and continuity's `RootPath`): name by name, each
/// symbolic link replaced by its target (a relative target read from the link's directory, an
/// absolute one from the root), `..` going up one name and stopping at the root instead of
/// leaving it. So nothing a path or a link says can name a place outside the root.
///
/// The one link-following walk of kiln: ``BaseTree/resolve(_:followingLast:)``, the overlay
/// scanner's containment check of overlay links, a Dockerfile's sources in the build context and
/// the names of an archive `kiln docker load` reads all go through it.
package enum RootedPath {
    /// The most links one resolution follows: Linux's `MAXSYMLINKS` (`ELOOP` beyond), so kiln
    /// refuses a chain exactly where a container's kernel would stop following it, and a loop
    /// ends after 40 targets. (Continuity's `RootPath`, which BuildKit's `COPY` uses, allows
    /// 255; a path the running container cannot open is no place to write to.)
    package static let maxLinksFollowed = 40

    /// Why a walk stopped on its own (a tree's lookup may throw its own errors).
    package enum Failure: Error, Equatable {
        /// More than ``maxLinksFollowed`` links (a loop, or a chain too long to follow).
        case tooManyLinks
        /// A link with an empty target: it leads nowhere (the kernel's `ENOENT`).
        case emptyLinkTarget(path: [String])
    }

    /// Resolves `path` from the root of `tree`.
    /// - Parameters:
    ///   - path: a path; a leading `/`, `.` and empty names change nothing.
    ///   - followingLast: whether a link in the last name is followed too (`lstat` vs `stat`).
    /// - Returns: the resolved path's names from the root; none for the root itself.
    package static func resolve<Tree: LinkedTree>(_ path: String, in tree: Tree, followingLast: Bool = true) throws -> [String] {
        try walk(pending: names(path), from: [], places: [tree.rootPlace], in: tree, followingLast: followingLast)
    }

    /// Resolves the names `components` from the root of `tree`.
    package static func resolve<Tree: LinkedTree>(components: [String], in tree: Tree, followingLast: Bool = true) throws -> [String] {
        try walk(pending: components.reversed().filter { !$0.isEmpty && $0 != "." }, from: [], places: [tree.rootPlace], in: tree, followingLast: followingLast)
    }

    /// Resolves the target of a link that lies in `directory` (a relative target is read from
    /// there, an absolute one from the root), following every link on the way, the last too.
    /// `directory` is taken as it is, not looked up again.
    package static func resolve<Tree: LinkedTree>(linkTarget target: String, in directory: [String], of tree: Tree) throws -> [String] where Tree.Place == Void {
        let start = target.hasPrefix("/") ? [] : directory
        return try walk(pending: names(target), from: start, places: Array(repeating: (), count: start.count + 1), in: tree, followingLast: true)
    }

    /// The names of `text` in reverse (the next one last), without empty names and `.`.
    private static func names(_ text: String) -> [String] {
        text.split(separator: "/", omittingEmptySubsequences: true).reversed().compactMap { $0 == "." ? nil : String($0) }
    }

    /// - Parameters:
    ///   - pending: the names still to resolve, the next one last.
    ///   - resolved: the resolved names so far; `places` has the root's place, then one per name.
    private static func walk<Tree: LinkedTree>(pending: [String], from resolved: [String], places: [Tree.Place], in tree: Tree, followingLast: Bool) throws -> [String] {
        var pending = pending
        var resolved = resolved
        var places = places
        var followed = 0
        while let name = pending.popLast() {
            if name == ".." {
                if !resolved.isEmpty {
                    resolved.removeLast()
                    places.removeLast()
                }
                continue
            }
            resolved.append(name)
            let isLast = pending.isEmpty
            let (place, target) = try tree.step(into: name, of: places[places.count - 1], path: resolved, isLast: isLast)
            guard let target, !isLast || followingLast else {
                places.append(place)
                continue
            }
            followed += 1
            guard followed <= maxLinksFollowed else { throw Failure.tooManyLinks }
            guard !target.isEmpty else { throw Failure.emptyLinkTarget(path: resolved) }
            resolved.removeLast()
            if target.hasPrefix("/") {
                resolved = []
                places.removeSubrange(1...)
            }
            pending += names(target)
        }
        return resolved
    }
}
