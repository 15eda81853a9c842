/// Errors found in image metadata: each names the culprit in one line.
public enum OCIError: Error, Equatable, CustomStringConvertible {
    case invalidDigest(String)
    case invalidJSON(what: String, reason: String)
    case unsupportedMediaType(what: String, mediaType: String)
    case schema1(what: String)
    case malformed(what: String, reason: String)
    case invalidPlatform(String)

    public var description: String {
        switch self {
        case .invalidDigest(let text):
            return "invalid digest '\(Self.excerpt(text))' (expected sha256:<64 lower-case hex>)"
        case .invalidJSON(let what, let reason):
            return "\(what) is not valid JSON: \(reason)"
        case .unsupportedMediaType(let what, let mediaType):
            return "\(what) has unsupported media type '\(Self.excerpt(mediaType))'"
        case .schema1(let what):
            return "\(what) is a Docker schema 1 manifest, which is deprecated and not supported; re-push the image with a current client"
        case .malformed(let what, let reason):
            return "\(what) is malformed: \(reason)"
        case .invalidPlatform(let text):
            return "invalid platform '\(Self.excerpt(text))' (expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8)"
        }
    }
}

extension OCIError {
    /// At most `limit` characters of text from a document (a registry's, an archive's): control,
    /// format, separator and private-use characters escaped (`\u{1b}`), so an error stays one
    /// printable line of bounded length however the text was crafted.
    static func excerpt(_ text: String, limit: Int = 80) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            switch scalar.properties.generalCategory {
            case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator:
                out += "\\u{\(String(scalar.value, radix: 16))}"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return text.unicodeScalars.count > limit ? out + "…" : out
    }
}
