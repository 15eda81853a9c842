import KilnStore

/// Where a registry may lead kiln's requests, and so its credentials. Registries are untrusted,
/// and so is every URL they name; these rules run before kiln connects to one:
///
/// - A token realm must be http or https with a valid host and port, and a registry reached
///   over HTTPS may not name a plain-HTTP realm (the Basic password and the token would travel
///   in clear). A realm on another host is allowed: it is where that registry's tokens come
///   from (Docker Hub's is auth.docker.io). A registry reached over plain HTTP (loopback or
///   `--insecure`) may name a plain-HTTP realm only on its own host, on loopback, or on a host
///   the user also marked insecure: `--insecure` for one host is no consent to send the
///   password in clear to another.
/// - An upload location must be on the registry's own origin (scheme, host and port).
/// - A redirect must be http or https with a valid host and port; one that leaves the
///   registry's origin is followed without credentials.
enum CredentialBoundary {
    /// The realm of a Bearer challenge, or an error naming the registry and the refused realm.
    /// - Parameter insecureHosts: the hosts the user allowed plain HTTP to (`--insecure`).
    static func tokenRealm(_ realm: String?, registry: String, base: String, insecureHosts: Set<String> = []) throws -> RegistryURL {
        guard let realm, !realm.isEmpty else {
            throw RegistryError.invalidResponse(host: registry, reason: "Bearer challenge without a realm")
        }
        let parsed = try checked(realm, role: "token realm", registry: registry)
        if base.lowercased().hasPrefix("https://"), parsed.scheme != "https" {
            throw RegistryError.refusedURL(host: registry, role: "token realm", url: realm,
                                           reason: "the registry is reached over HTTPS, and credentials never go over plain HTTP")
        }
        if parsed.scheme == "http" {
            let registryHost = (try? RegistryURL(parsing: base))?.host
            let allowed = parsed.host == registryHost || RegistryReference.isLoopback(parsed.host)
                || insecureHosts.contains(parsed.host) || insecureHosts.contains("\(parsed.host):\(parsed.port)")
            guard allowed else {
                throw RegistryError.refusedURL(host: registry, role: "token realm", url: realm,
                                               reason: "plain HTTP to another host, which is not marked insecure (--insecure \(parsed.host):\(parsed.port) allows it)")
            }
        }
        return parsed
    }

    /// The absolute URL of an upload location on the registry's own origin.
    ///
    /// Another origin is refused rather than sent the blob without credentials: a push that
    /// cannot authenticate fails anyway, and refusing sends no image content to a host the
    /// user never named.
    static func uploadLocation(_ location: String, registry: String, base: String) throws -> String {
        let url = absolute(location, against: base)
        let parsed = try checked(url, role: "upload location", registry: registry)
        guard let registryOrigin = try? RegistryURL(parsing: base).origin, parsed.origin == registryOrigin else {
            throw RegistryError.refusedURL(host: registry, role: "upload location", url: url,
                                           reason: "not on the registry's origin \(RegistrySession.origin(of: base)); kiln sends blobs and credentials only there")
        }
        return url
    }

    /// The absolute URL of a redirect, and whether it stays on the registry's origin (only then
    /// does it get credentials).
    /// - Parameter current: the URL that answered with the redirect; a relative `Location` is
    ///   resolved against it (a CDN's relative hop stays on the CDN).
    static func redirect(_ location: String, registry: String, base: String, current: String? = nil) throws -> (url: String, sameOrigin: Bool) {
        let url = absolute(location, against: current ?? base)
        let parsed = try checked(url, role: "redirect", registry: registry)
        let registryOrigin = try? RegistryURL(parsing: base).origin
        return (url, parsed.origin == registryOrigin)
    }

    /// `location` resolved against the registry's base URL; a location with any scheme of its own
    /// (`HTTP:`, `http+unix:`, `ftp:`) is taken as it is, so the scheme check sees it.
    static func absolute(_ location: String, against base: String) -> String {
        let schemeCharacters = location.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }
        let hasScheme = schemeCharacters.first?.isLetter == true && location.dropFirst(schemeCharacters.count).first == ":"
        return hasScheme ? location : RegistrySession.resolve(location, against: base)
    }

    /// Parses a URL from the wire, turning a refusal into an error that names the registry.
    static func checked(_ url: String, role: String, registry: String) throws -> RegistryURL {
        do {
            return try RegistryURL(parsing: url)
        } catch {
            throw RegistryError.refusedURL(host: registry, role: role, url: url, reason: error.description)
        }
    }
}
