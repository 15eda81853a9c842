import OCI

/// A layer's changes as kiln's per-machine cache keeps them (keyed by the layer's digest), so a
/// second bake on the same base reads no layer at all: JSON lines, in the archive's order. The
/// cache authenticates the text (`LayerChangesCache` in KilnBake); parsing still checks every
/// value's range, as the layer reader does.
extension LayerChanges {
    static let textHeader: JSONValue = .array([.string("kiln layer changes"), .integer(1)])

    public func serialized() -> [UInt8] {
        var lines: [JSONValue] = [Self.textHeader]
        for (path, change) in changes {
            let name = JSONValue.string(path.description)
            switch change {
            case .directory(let mode, let owner):
                lines.append(.array([.string("dir"), name, .string(BaseTree.octal(mode)), .integer(Int64(owner.uid)), .integer(Int64(owner.gid))]))
            case .symlink(let target): lines.append(.array([.string("link"), name, .string(target)]))
            case .other: lines.append(.array([.string("other"), name]))
            case .whiteout: lines.append(.array([.string("whiteout"), name]))
            case .opaque: lines.append(.array([.string("opaque"), name]))
            }
        }
        // Texts that are not UTF-8 are not kept: names then do not resolve, as if absent.
        if let passwd, let text = String(validating: passwd, as: UTF8.self) { lines.append(.array([.string("passwd"), .string(text)])) }
        if let group, let text = String(validating: group, as: UTF8.self) { lines.append(.array([.string("group"), .string(text)])) }
        return lines.flatMap { $0.serialized() + [UInt8(ascii: "\n")] }
    }

    /// Parses the text; `nil` for anything unexpected or out of range (the cache entry is then
    /// ignored).
    public init?(parsing bytes: [UInt8]) {
        let lines = bytes.split(separator: UInt8(ascii: "\n"))
        guard bytes.last == UInt8(ascii: "\n"), let first = lines.first,
              (try? JSONValue(parsing: Array(first), what: "cache")) == Self.textHeader else { return nil }
        var result = LayerChanges()
        for line in lines.dropFirst() {
            guard case .array(let fields)? = try? JSONValue(parsing: Array(line), what: "cache"),
                  let kind = fields.first?.stringValue, fields.count >= 2, let second = fields[1].stringValue else { return nil }
            // Every value within what the layer reader itself lets through.
            func path() -> ImagePath? {
                guard second == "/" || second.hasPrefix("/"), let path = try? ImagePath(absolute: second), ImagePath.withinKernelLimits(path) else { return nil }
                return path
            }
            func id(_ index: Int) -> Int? {
                guard index < fields.count, case .number(let literal) = fields[index], let value = Int(literal), OwnerSpec.idRange.contains(value) else { return nil }
                return value
            }
            switch (kind, fields.count) {
            case ("dir", 5):
                guard let path = path(), let text = fields[2].stringValue, let mode = try? parseMode(text), let uid = id(3), let gid = id(4) else { return nil }
                result.changes.append((path, .directory(mode: mode, owner: Owner(uid: uid, gid: gid))))
            case ("link", 3):
                guard let path = path(), let target = fields[2].stringValue, ImagePath.isUsableLinkTarget(target) else { return nil }
                result.changes.append((path, .symlink(target: target)))
            case ("other", 2), ("whiteout", 2), ("opaque", 2):
                guard let path = path() else { return nil }
                result.changes.append((path, kind == "other" ? .other : kind == "whiteout" ? .whiteout : .opaque))
            case ("passwd", 2) where second.utf8.count <= LayerHeaderReader.maxUserDatabaseSize: result.passwd = Array(second.utf8)
            case ("group", 2) where second.utf8.count <= LayerHeaderReader.maxUserDatabaseSize: result.group = Array(second.utf8)
            default: return nil
            }
        }
        self = result
    }
}
