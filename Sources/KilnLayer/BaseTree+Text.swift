import OCI

/// The skeleton as `kiln lock` records it: JSON lines, one per directory, symlink, user and
/// group, sorted by bytes, so the file is the same on every machine, diffs well and is
/// verified by its digest like the lock's other documents.
///
///     ["kiln base tree",1]
///     ["dir","/tmp","1777",0,0]
///     ["link","/bin","usr/bin"]
///     ["user","nginx",101,101]
///     ["group","adm",4]
extension BaseTree {
    static let textHeader: JSONValue = .array([.string("kiln base tree"), .integer(1)])

    /// The file's bytes.
    public func serialized() -> [UInt8] {
        var lines: [JSONValue] = [Self.textHeader]
        for (path, node) in entries {
            switch node {
            case .directory(let mode, let owner):
                lines.append(.array([.string("dir"), .string(path.description), .string(Self.octal(mode)), .integer(Int64(owner.uid)), .integer(Int64(owner.gid))]))
            case .symlink(let target):
                lines.append(.array([.string("link"), .string(path.description), .string(target)]))
            }
        }
        for (name, owner) in users.sorted(by: { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }) {
            lines.append(.array([.string("user"), .string(name), .integer(Int64(owner.uid)), .integer(Int64(owner.gid))]))
        }
        for (name, gid) in groups.sorted(by: { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }) {
            lines.append(.array([.string("group"), .string(name), .integer(Int64(gid))]))
        }
        return lines.flatMap { $0.serialized() + [UInt8(ascii: "\n")] }
    }

    /// Parses a skeleton file. Every value is checked as the layer reader checks it (paths and
    /// link targets within PATH_MAX, names within NAME_MAX, ids within 0...2^31-1, modes within
    /// 07777), and each path's parent must be a directory listed before it, as kiln writes them.
    /// - Throws: ``TreeTextError`` naming the file and line (`what:LINE`).
    public init(parsing bytes: [UInt8], what: String) throws {
        self.init()
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard bytes.last == UInt8(ascii: "\n"), let first = lines.first,
              (try? JSONValue(parsing: Array(first), what: what)) == Self.textHeader else {
            throw TreeTextError(message: "\(what): not a kiln base tree (version 1); run kiln lock")
        }
        var pathBytes = 0
        for (number, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            func fail(_ reason: String) -> TreeTextError { TreeTextError(message: "\(what):\(number + 1): \(reason)") }
            guard case .array(let fields)? = try? JSONValue(parsing: Array(line), what: what), let kind = fields.first?.stringValue else {
                throw fail("not a JSON array")
            }
            func text(_ index: Int) throws -> String {
                guard index < fields.count, let value = fields[index].stringValue else { throw fail("field \(index + 1) must be a string") }
                return value
            }
            func id(_ index: Int) throws -> Int {
                guard index < fields.count, case .number(let literal) = fields[index], let value = Int(literal), OwnerSpec.idRange.contains(value) else {
                    throw fail("field \(index + 1) must be a user or group id")
                }
                return value
            }
            /// The new node's parent slot and name.
            func place(_ index: Int) throws -> (parent: Int, name: [UInt8]) {
                let text = try text(index)
                guard let path = try? ImagePath(absolute: text), !path.isRoot, ImagePath.withinKernelLimits(path) else {
                    throw fail("'\(text.prefix(64))' is not a path in the image")
                }
                guard let parent = slot(path.parent.components), case .directory = slots[parent].node else {
                    throw fail("'\(path.parent)' is not a directory listed before '\(path)'; run kiln lock")
                }
                let name = Array(path.name.utf8)
                guard slots[parent].children[name] == nil else { throw fail("'\(path)' is listed twice; run kiln lock") }
                pathBytes += path.archiveName.utf8.count
                guard pathBytes <= Self.maxPathBytes else { throw fail("the skeleton's paths take more than \(Self.maxPathBytes >> 20) MiB") }
                return (parent, name)
            }
            switch (kind, fields.count) {
            case ("dir", 5):
                guard let mode = try? parseMode(try text(2)) else { throw fail("'\(try text(2))' is not an octal mode") }
                let (parent, name) = try place(1)
                put(.directory(mode: mode, owner: Owner(uid: try id(3), gid: try id(4))), named: name, in: parent)
            case ("link", 3):
                let target = try text(2)
                guard ImagePath.isUsableLinkTarget(target) else { throw fail("a symlink needs a target of 1 to \(Self.maxPathLength) bytes without NUL") }
                let (parent, name) = try place(1)
                put(.symlink(target: target), named: name, in: parent)
            case ("user", 4):
                users[try text(1)] = Owner(uid: try id(2), gid: try id(3))
            case ("group", 3):
                groups[try text(1)] = try id(2)
            default:
                throw fail("unknown entry \(kind) with \(fields.count) fields")
            }
        }
    }

    static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// A skeleton file that cannot be read; the message names the file and line.
public struct TreeTextError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
