extension JSONValue {
    /// Where `other` differs from this value, one line per leaf: `config.Env[1]: "A=1" → "A=2"`,
    /// `config.User: added "kong"`, `Labels.x: removed "y"`. Objects compare by key (order
    /// aside), arrays by position. For messages that tell a user which field differs.
    public func differences(to other: JSONValue, at path: String = "") -> [String] {
        switch (self, other) {
        case let (.object(mine), .object(theirs)):
            var lines: [String] = []
            var keys: [String] = []
            for key in mine.map(\.key) + theirs.map(\.key) where !keys.contains(key) { keys.append(key) }
            for key in keys {
                let child = path.isEmpty ? key : "\(path).\(key)"
                switch (self[key], other[key]) {
                case let (mine?, theirs?): lines += mine.differences(to: theirs, at: child)
                case let (mine?, nil): lines.append("\(child): \(mine.serializedText) is missing")
                case let (nil, theirs?): lines.append("\(child): unexpected \(theirs.serializedText)")
                case (nil, nil): break
                }
            }
            return lines
        case let (.array(mine), .array(theirs)):
            var lines: [String] = []
            for index in 0..<max(mine.count, theirs.count) {
                let child = "\(path)[\(index)]"
                if index >= theirs.count { lines.append("\(child): \(mine[index].serializedText) is missing") }
                else if index >= mine.count { lines.append("\(child): unexpected \(theirs[index].serializedText)") }
                else { lines += mine[index].differences(to: theirs[index], at: child) }
            }
            return lines
        default:
            return self == other ? [] : ["\(path.isEmpty ? "(document)" : path): expected \(serializedText), found \(other.serializedText)"]
        }
    }

    /// The compact JSON text, shortened for messages.
    var serializedText: String {
        let text = String(decoding: serialized(), as: UTF8.self)
        return text.count > 120 ? String(text.prefix(117)) + "…" : text
    }
}
