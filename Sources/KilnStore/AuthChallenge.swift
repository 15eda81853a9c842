import Foundation

/// A `WWW-Authenticate` challenge from a registry (RFC 7235), e.g.
/// `Bearer realm="https://auth.docker.io/token",service="registry.docker.io"`.
package struct AuthChallenge: Equatable, Sendable {
    package enum Scheme: Equatable, Sendable { case basic, bearer }

    package var scheme: Scheme
    package var parameters: [String: String]

    package var realm: String? { parameters["realm"] }
    package var service: String? { parameters["service"] }

    /// Parses the header value; `nil` for schemes kiln does not speak.
    package init?(header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        let schemeEnd = trimmed.firstIndex(of: " ") ?? trimmed.endIndex
        switch trimmed[..<schemeEnd].lowercased() {
        case "basic": scheme = .basic
        case "bearer": scheme = .bearer
        default: return nil
        }
        parameters = AuthChallenge.parseParameters(String(trimmed[schemeEnd...]))
    }

    package init(scheme: Scheme, parameters: [String: String]) {
        self.scheme = scheme
        self.parameters = parameters
    }

    /// `key="quoted, value", key2=token` pairs.
    package static func parseParameters(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        var chars = Substring(text)
        while !chars.isEmpty {
            chars = chars.drop(while: { $0 == " " || $0 == "," })
            guard let equals = chars.firstIndex(of: "=") else { break }
            let key = chars[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            chars = chars[chars.index(after: equals)...]
            var value = ""
            if chars.first == "\"" {
                chars = chars.dropFirst()
                while let c = chars.first, c != "\"" {
                    if c == "\\" { chars = chars.dropFirst() }
                    if let next = chars.first { value.append(next) }
                    chars = chars.dropFirst()
                }
                chars = chars.dropFirst()
            } else {
                let end = chars.firstIndex(of: ",") ?? chars.endIndex
                value = chars[..<end].trimmingCharacters(in: .whitespaces)
                chars = chars[end...]
            }
            if !key.isEmpty { result[key] = value }
        }
        return result
    }
}
