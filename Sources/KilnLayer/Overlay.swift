/// Numeric owner of an entry of the layer: what its tar header records.
public struct Owner: Hashable, Sendable, CustomStringConvertible {
    public var uid: Int
    public var gid: Int

    public init(uid: Int, gid: Int) {
        self.uid = uid
        self.gid = gid
    }

    /// Parses `UID:GID`, numbers only.
    public init(parsing text: String) throws {
        guard case .resolved(let owner) = try OwnerSpec(parsing: text), text.contains(":") else { throw LayerError.invalidOwner(text) }
        self = owner
    }

    public static let root = Owner(uid: 0, gid: 0)
    public var description: String { "\(uid):\(gid)" }
}

/// The owner an overlay asks for, as written: `UID:GID`, or names (`app:web`, `app`, `1000:web`)
/// that are looked up in the BASE's `/etc/passwd` and `/etc/group`, never the building
/// machine's, so the result is the same everywhere. As BuildKit's `COPY --chown` (its user
/// lookup, `solver/llbsolver/ops/user_linux.go`): a user NAME without a group takes the primary
/// group of its line in `/etc/passwd` (`games` is 5:60 on Debian); a user NUMBER without a group
/// takes the same number as its group (`1000` is 1000:1000); `root` is 0 without a lookup.
public enum OwnerSpec: Hashable, Sendable, CustomStringConvertible {
    case resolved(Owner)
    case named(user: String, group: String?)

    /// The most an id may be: a 31-bit number, as tar and Linux accept.
    static let idRange = 0...0x7FFF_FFFF

    /// Parses `USER[:GROUP]`, each a number or a name (`[A-Za-z_][A-Za-z0-9_.-]*`, an optional
    /// trailing `$`).
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts.allSatisfy({ Self.isNumber($0) || Self.isName($0) }) else {
            throw LayerError.invalidOwner(text)
        }
        for part in parts where Self.isNumber(part) {
            guard let value = Int(part), Self.idRange.contains(value) else { throw LayerError.invalidOwner(text) }
        }
        if parts.allSatisfy(Self.isNumber) {
            let uid = Int(parts[0])!
            self = .resolved(Owner(uid: uid, gid: parts.count == 2 ? Int(parts[1])! : uid))
        } else {
            self = .named(user: parts[0], group: parts.count == 2 ? parts[1] : nil)
        }
    }

    /// The numbers, with names looked up in the base's user database.
    /// - Throws: ``LayerError/unknownOwner(_:)`` naming the name that is not there.
    public func resolve(in base: BaseTree) throws -> Owner {
        switch self {
        case .resolved(let owner):
            return owner
        case .named(let user, let group):
            // The gid a user alone gives: its passwd line's for a name, the same number for a number.
            let uid: Int
            let primaryGroup: Int
            if let number = Int(user) {
                (uid, primaryGroup) = (number, number)
            } else if user == "root" {
                (uid, primaryGroup) = (0, 0)
            } else {
                guard let entry = base.users[user] else { throw LayerError.unknownOwner("user '\(user)' of owner '\(self)' is not in the base's /etc/passwd") }
                (uid, primaryGroup) = (entry.uid, entry.gid)
            }
            guard let group else { return Owner(uid: uid, gid: primaryGroup) }
            if let number = Int(group) { return Owner(uid: uid, gid: number) }
            if group == "root" { return Owner(uid: uid, gid: 0) }
            guard let gid = base.groups[group] else { throw LayerError.unknownOwner("group '\(group)' of owner '\(self)' is not in the base's /etc/group") }
            return Owner(uid: uid, gid: gid)
        }
    }

    public var description: String {
        switch self {
        case .resolved(let owner): return owner.description
        case .named(let user, let group): return group.map { "\(user):\($0)" } ?? user
        }
    }

    private static func isNumber(_ text: String) -> Bool { !text.isEmpty && text.utf8.allSatisfy { (48...57).contains($0) } }

    private static func isName(_ text: String) -> Bool {
        var bytes = Array(text.utf8)
        if bytes.last == UInt8(ascii: "$") { bytes.removeLast() }
        guard let first = bytes.first, first == UInt8(ascii: "_") || (65...90).contains(first) || (97...122).contains(first), bytes.count <= 256 else { return false }
        return bytes.allSatisfy { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
    }
}

/// Parses an octal permission mode such as `0640` or `755`.
public func parseMode(_ text: String) throws -> UInt32 {
    guard !text.isEmpty, text.count <= 5, let mode = UInt32(text, radix: 8), mode <= 0o7777 else {
        throw LayerError.invalidMode(text)
    }
    return mode
}

/// One tree or file on disk to place in the image.
public struct Overlay: Hashable, Sendable {
    /// A file or directory on the building machine.
    public var source: String
    /// Where it lands in the image; for a directory, the directory its contents go into.
    public var destination: ImagePath
    /// Owner for every entry of the overlay, and for the parent directories it creates; root
    /// when `nil`. Directories the base already has keep their own.
    public var owner: OwnerSpec?
    /// Permission bits for files (directories get the same with search bits where read is set);
    /// when `nil`, files get 0644 (0755 if executable on disk) and directories 0755.
    public var mode: UInt32?
    /// The destination was written with a trailing `/` (`app.conf:/etc/`): a file goes INTO that
    /// directory under its own name, as Docker's `COPY` does, instead of replacing it.
    public var intoDirectory: Bool
    /// Paths below a directory source (`/`-separated, relative to it: `docs/draft.md`) that are
    /// left out, as `.dockerignore` leaves files out of Docker's build context. A directory named
    /// here is left out with everything below it.
    public var excluding: Set<String>
    /// Symlinks inside a directory source are kept whatever they point to, as Docker's COPY
    /// keeps them (`current -> /usr/lib/app`). Otherwise (`kiln bake`) a link must resolve inside
    /// the overlay. Either way kiln never follows a link of the source tree.
    public var keepsAnyLink: Bool
    /// Mode and owner of an entry as an archive recorded them.
    public struct RecordedAttributes: Hashable, Sendable {
        public var mode: UInt32
        public var owner: Owner

        public init(mode: UInt32, owner: Owner) {
            self.mode = mode
            self.owner = owner
        }
    }
    /// Entries below a directory source (relative paths, as in ``excluding``) that keep the mode
    /// and owner an archive recorded for them (``ArchiveUnpacker``) instead of kiln's defaults;
    /// ``owner`` and ``mode``, when set, still win.
    public var recorded: [String: RecordedAttributes]
    /// A directory to make, not a source to copy (a Dockerfile's WORKDIR): ``source`` is empty
    /// and nothing is read; ``destination`` (through the base's symlinks) and every missing
    /// directory above it are made 0755 and owned by ``owner``, as BuildKit's `Mkdir` with
    /// parents does; directories that exist are left as they are.
    public var makesDirectory = false

    /// WORKDIR's `mkdir -p`: see ``makesDirectory``.
    public static func directory(_ destination: ImagePath, owner: OwnerSpec?) -> Overlay {
        var overlay = Overlay(source: "", destination: destination, owner: owner)
        overlay.makesDirectory = true
        return overlay
    }

    public init(source: String, destination: ImagePath, owner: OwnerSpec? = nil, mode: UInt32? = nil, intoDirectory: Bool = false, excluding: Set<String> = [],
                keepsAnyLink: Bool = false, recorded: [String: RecordedAttributes] = [:]) {
        self.recorded = recorded
        self.source = source
        self.destination = destination
        self.owner = owner
        self.mode = mode
        self.intoDirectory = intoDirectory
        self.excluding = excluding
        self.keepsAnyLink = keepsAnyLink
    }

    /// An overlay to a destination as written: a trailing `/` means "into this directory".
    public init(source: String, destinationText: String, owner: OwnerSpec? = nil, mode: UInt32? = nil) throws {
        self.init(source: source, destination: try ImagePath(absolute: destinationText), owner: owner, mode: mode,
                  intoDirectory: destinationText.hasSuffix("/"))
    }

    /// Parses the command-line form `SRC:DEST`; with DEST omitted it is `/` + SRC's last name.
    public init(parsing text: String, owner: OwnerSpec? = nil, mode: UInt32? = nil) throws {
        let source: String
        let destination: String
        if let colon = text.lastIndex(of: ":") {
            source = String(text[..<colon])
            destination = String(text[text.index(after: colon)...])
        } else {
            source = text
            let name = text.split(separator: "/").last.map(String.init) ?? ""
            guard !name.isEmpty, name != ".", name != ".." else { throw LayerError.invalidOverlay(text) }
            destination = "/" + name
        }
        guard !source.isEmpty, !destination.isEmpty else { throw LayerError.invalidOverlay(text) }
        try self.init(source: source, destinationText: destination, owner: owner, mode: mode)
    }
}
