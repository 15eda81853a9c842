import Foundation
import OCI
import KilnLayer

/// The directory `docker build` sends, as COPY and ADD see it: `.dockerignore` leaves paths
/// out, sources are named relative to it (`..` cannot climb out: `/`-joined and cleaned, as
/// BuildKit does), and a source that is a symlink is followed inside the context only (an
/// absolute target starts at the context's root). Context files come from pull requests:
/// nothing outside the context is looked at or named to the scanner.
public struct BuildContext: Sendable {
    /// The context directory's real path (every link resolved).
    public let root: String
    public let ignore: DockerIgnore

    /// The largest `.dockerignore` read.
    static let maximumIgnoreFileSize = 1 << 20

    /// - Parameters:
    ///   - directory: the context directory.
    ///   - ignore: the patterns to use; when `nil`, the context's own `.dockerignore`, if any.
    /// - Throws: ``DockerfileError`` when the directory is missing or `.dockerignore` is bad.
    public init(directory: String, ignore: DockerIgnore? = nil) throws {
        guard let real = FileFacts.realPath(directory), case .directory? = (try? FileFacts.read(real))??.kind else {
            throw DockerfileError(file: directory, line: 0, message: "the build context is not a directory")
        }
        root = real
        if let ignore {
            self.ignore = ignore
        } else {
            let path = real == "/" ? "/.dockerignore" : real + "/.dockerignore"
            self.ignore = try Self.readIgnoreFile(path, name: ".dockerignore") ?? DockerIgnore()
        }
    }

    /// The context as `docker build -f DOCKERFILE DIRECTORY` sees it: `DOCKERFILE.dockerignore`
    /// beside the Dockerfile, when there is one, replaces the context's `.dockerignore`
    /// (BuildKit's rule).
    /// - Parameter dockerfile: the Dockerfile's path as the user gave it.
    public init(directory: String, dockerfile: String) throws {
        let own = dockerfile + ".dockerignore"
        if let ignore = try Self.readIgnoreFile(own, name: own) {
            try self.init(directory: directory, ignore: ignore)
        } else {
            try self.init(directory: directory)
        }
    }

    /// An ignore file's patterns, `nil` when there is no such file.
    /// - Throws: when it is not a regular file (a link is not followed) of at most 1 MiB, or
    ///   holds a bad pattern.
    private static func readIgnoreFile(_ path: String, name: String) throws -> DockerIgnore? {
        guard let facts = (try? FileFacts.read(path)) ?? nil else { return nil }
        guard case .regular = facts.kind, facts.size <= maximumIgnoreFileSize, let data = FileManager.default.contents(atPath: path) else {
            throw DockerfileError(file: name, line: 0, message: "is not a readable regular file of at most \(maximumIgnoreFileSize) bytes")
        }
        return try DockerIgnore(parsing: String(decoding: data, as: UTF8.self), path: name)
    }

    /// A source path made relative to the context: `/`-joined and cleaned, so `../x` and
    /// `/x` are both `x`; the context itself is `.`.
    static func relative(_ source: String) -> String {
        let cleaned = cleanPath("/" + source)
        return cleaned == "/" ? "." : String(cleaned.dropFirst())
    }

    func absolute(_ relative: String) -> String {
        relative == "." ? root : (root == "/" ? "/" + relative : root + "/" + relative)
    }

    /// A source found in the context.
    struct Source {
        /// Relative to the context, after links were followed.
        var relative: String
        /// The real path on disk.
        var path: String
        var isDirectory: Bool
    }

    enum Failure: Error {
        case notFound(String)
        case excluded(String)
        case unsupported(String, kind: String)
        case badPattern(String)
        case unreadable(String)
        /// A name that is not valid UTF-8 (shown with U+FFFD), relative to the context.
        case notUTF8(String)
        /// A wildcard source with more than ``maximumPatternComponents`` components.
        case patternTooDeep(String)
    }

    /// The most `/`-separated components a wildcard source may have: each one is a level
    /// walked and matched, and no Dockerfile needs a hundred.
    static let maximumPatternComponents = 128

    /// Follows `relative` as BuildKit's COPY does (fsutil's `RootPath`, kiln's ``RootedPath``):
    /// through symlinks, with an absolute link target taken from the context's root and `..`
    /// stopping at it, so nothing outside the context is ever looked at (`link -> /etc/passwd`
    /// means the context's `etc/passwd`, as in Docker). Returns the resolved path relative to
    /// the context.
    func resolve(_ relative: String) throws(Failure) -> String {
        do {
            let resolved = try RootedPath.resolve(relative, in: Disk(context: self))
            return resolved.isEmpty ? "." : resolved.joined(separator: "/")
        } catch {
            // A loop, an empty or unreadable link: nothing to copy there.
            throw .notFound(relative)
        }
    }

    /// The context's directory on disk as ``RootedPath`` walks it: `lstat` of each resolved name.
    private struct Disk: LinkedTree {
        let context: BuildContext

        var rootPlace: Void { () }

        func step(into _: String, of _: Void, path: [String], isLast _: Bool) throws -> (place: Void, linkTarget: String?) {
            let absolute = context.absolute(path.joined(separator: "/"))
            guard case .symlink? = (try? FileFacts.read(absolute))??.kind else { return ((), nil) }
            return ((), try FileFacts.readLink(absolute))
        }
    }

    /// A source as BuildKit's COPY finds it: links followed inside the context (``resolve(_:)``),
    /// refused when `.dockerignore` leaves it (or what it links to) out.
    func source(_ relative: String) throws(Failure) -> Source {
        if relative != ".", ignore.excludes(relative), !(ignore.hasExceptions && isDirectory(relative)) {
            throw .excluded(relative)
        }
        let inside = try resolve(relative)
        if inside != relative, inside != ".", ignore.excludes(inside), !(ignore.hasExceptions && isDirectory(inside)) {
            throw .excluded(relative)
        }
        guard let facts = (try? FileFacts.read(absolute(inside))) ?? nil else { throw .notFound(relative) }
        switch facts.kind {
        case .directory: return Source(relative: inside, path: absolute(inside), isDirectory: true)
        case .regular: return Source(relative: inside, path: absolute(inside), isDirectory: false)
        case .symlink: throw .notFound(relative)
        case .other(let kind): throw .unsupported(relative, kind: kind)
        }
    }

    private func isDirectory(_ relative: String) -> Bool {
        guard let inside = try? resolve(relative) else { return false }
        if case .directory? = (try? FileFacts.read(absolute(inside)))??.kind { return true }
        return false
    }

    /// Whether a source has wildcards (`*`, `?`, `[`, not escaped).
    static func hasWildcards(_ text: String) -> Bool {
        var escaped = false
        for character in text {
            if escaped { escaped = false; continue }
            if character == "\\" { escaped = true; continue }
            if character == "*" || character == "?" || character == "[" { return true }
        }
        return false
    }

    /// The context paths a wildcard source matches, in BuildKit's order (a walk in name
    /// order; a matching directory is not entered). Names `.dockerignore` leaves out are not
    /// there to match.
    func matches(_ relative: String) throws(Failure) -> [String] {
        let components = relative.split(separator: "/").map(String.init)
        guard components.count <= Self.maximumPatternComponents else { throw .patternTooDeep(relative) }
        guard let firstWild = components.firstIndex(where: Self.hasWildcards) else { return [relative] }
        let fixed = components[..<firstWild].joined(separator: "/")
        let pattern = components[firstWild...].joined(separator: "/")
        guard let glob = try? GlobPattern(filepathMatch: pattern) else { throw .badPattern(relative) }
        let depth = components.count - firstWild
        var base = "."
        if !fixed.isEmpty {
            guard let found = try? source(fixed) else { return [] }
            guard found.isDirectory else { return [] }
            base = found.relative
        }
        var found: [String] = []
        try walk(base, below: "", depth: depth, glob: glob, into: &found)
        return found
    }

    private func walk(_ base: String, below: String, depth: Int, glob: GlobPattern, into found: inout [String]) throws(Failure) {
        let directory = absolute(below.isEmpty ? base : join(base, below))
        let listing: (names: [String], notUTF8: [String])
        do { listing = try FileFacts.listDirectoryNames(directory) } catch { throw .unreadable(below.isEmpty ? base : join(base, below)) }
        // A name that is not UTF-8 cannot be matched exactly: refused when it might match or be
        // walked into (better than copying too little), left alone otherwise (`COPY o*` beside it).
        let level = below.isEmpty ? 0 : below.split(separator: "/").count
        for name in listing.notUTF8 {
            let inBase = below.isEmpty ? name : below + "/" + name
            if glob.matches(inBase) || level + 1 < depth { throw .notUTF8(join(base, inBase)) }
        }
        let names = listing.names
        for name in names.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            let inBase = below.isEmpty ? name : below + "/" + name
            let inContext = join(base, inBase)
            let isDirectory: Bool
            if case .directory? = (try? FileFacts.read(absolute(inContext)))??.kind { isDirectory = true } else { isDirectory = false }
            let excluded = ignore.excludes(inContext)
            if !excluded, glob.matches(inBase) {
                found.append(inContext)
                continue
            }
            if isDirectory, inBase.split(separator: "/").count < depth, !excluded || ignore.hasExceptions {
                try walk(base, below: inBase, depth: depth, glob: glob, into: &found)
            }
        }
    }

    private func join(_ base: String, _ name: String) -> String { base == "." ? name : base + "/" + name }

    /// The paths below a directory source (relative to it) that are left out: what
    /// `.dockerignore` excludes (paths relative to the context) and what `--exclude` patterns
    /// exclude (relative to the source). A directory is left out whole unless something below
    /// it is kept.
    func exclusions(of source: Source, excluding extra: DockerIgnore) throws(Failure) -> Set<String> {
        var excluded: Set<String> = []
        _ = try collect(source, below: "", extra: extra, into: &excluded)
        return excluded
    }

    /// Returns whether anything at or below `below` is kept.
    private func collect(_ source: Source, below: String, extra: DockerIgnore, into excluded: inout Set<String>) throws(Failure) -> Bool {
        let directory = below.isEmpty ? source.path : source.path + "/" + below
        let listing: (names: [String], notUTF8: [String])
        do { listing = try FileFacts.listDirectoryNames(directory) } catch { throw .unreadable(below.isEmpty ? source.relative : join(source.relative, below)) }
        if let name = listing.notUTF8.first { throw .notUTF8(join(source.relative, below.isEmpty ? name : below + "/" + name)) }
        let names = listing.names
        var keptAny = false
        for name in names {
            let inSource = below.isEmpty ? name : below + "/" + name
            let inContext = join(source.relative, inSource)
            let isExcluded = ignore.excludes(inContext) || extra.excludes(inSource)
            var isDirectory = false
            if case .directory? = (try? FileFacts.read(source.path + "/" + inSource))??.kind { isDirectory = true }
            if isDirectory, !isExcluded || ignore.hasExceptions || extra.hasExceptions {
                var inner: Set<String> = []
                let keptBelow = try collect(source, below: inSource, extra: extra, into: &inner)
                if isExcluded, !keptBelow {
                    excluded.insert(inSource)
                } else {
                    excluded.formUnion(inner)
                    keptAny = true
                }
            } else if isExcluded {
                excluded.insert(inSource)
            } else {
                keptAny = true
            }
        }
        return keptAny
    }

    /// Whether a regular file is a tar archive ADD unpacks, as Docker decides it: by content
    /// (plain tar, or tar compressed with gzip, bzip2, xz or zstd), never by its name.
    func archiveFormat(_ source: Source) -> ArchiveProbe.Format? {
        ArchiveProbe.format(ofFileAt: source.path)
    }
}
