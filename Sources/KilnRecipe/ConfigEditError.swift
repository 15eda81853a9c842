/// A config edit given as text (`--env K=V`, `--cmd '[…]'`, a spec's `env:`) that does not
/// parse. Each names the flag and quotes the text in one line.
public enum ConfigEditError: Error, Equatable, CustomStringConvertible {
    case invalidKeyValue(flag: String, text: String)
    case invalidJSONArray(flag: String, text: String)

    public var description: String {
        switch self {
        case .invalidKeyValue(let flag, let text):
            return "\(flag) '\(text)' must have the form KEY=VALUE with a non-empty KEY"
        case .invalidJSONArray(let flag, let text):
            return "\(flag) '\(text)' must be a JSON array of strings, e.g. [\"kong\",\"docker-start\"]"
        }
    }
}
