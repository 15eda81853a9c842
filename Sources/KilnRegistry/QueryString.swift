/// The query strings kiln builds (a mount's `mount`/`from`, an upload's `digest`, a token
/// request's `service`/`scope`): every name and value percent-encoded but for RFC 3986's
/// unreserved characters and `:` and `/`, so a value from a cache or from a registry's
/// challenge can never add a parameter (`&`, `=`, `+`), end the query (`#`) or smuggle a space.
enum QueryString {
    /// `value` with every byte but `A-Z a-z 0-9 - . _ ~ : /` written as `%XX`. `:` and `/` are
    /// data in a query (RFC 3986 allows them there) and stay readable in digests, repository
    /// names and scopes (`repository:svc/one:pull`); registries decode either form.
    static func encode(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"), UInt8(ascii: "/"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }

    /// `name=value&…`, each part encoded.
    static func make(_ pairs: [(name: String, value: String)]) -> String {
        pairs.map { "\(encode($0.name))=\(encode($0.value))" }.joined(separator: "&")
    }
}
