import OCI

/// An image in a registry: `HOST[:PORT]/REPO[:TAG|@DIGEST]`, with Docker Hub's short names
/// (`kong:2.6.0-alpine` is `docker.io/library/kong:2.6.0-alpine`).
public struct RegistryReference: Equatable, Sendable, CustomStringConvertible {
    /// The registry's name as users write it (`docker.io`, `ghcr.io`, `localhost:5000`).
    public var registry: String
    /// The repository path (`library/kong`, `um/gateway`).
    public var repository: String
    public var tag: String?
    public var digest: Digest?

    public init(registry: String, repository: String, tag: String? = nil, digest: Digest? = nil) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// Parses `docker://…` or a bare reference, the way the Docker CLI normalizes names.
    /// - Throws: ``StoreError/invalidReference(_:reason:)`` naming the text and the rule broken.
    public init(parsing original: String) throws {
        var text = original
        if text.hasPrefix("docker://") { text.removeFirst("docker://".count) }
        func fail(_ reason: String) -> StoreError { .invalidReference(original, reason: reason) }

        var digest: Digest?
        if let at = text.firstIndex(of: "@") {
            let digestText = String(text[text.index(after: at)...])
            guard let parsed = try? Digest(parsing: digestText) else { throw fail("'\(digestText)' is not a valid sha256 digest") }
            digest = parsed
            text = String(text[..<at])
        }
        var tag: String?
        if let colon = text.lastIndex(of: ":"), !text[text.index(after: colon)...].contains("/") {
            let candidate = String(text[text.index(after: colon)...])
            guard LayoutReference.isValidTag(candidate) else { throw fail("'\(candidate)' is not a valid tag") }
            tag = candidate
            text = String(text[..<colon])
        }
        var components = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !components.isEmpty, !text.isEmpty else { throw fail("the repository name is empty") }
        let registry: String
        if components.count > 1, let first = components.first,
           first.contains(".") || first.contains(":") || first == "localhost" || first.hasPrefix("[") {
            if let problem = RegistryReference.problem(withHost: first) { throw fail(problem) }
            registry = first == "index.docker.io" ? "docker.io" : first
            components.removeFirst()
        } else {
            registry = "docker.io"
        }
        if registry == "docker.io", components.count == 1 { components.insert("library", at: 0) }
        for component in components {
            guard RegistryReference.isValidPathComponent(component) else {
                throw fail("'\(component)' is not a valid repository path component (lower-case letters, digits, and . _ - separators)")
            }
        }
        let repository = components.joined(separator: "/")
        guard repository.utf8.count <= 255 else { throw fail("the repository name is longer than 255 characters") }
        self.init(registry: registry, repository: repository, tag: tag ?? (digest == nil ? "latest" : nil), digest: digest)
    }

    /// What is wrong with a registry host (`HOST`, `HOST:PORT`, `[IPv6]:PORT`), or `nil`.
    /// A port outside 1...65535 would trap deep inside the HTTP client, so it is refused here.
    package static func problem(withHost text: String) -> String? {
        var host = Substring(text)
        var port: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return "'\(text)' has no closing ] for its IPv6 address" }
            let address = host[host.index(after: host.startIndex)..<close]
            guard !address.isEmpty, address.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                return "'\(text)' is not a valid IPv6 address"
            }
            let rest = host[host.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return "'\(text)' is not a valid registry host" }
                port = rest.dropFirst()
            }
            host = host[...close]
        } else {
            if let colon = host.firstIndex(of: ":") {
                port = host[host.index(after: colon)...]
                host = host[..<colon]
            }
            let allowed = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "-") }
            guard !host.isEmpty, host.allSatisfy(allowed), !host.hasPrefix("."), !host.hasPrefix("-") else {
                return "'\(host)' is not a valid registry host name"
            }
        }
        if let port {
            guard !port.isEmpty, port.count <= 5, port.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(port), (1...65535).contains(number) else {
                return "'\(port)' is not a valid port (1 to 65535)"
            }
        }
        return nil
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` from the distribution spec.
    package static func isValidPathComponent(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func alnum(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 97 && b <= 122) }
        guard let first = bytes.first, let last = bytes.last, alnum(first), alnum(last) else { return false }
        var index = 0
        while index < bytes.count {
            if alnum(bytes[index]) { index += 1; continue }
            // A separator run: ".", "_", "__" or one or more "-".
            let start = index
            while index < bytes.count, !alnum(bytes[index]) { index += 1 }
            let separator = bytes[start..<index]
            let ok = separator.elementsEqual([46]) || separator.elementsEqual([95]) || separator.elementsEqual([95, 95]) || separator.allSatisfy { $0 == 45 }
            if !ok { return false }
        }
        return true
    }

    /// The host kiln talks to for this registry (Docker Hub's API is not at `docker.io`).
    public var apiHost: String { Self.apiHost(of: registry) }

    /// Whether plain HTTP is allowed without `--insecure`: loopback only.
    public var isLoopback: Bool { Self.isLoopback(registry) }

    /// The API host of a registry name.
    public static func apiHost(of registry: String) -> String { registry == "docker.io" ? "registry-1.docker.io" : registry }

    /// Whether a registry name (`localhost:5000`, `127.0.0.1:5000`, `[::1]:5000`) is loopback.
    public static func isLoopback(_ registry: String) -> Bool {
        let host: String
        if registry.hasPrefix("["), let close = registry.firstIndex(of: "]") {
            host = String(registry[...close])
        } else {
            host = registry.split(separator: ":").first.map(String.init) ?? registry
        }
        return host == "localhost" || host.hasPrefix("127.") || host == "[::1]" || host == "::1"
    }

    /// The tag or digest the registry API takes in `/manifests/<reference>`.
    public var manifestReference: String { digest?.description ?? tag ?? "latest" }

    /// The name without tag or digest, e.g. `docker.io/library/kong`.
    public var name: String { "\(registry)/\(repository)" }

    /// The repository as the network sees it, to tell two spellings of one apart: host names
    /// are case-insensitive and may end in the root's dot, and a port is a number (`05000` is
    /// 5000). (Docker Hub's spellings are one already: the parser names them `docker.io`.)
    package var repositoryIdentity: String { "\(Self.hostIdentity(registry))/\(repository)" }

    /// A registry host (`HOST[:PORT]`) as the network sees it: lower case, without the root's
    /// dot, the port as a number.
    package static func hostIdentity(_ registry: String) -> String {
        var host = Substring(registry.lowercased())
        var port = ""
        if let colon = host.lastIndex(of: ":"), !host[colon...].contains("]") {
            let digits = host[host.index(after: colon)...]
            port = ":" + (Int(digits).map(String.init) ?? String(digits))
            host = host[..<colon]
        }
        if host.hasSuffix(".") { host = host.dropLast() }
        return "\(host)\(port)"
    }

    /// This repository with another tag.
    public func with(tag: String) -> RegistryReference { RegistryReference(registry: registry, repository: repository, tag: tag) }

    /// This repository by digest alone (a tag dropped; ``pinnedKeepingTag(_:)`` keeps it).
    public func with(digest: Digest) -> RegistryReference { RegistryReference(registry: registry, repository: repository, digest: digest) }

    public var description: String {
        var text = name
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }
}
