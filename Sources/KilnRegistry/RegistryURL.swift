import Foundation

/// An http or https URL checked before kiln connects to it: registries are untrusted, and the
/// URLs they name (token realms, redirects, upload locations) reach the HTTP client, which traps
/// on a port above 65535 and follows `http+unix://` to local sockets.
struct RegistryURL: Equatable, Sendable {
    /// `http` or `https`, lowercased.
    let scheme: String
    /// The host as written (lowercased; IPv6 literals keep their brackets).
    let host: String
    /// The port, the scheme's default when none is written.
    let port: Int

    /// Why a URL was refused; the text completes "refused URL: …".
    enum Problem: Error, Equatable, CustomStringConvertible {
        case notAbsolute
        case scheme(String)
        case noHost
        case port(String)
        case controlCharacters
        case ambiguous

        var description: String {
            switch self {
            case .notAbsolute: return "not an absolute URL"
            case .scheme(let scheme): return "scheme '\(scheme)' (only http and https are allowed)"
            case .noHost: return "no host"
            case .port(let port): return "port '\(port)' (must be 1 to 65535)"
            case .controlCharacters: return "control characters or spaces"
            case .ambiguous: return "its host or port reads differently to the HTTP client"
            }
        }
    }

    /// Parses by hand rather than with Foundation alone, so every part that reaches the
    /// connection (scheme, host, port) is one kiln checked; then requires Foundation's `URL`,
    /// which the HTTP client connects by, to read the same host and port (`\@` and similar
    /// tricks parse differently in different parsers).
    init(parsing text: String) throws(Problem) {
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else { throw .controlCharacters }
        guard let schemeEnd = text.range(of: "://") else { throw .notAbsolute }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { throw .scheme(String(text[..<schemeEnd.lowerBound].prefix(40))) }
        let rest = text[schemeEnd.upperBound...]
        var authority = rest[..<(rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex)]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .noHost }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .noHost }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty, host != "[]" else { throw .noHost }
        var port = scheme == "https" ? 443 : 80
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let number = Int(portText), (1...65535).contains(number) else {
                throw .port(String(portText.prefix(20)))
            }
            port = number
        }
        guard let foundation = URL(string: text), let foundationHost = foundation.host,
              Self.unbracketed(foundationHost.lowercased()) == Self.unbracketed(host.lowercased()),
              (foundation.port ?? port) == port else {
            throw .ambiguous
        }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
    }

    private static func unbracketed(_ host: some StringProtocol) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : String(host)
    }

    /// `scheme://host[:port]`, the port only when it is not the scheme's default, so the same
    /// origin written two ways compares equal. No user info: it is not part of an origin.
    var origin: String {
        let isDefault = (scheme == "https" && port == 443) || (scheme == "http" && port == 80)
        return isDefault ? "\(scheme)://\(host)" : "\(scheme)://\(host):\(port)"
    }
}
