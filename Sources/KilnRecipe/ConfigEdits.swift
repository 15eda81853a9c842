import OCI

/// Changes to the image config's `config` section, applied on top of the base's values.
public struct ConfigEdits: Sendable, Equatable {
    /// Environment variables to set; an existing variable with the same name is replaced in place.
    public var env: [(key: String, value: String)] = []
    /// Labels to set; an existing label with the same key is replaced.
    public var labels: [(key: String, value: String)] = []
    public var user: String?
    public var workingDir: String?
    public var entrypoint: [String]?
    public var cmd: [String]?

    public init() {}

    public static func == (lhs: ConfigEdits, rhs: ConfigEdits) -> Bool {
        lhs.env.elementsEqual(rhs.env, by: ==) && lhs.labels.elementsEqual(rhs.labels, by: ==)
            && lhs.user == rhs.user && lhs.workingDir == rhs.workingDir && lhs.entrypoint == rhs.entrypoint && lhs.cmd == rhs.cmd
    }

    /// Parses `KEY=VALUE` as given to `--env` or `--label`.
    public static func parseKeyValue(_ text: String, flag: String) throws -> (key: String, value: String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw BakeError.invalidKeyValue(flag: flag, text: text)
        }
        return (String(text[..<equals]), String(text[text.index(after: equals)...]))
    }

    /// Parses a JSON array of strings as given to `--entrypoint` or `--cmd`.
    public static func parseStringArray(_ text: String, flag: String) throws -> [String] {
        guard let value = try? JSONValue(parsing: Array(text.utf8), what: flag), let elements = value.arrayValue else {
            throw BakeError.invalidJSONArray(flag: flag, text: text)
        }
        return try elements.map { element in
            guard let string = element.stringValue else { throw BakeError.invalidJSONArray(flag: flag, text: text) }
            return string
        }
    }
}
