extension JSONValue {
    /// How a difference is worded: as a check against an expectation (`verify`: `expected A,
    /// found B`, `A is missing`, `unexpected B`), or as a change from an old value to a new one
    /// (`kiln outdated --explain`: `A -> B`, `removed A`, `added B`).
    public enum DifferenceWording: Sendable {
        case expectation, change
    }

    /// Where `other` differs from this value, one line per leaf: `config.Env[1]: expected "A=1",
    /// found "A=2"` (or, as a change, `config.Env[1]: "A=1" -> "A=2"`, `config.User: added "kong"`,
    /// `Labels.x: removed "y"`). Objects compare by key (order aside), arrays by position. For
    /// messages that tell a user which field differs.
    public func differences(to other: JSONValue, at path: String = "", wording: DifferenceWording = .expectation) -> [String] {
        let change = wording == .change
        func missing(_ child: String, _ value: JSONValue) -> String { change ? "\(child): removed \(value.serializedText)" : "\(child): \(value.serializedText) is missing" }
        func extra(_ child: String, _ value: JSONValue) -> String { change ? "\(child): added \(value.serializedText)" : "\(child): unexpected \(value.serializedText)" }
        switch (self, other) {
        case let (.object(mine), .object(theirs)):
            var lines: [String] = []
            var keys: [String] = []
            for key in mine.map(\.key) + theirs.map(\.key) where !keys.contains(key) { keys.append(key) }
            for key in keys {
                let child = path.isEmpty ? key : "\(path).\(key)"
                switch (self[key], other[key]) {
                case let (mine?, theirs?): lines += mine.differences(to: theirs, at: child, wording: wording)
                case let (mine?, nil): lines.append(missing(child, mine))
                case let (nil, theirs?): lines.append(extra(child, theirs))
                case (nil, nil): break
                }
            }
            return lines
        case let (.array(mine), .array(theirs)):
            var lines: [String] = []
            for index in 0..<max(mine.count, theirs.count) {
                let child = "\(path)[\(index)]"
                if index >= theirs.count { lines.append(missing(child, mine[index])) }
                else if index >= mine.count { lines.append(extra(child, theirs[index])) }
                else { lines += mine[index].differences(to: theirs[index], at: child, wording: wording) }
            }
            return lines
        default:
            guard self != other else { return [] }
            let place = path.isEmpty ? "(document)" : path
            return [change ? "\(place): \(serializedText) -> \(other.serializedText)" : "\(place): expected \(serializedText), found \(other.serializedText)"]
        }
    }

    /// The compact JSON text, shortened for messages.
    var serializedText: String {
        let text = String(decoding: serialized(), as: UTF8.self)
        return text.count > 120 ? String(text.prefix(117)) + "…" : text
    }
}
