/// Turns overlays and removals into the exact, sorted list of entries of the new layer.
///
/// All validation happens here, before a byte of the layer is written: missing sources, paths
/// escaping the root, symlinks leaving their overlay, devices, hard links, unreadable files,
/// two overlays claiming one path, and paths the base makes impossible (a directory where the
/// base has a symlink, a file where it has a directory). Nothing read here depends on mtimes,
/// umask, the order a directory lists its names in, or the user running kiln.
///
/// Paths are placed as BuildKit's `COPY` places them, against the base's skeleton
/// (``BaseTree``): a destination is resolved through the base's symlinks (`/bin/x` on a
/// merged-/usr base is written as `/usr/bin/x`); a file sent to a directory of the base goes
/// inside it; a directory the base has keeps its owner, group and mode (`/tmp` stays 1777);
/// missing parents are created 0755 and owned by the overlay's owner, or, below a setgid
/// directory, setgid and (without an owner) in that directory's group, as the kernel makes
/// BuildKit's `MkdirAll` directories.
public struct OverlayScanner {
    public init() {}

    /// Scans overlays and removals into sorted layer entries.
    ///
    /// - Parameters:
    ///   - overlays: trees or files to add, in the order given (later directories override the
    ///     attributes of earlier ones; two overlays writing the same non-directory is an error).
    ///   - removals: image paths to delete from the base, written as whiteouts.
    ///   - base: the base's skeleton; empty for a base with no files.
    /// - Returns: entries sorted bytewise by path, every parent directory present.
    /// - Throws: ``LayerError`` naming the culprit.
    public func scan(overlays: [Overlay], removals: [ImagePath] = [], base: BaseTree = BaseTree()) throws -> [LayerEntry] {
        var table = EntryTable(base: base)
        for overlay in overlays {
            try scan(overlay, into: &table)
        }
        try table.checkLinksResolveInside()
        for removal in removals {
            guard !removal.isRoot else { throw LayerError.invalidImagePath("/", reason: "the root cannot be removed") }
            guard !removal.components.contains(where: { $0.hasPrefix(".wh.") }) else { throw LayerError.reservedName(removal.description) }
            // The directory is found as the kernel would find it, through the base's links.
            let directory = try base.resolve(removal.parent, followingLast: true)
            try Self.refuseWhiteoutNames(directory, given: removal.parent, origin: "--remove \(removal)")
            let whiteout = directory.appending(".wh." + removal.name)
            try table.addParents(of: whiteout, owner: nil, mode: 0o755, origin: "--remove \(removal)")
            try table.add(LayerEntry(path: whiteout, kind: .whiteout, mode: 0o644, owner: .root), explicit: true, origin: "--remove \(removal)")
        }
        return table.sorted()
    }

    private func scan(_ overlay: Overlay, into table: inout EntryTable) throws {
        if overlay.makesDirectory {
            guard !overlay.destination.components.contains(where: { $0.hasPrefix(".wh.") }) else { throw LayerError.reservedName(overlay.destination.description) }
            let owner = try overlay.owner?.resolve(in: table.base)
            let resolved = try table.base.resolve(overlay.destination, followingLast: true)
            try table.addDirectories(resolved.ancestors + (resolved.isRoot ? [] : [resolved]), below: resolved, owner: owner, mode: 0o755, origin: "the directory \(overlay.destination)")
            return
        }
        guard let rootFacts = try FileFacts.read(overlay.source, followLinks: true) else {
            throw LayerError.missingSource(overlay.source)
        }
        // A `.wh.` name anywhere in DEST would delete base files, as it does inside trees.
        if overlay.destination.components.contains(where: { $0.hasPrefix(".wh.") }) {
            throw LayerError.reservedName(overlay.destination.description)
        }
        let ownerAsked = try overlay.owner?.resolve(in: table.base)
        let owner = ownerAsked ?? .root
        let parentMode = directoryMode(overlay)
        // Where `COPY` writes: through the base's symlinks, the last name too.
        let resolved = try table.base.resolve(overlay.destination, followingLast: true)
        // The base's links may lead there (`opt -> .wh..wh..opq` would hide the whole base).
        try Self.refuseWhiteoutNames(resolved, given: overlay.destination, origin: "overlay \(overlay.source)")
        switch rootFacts.kind {
        case .directory:
            try table.addParents(of: resolved, owner: ownerAsked, mode: parentMode, origin: overlay.source)
            // Resolved once; below it every name is opened without following links.
            let root = FileFacts.realPath(overlay.source) ?? overlay.source
            try walk(directory: root, relative: [], root: root, at: resolved, boundary: resolved, overlay: overlay, owner: owner, table: &table)
        case .regular:
            // Into a directory: one asked for with a trailing `/`, or one that exists (in the
            // base or from an earlier overlay), as `COPY` does. The name added is not followed:
            // a file there replaces a symlink of the base.
            let destination = overlay.intoDirectory || table.isDirectory(resolved)
                ? resolved.appending(overlay.source.split(separator: "/").last.map(String.init) ?? "")
                : resolved
            guard !destination.isRoot else {
                throw LayerError.invalidImagePath("/", reason: "a file overlay needs a file destination, e.g. \(overlay.source):/etc/app.conf")
            }
            guard !destination.name.hasPrefix(".wh.") else { throw LayerError.reservedName(destination.description) }
            try table.addParents(of: destination, owner: ownerAsked, mode: parentMode, origin: overlay.source)
            // The file is read later without following links: name it by its real path.
            try addFile(FileSource(resolving: overlay.source), facts: rootFacts, at: destination, overlay: overlay, owner: owner, table: &table)
        case .symlink:
            // stat followed links, so this cannot happen; kept for exhaustiveness.
            throw LayerError.unsupportedFileType(path: overlay.source, kind: "symlink")
        case .other(let kind):
            throw LayerError.unsupportedFileType(path: overlay.source, kind: kind)
        }
    }

    /// Refuses a destination that the base's links lead to a `.wh.` name: kiln's layer would
    /// then delete (`.wh.NAME`) or hide (`.wh..wh..opq`) base files, however harmless the
    /// name written in the spec looks.
    static func refuseWhiteoutNames(_ resolved: ImagePath, given: ImagePath, origin: String) throws {
        guard let name = resolved.components.first(where: { $0.hasPrefix(".wh.") }) else { return }
        throw LayerError.conflict("\(origin): destination '\(given)' leads through the base's symlinks to '\(resolved)', and '\(name)' starts with '.wh.', which marks deletions in image layers")
    }

    /// Adds a directory of an overlay tree and everything below it. Names below `boundary` are
    /// taken literally (as `COPY` does inside a copied tree): a directory where the base has a
    /// symlink is an error, not a detour.
    private func walk(directory source: String, relative: [String], root: String, at path: ImagePath, boundary: ImagePath, overlay: Overlay, owner: Owner, table: inout EntryTable) throws {
        if relative.isEmpty, !path.isRoot, !table.isDirectory(path) {
            // The destination of a directory COPY, when new, is made as its parents are
            // (BuildKit's Copy runs MkdirAll on it before copying the contents in).
            try table.addDirectories([path], below: path, owner: overlay.owner == nil ? nil : owner, mode: directoryMode(overlay), origin: source)
        } else if !path.isRoot {
            let recorded = relative.isEmpty ? nil : overlay.recorded[relative.joined(separator: "/")]
            let mode = overlay.mode == nil ? recorded?.mode ?? 0o755 : directoryMode(overlay)
            try table.add(LayerEntry(path: path, kind: .directory, mode: mode, owner: Self.owner(owner, overlay, recorded)), explicit: true, origin: source)
        }
        for name in try FileFacts.listDirectory(source).sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            let childSource = source.hasSuffix("/") ? source + name : source + "/" + name
            let childPath = path.appending(name)
            if !overlay.excluding.isEmpty, overlay.excluding.contains((relative + [name]).joined(separator: "/")) { continue }
            guard !name.hasPrefix(".wh.") else { throw LayerError.reservedName(childSource) }
            guard let facts = try FileFacts.read(childSource) else { throw LayerError.missingSource(childSource) }
            switch facts.kind {
            case .directory:
                try walk(directory: childSource, relative: relative + [name], root: root, at: childPath, boundary: boundary, overlay: overlay, owner: owner, table: &table)
            case .regular:
                try addFile(FileSource(root: root, components: relative + [name]), facts: facts, at: childPath, overlay: overlay, owner: owner, table: &table,
                            recorded: overlay.recorded[(relative + [name]).joined(separator: "/")])
            case .symlink:
                let target = try FileFacts.readLink(childSource)
                guard !target.isEmpty, !target.utf8.contains(0) else { throw LayerError.escapingSymlink(path: childSource, target: target) }
                if !overlay.keepsAnyLink {
                    guard let resolved = childPath.resolveLinkTarget(target), resolved.isWithin(boundary) else {
                        throw LayerError.escapingSymlink(path: childSource, target: target)
                    }
                }
                let linkOwner = Self.owner(owner, overlay, overlay.recorded[(relative + [name]).joined(separator: "/")])
                try table.add(LayerEntry(path: childPath, kind: .symlink(target: target), mode: 0o777, owner: linkOwner), explicit: true, origin: childSource)
                if !overlay.keepsAnyLink { table.recordLink(childPath, target: target, boundary: boundary, origin: childSource) }
            case .other(let kind):
                throw LayerError.unsupportedFileType(path: childSource, kind: kind)
            }
        }
    }

    /// The overlay's owner when it names one, else what an archive recorded, else root.
    private static func owner(_ owner: Owner, _ overlay: Overlay, _ recorded: Overlay.RecordedAttributes?) -> Owner {
        overlay.owner == nil ? recorded?.owner ?? owner : owner
    }

    private func addFile(_ source: FileSource, facts: FileFacts, at path: ImagePath, overlay: Overlay, owner: Owner, table: inout EntryTable,
                         recorded: Overlay.RecordedAttributes? = nil) throws {
        guard facts.linkCount <= 1 else { throw LayerError.hardlink(source.description) }
        // Opened the way the layer builder will open it: a swapped name fails here already.
        try FileFacts.checkOpenable(source)
        let executable = facts.permissions & 0o100 != 0
        let mode = overlay.mode ?? recorded?.mode ?? (executable ? 0o755 : 0o644)
        try table.add(LayerEntry(path: path, kind: .file(source: source, size: facts.size), mode: mode, owner: Self.owner(owner, overlay, recorded)), explicit: true, origin: source.description)
    }

    /// Directories get the file mode with search permission wherever read is granted (like
    /// `chmod X`), so `--mode 0640` gives 0750 directories that can still be entered.
    private func directoryMode(_ overlay: Overlay) -> UInt32 {
        guard let mode = overlay.mode else { return 0o755 }
        let readBits = mode & 0o444
        return (mode | (readBits >> 2)) & 0o7777
    }
}

/// Entries keyed by their exact UTF-8 path, with the merge rules between overlays and against
/// the base.
private struct EntryTable {
    let base: BaseTree
    private var entries: [[UInt8]: (entry: LayerEntry, explicit: Bool, origin: String)] = [:]

    init(base: BaseTree) { self.base = base }

    /// Whether `path` is a directory of the base or of an overlay added before.
    func isDirectory(_ path: ImagePath) -> Bool {
        if let existing = entries[path.key] { return existing.entry.isDirectory }
        return base.isDirectory(path)
    }

    /// Adds every ancestor of `path` that is not there yet: with the base's attributes where
    /// the base has that directory, else created as BuildKit's `MkdirAll` creates it (see
    /// ``addDirectories(_:below:owner:mode:origin:)``). The destination itself becomes a parent
    /// of what the overlay holds; its own entry is added by the overlay (directory) or is the file.
    /// - Throws: when an ancestor is already a file or link (so every entry's ancestors are
    ///   directories, and ``add(_:explicit:origin:)`` need only look at the parent).
    mutating func addParents(of path: ImagePath, owner: Owner?, mode: UInt32, origin: String) throws {
        try addDirectories(path.ancestors, below: path, owner: owner, mode: mode, origin: origin)
    }

    /// Adds the directories `paths` (outermost first) that are not there yet. One that is made
    /// gets `mode` and `owner` (the `--chown` user; root when `nil`), except below a setgid
    /// directory: Docker's `MkdirAll` (buildkitd and dockerd run with umask 0 and do not chmod)
    /// leaves what the kernel's `mkdir` gives there, the setgid bit and the parent's group; a
    /// `--chown` then sets owner and group, and `chown` keeps a directory's setgid bit.
    mutating func addDirectories(_ paths: [ImagePath], below path: ImagePath, owner: Owner?, mode: UInt32, origin: String) throws {
        for directory in paths {
            if let existing = entries[directory.key] {
                guard existing.entry.isDirectory else {
                    throw LayerError.conflict("'\(directory)' is a file from \(existing.origin) but \(origin) puts '\(path)' below it")
                }
                continue
            }
            if case .symlink(let target)? = base.node(at: directory) {
                throw LayerError.conflict("'\(directory)' is a symlink in the base (to '\(target)') but \(origin) puts '\(path)' below it")
            }
            var made = LayerEntry(path: directory, kind: .directory, mode: mode, owner: owner ?? .root)
            if let parent = attributes(of: directory.parent), parent.mode & 0o2000 != 0 {
                made.mode |= 0o2000
                if owner == nil { made.owner = Owner(uid: 0, gid: parent.owner.gid) }
            }
            try add(made, explicit: false, origin: "parent directory")
        }
    }

    /// Mode and owner of a directory as the layer leaves it: this layer's entry, else the base's.
    private func attributes(of directory: ImagePath) -> (mode: UInt32, owner: Owner)? {
        if let existing = entries[directory.key] {
            return existing.entry.isDirectory ? (existing.entry.mode, existing.entry.owner) : nil
        }
        if case .directory(let mode, let owner)? = base.node(at: directory) { return (mode, owner) }
        return nil
    }

    mutating func add(_ entry: LayerEntry, explicit: Bool, origin: String) throws {
        var entry = entry
        switch base.node(at: entry.path) {
        case .directory(let mode, let owner)?:
            // `COPY` never changes a directory that exists: its entry repeats the base's.
            guard entry.isDirectory else {
                throw LayerError.conflict("'\(entry.path)' is a directory in the base; \(origin) cannot replace it with a file (give the destination a trailing / to put the file inside)")
            }
            entry.mode = mode
            entry.owner = owner
        case .symlink(let target)?:
            guard !entry.isDirectory else {
                throw LayerError.conflict("'\(entry.path)' is a symlink in the base (to '\(target)'); \(origin) cannot make it a directory (send the overlay to where the link points)")
            }
        case nil:
            break
        }
        if let existing = entries[entry.path.key] {
            switch (existing.entry.isDirectory, entry.isDirectory) {
            case (true, true):
                // Directories merge; an explicit one (from an overlay tree) sets the attributes.
                if explicit { entries[entry.path.key] = (entry, true, origin) }
                return
            default:
                throw LayerError.conflict("'\(entry.path)' is written twice: by \(existing.origin) and by \(origin)")
            }
        }
        // Only the parent: the ones above it were checked when it was added (linear in depth,
        // where checking every ancestor of every entry was cubic for deep trees).
        let parent = entry.path.parent
        if !parent.isRoot, let existing = entries[parent.key], !existing.entry.isDirectory {
            throw LayerError.conflict("'\(parent)' is a file from \(existing.origin) but \(origin) puts '\(entry.path)' below it")
        }
        entries[entry.path.key] = (entry, explicit, origin)
    }

    /// Symlinks to check once every overlay is in: (where, target, the overlay's destination).
    private var links: [(path: ImagePath, target: String, boundary: ImagePath, origin: String)] = []

    mutating func recordLink(_ path: ImagePath, target: String, boundary: ImagePath, origin: String) {
        links.append((path, target, boundary, origin))
    }

    /// Resolves every link against the image tree the layer builds, following links through
    /// links, not lexically: `y -> sub/c/up/../../../etc/shadow` with `sub/c/up -> ../..` leaves
    /// the overlay although each text alone looks inside it.
    func checkLinksResolveInside() throws {
        for link in links where !resolvesInside(link.path, target: link.target, boundary: link.boundary) {
            throw LayerError.escapingSymlink(path: link.origin, target: link.target)
        }
    }

    /// Whether `target`, written at `path`, names a place inside `boundary`, resolved by
    /// ``RootedPath`` through the links of the layer (at most
    /// ``RootedPath/maxLinksFollowed``, as the kernel follows): after every name added the path
    /// must be inside or an ancestor of the boundary (`..` may step out and come back, as in
    /// `../app/x`).
    private func resolvesInside(_ path: ImagePath, target: String, boundary: ImagePath) -> Bool {
        guard let resolved = try? RootedPath.resolve(linkTarget: target, in: path.parent.components, of: Links(table: self, boundary: boundary)) else { return false }
        return ImagePath(components: resolved).isWithin(boundary)
    }

    /// The layer's entries as ``RootedPath`` walks them, kept to the ancestors of one
    /// overlay's destination and what lies below it.
    private struct Links: LinkedTree {
        let table: EntryTable
        let boundary: ImagePath

        struct LeftBoundary: Error {}

        var rootPlace: Void { () }

        func step(into _: String, of _: Void, path: [String], isLast _: Bool) throws -> (place: Void, linkTarget: String?) {
            let current = ImagePath(components: path)
            // Inside, or still on the way down to the boundary (`/etc` for `/etc/app/x`).
            guard current.isWithin(boundary) || boundary.isWithin(current) else { throw LeftBoundary() }
            guard let entry = table.entries[current.key], case .symlink(let target) = entry.entry.kind else { return ((), nil) }
            return ((), target)
        }
    }

    func sorted() -> [LayerEntry] {
        entries.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.value.entry)
    }
}
