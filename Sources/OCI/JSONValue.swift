/// A JSON document that keeps what kiln does not model.
///
/// Objects keep their key order and numbers keep their exact text, so a config or manifest that
/// kiln edits keeps every field it does not touch (`Healthcheck`, `OnBuild`, vendor keys) as it was.
/// Serialization is compact and deterministic: the same value always gives the same bytes.
public enum JSONValue: Equatable, Sendable {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    /// A number, as the literal text it was written with.
    case number(String)
    case bool(Bool)
    case null

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key.utf8.elementsEqual($1.key.utf8) && $0.value == $1.value }
        case let (.array(a), .array(b)): return a == b
        case let (.string(a), .string(b)): return a.utf8.elementsEqual(b.utf8)
        case let (.number(a), .number(b)): return a == b
        case let (.bool(a), .bool(b)): return a == b
        case (.null, .null): return true
        default: return false
        }
    }

    /// The value under `key` when this is an object. Keys match by their UTF-8 bytes, never by
    /// Unicode equivalence.
    public subscript(key: String) -> JSONValue? {
        get {
            guard case .object(let members) = self else { return nil }
            return members.last(where: { $0.key.utf8.elementsEqual(key.utf8) })?.value
        }
        set {
            guard case .object(var members) = self else { return }
            if let index = members.lastIndex(where: { $0.key.utf8.elementsEqual(key.utf8) }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key, newValue))
            }
            self = .object(members)
        }
    }

    /// The string, when this is one.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The members, when this is an object.
    public var members: [(key: String, value: JSONValue)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The number, when this is one that a Double can hold.
    public var doubleValue: Double? {
        if case .number(let literal) = self { return Double(literal) }
        return nil
    }

    /// Parses UTF-8 JSON that must be an object (a small answer or file); `nil` for anything else.
    public static func object(parsing bytes: [UInt8], what: String) -> JSONValue? {
        guard let value = try? JSONValue(parsing: bytes, what: what), value.isObject else { return nil }
        return value
    }

    /// Whether this is an object.
    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// An array of strings.
    public static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }

    /// An integer number.
    public static func integer<I: BinaryInteger>(_ value: I) -> JSONValue { .number(String(value)) }
}
