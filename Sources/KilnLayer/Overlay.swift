/// Numeric owner of the files in an overlay.
public struct Owner: Hashable, Sendable, CustomStringConvertible {
    public var uid: Int
    public var gid: Int

    public init(uid: Int, gid: Int) {
        self.uid = uid
        self.gid = gid
    }

    /// Parses `UID:GID` (numbers only: names would depend on the building machine's passwd).
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let uid = Int(parts[0]), let gid = Int(parts[1]),
              (0...0x7FFF_FFFF).contains(uid), (0...0x7FFF_FFFF).contains(gid) else {
            throw LayerError.invalidOwner(text)
        }
        self.init(uid: uid, gid: gid)
    }

    public static let root = Owner(uid: 0, gid: 0)
    public var description: String { "\(uid):\(gid)" }
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
    /// Owner for every entry of the overlay; root when `nil`.
    public var owner: Owner?
    /// Permission bits for files (directories get the same with search bits where read is set);
    /// when `nil`, files get 0644 (0755 if executable on disk) and directories 0755.
    public var mode: UInt32?
    /// The destination was written with a trailing `/` (`app.conf:/etc/`): a file goes INTO that
    /// directory under its own name, as Docker's `COPY` does, instead of replacing it.
    public var intoDirectory: Bool

    public init(source: String, destination: ImagePath, owner: Owner? = nil, mode: UInt32? = nil, intoDirectory: Bool = false) {
        self.source = source
        self.destination = destination
        self.owner = owner
        self.mode = mode
        self.intoDirectory = intoDirectory
    }

    /// An overlay to a destination as written: a trailing `/` means "into this directory".
    public init(source: String, destinationText: String, owner: Owner? = nil, mode: UInt32? = nil) throws {
        self.init(source: source, destination: try ImagePath(absolute: destinationText), owner: owner, mode: mode,
                  intoDirectory: destinationText.hasSuffix("/"))
    }

    /// Parses the command-line form `SRC:DEST`; with DEST omitted it is `/` + SRC's last name.
    public init(parsing text: String, owner: Owner? = nil, mode: UInt32? = nil) throws {
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
