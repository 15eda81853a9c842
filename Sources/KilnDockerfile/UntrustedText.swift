/// Text from a Dockerfile or a build context as messages may quote it: Dockerfiles and
/// contexts come from pull requests, and errors go to CI logs, so a message never echoes raw
/// bytes (a pasted environment dump, terminal escapes, a 60 KB name).
public enum UntrustedText {
    /// The most characters of one quoted excerpt.
    public static let maximumExcerpt = 64

    /// At most `limit` characters of `text`, `...` marking a cut; control, format (bidi
    /// overrides), private-use, unassigned and separator characters other than a space are
    /// escaped (`\x1b`, `\u{202E}`), so the excerpt is one printable line.
    public static func excerpt(_ text: String, limit: Int = maximumExcerpt) -> String {
        var result = ""
        var count = 0
        for scalar in text.unicodeScalars {
            guard count < limit else {
                result += "..."
                break
            }
            count += 1
            result += printable(scalar)
        }
        return result
    }

    /// Every character of `text` printable (no bound): the last line of defence in
    /// ``DockerfileError`` and ``DockerfileWarning``.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { printable($0).unicodeScalars.count != 1 }) else { return text }
        return text.unicodeScalars.map(printable).joined()
    }

    private static func printable(_ scalar: Unicode.Scalar) -> String {
        if scalar.isASCII {
            guard scalar.value < 0x20 || scalar.value == 0x7F else { return String(scalar) }
            switch scalar {
            case "\t": return "\\t"
            case "\n": return "\\n"
            case "\r": return "\\r"
            default: return "\\x" + hex(scalar.value, width: 2)
            }
        }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return "\\u{" + hex(scalar.value, width: 4) + "}"
        default:
            return String(scalar)
        }
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
