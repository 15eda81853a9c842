import AsyncHTTPClient
import Foundation
import KilnStore
import NIOCore
import NIOHTTP1
import OCI

extension RegistrySession {
    /// Sends a request with auth and retries, and returns the response of the last attempt.
    ///
    /// - Parameters:
    ///   - path: the part after the base URL (`/v2/…`), or an absolute URL (upload locations).
    ///   - scopes: token scopes (`repository:NAME:pull,push`).
    ///   - action: names the request in errors ("HEAD blob sha256:…").
    func send(_ method: HTTPMethod, _ path: String, headers: HTTPHeaders = [:], body: ReplayableBody = .none, scopes: [String], action: String) async throws -> HTTPClientResponse {
        let base = try await prepare()
        let url = path.hasPrefix("http://") || path.hasPrefix("https://") ? path : base + path
        var refreshed = false
        while true {
            let authorization = try await authorization(for: scopes)
            let response = try await withRetries(action: action) {
                var request = RegistrySession.request(url)
                request.method = method
                request.headers.add(contentsOf: headers)
                if let authorization { request.headers.replaceOrAdd(name: "Authorization", value: authorization) }
                if case .bytes(let bytes) = body {
                    request.body = .bytes(ByteBuffer(bytes: bytes))
                    request.headers.replaceOrAdd(name: "Content-Length", value: String(bytes.count))
                }
                return try await self.http.execute(request, timeout: .seconds(300))
            }
            if response.status == .unauthorized, !refreshed, challenge?.scheme == .bearer {
                // An expired or too narrow token: fetch a new one once.
                refreshed = true
                await tokens.invalidate(scopes.joined(separator: " "))
                await response.drain()
                continue
            }
            // A HEAD's body is empty, but a response dropped before the client saw its end
            // cancels the request and closes the connection (AsyncHTTPClient): waiting for the
            // end keeps it for the next request. (A build's HEADs closed about one connection
            // in six requests: a TCP connect and accept each, on kiln's and the registry's CPU.)
            // The caller gets an empty body of its own: a body is read at most once.
            if method == .HEAD {
                await response.drain()
                return HTTPClientResponse(version: response.version, status: response.status, headers: response.headers, body: .init(), history: response.history)
            }
            return response
        }
    }

    /// Sends a request whose body is streamed (a blob upload); not retried here: the caller
    /// retries the whole upload from its start.
    func sendStreaming(_ method: HTTPMethod, _ url: String, headers: HTTPHeaders, body: HTTPClientRequest.Body, scopes: [String]) async throws -> HTTPClientResponse {
        _ = try await prepare()
        var request = RegistrySession.request(url)
        request.method = method
        request.headers.add(contentsOf: headers)
        if let authorization = try await authorization(for: scopes) { request.headers.replaceOrAdd(name: "Authorization", value: authorization) }
        request.body = body
        return try await http.execute(request, timeout: .seconds(3600))
    }

    /// A GET that follows redirects itself, dropping the Authorization header when a redirect
    /// leaves the registry's origin (Docker Hub sends blob downloads to a CDN). Each Location is
    /// checked first (``CredentialBoundary/redirect(_:registry:base:)``).
    func getFollowingRedirects(_ path: String, headers: HTTPHeaders = [:], scopes: [String], action: String) async throws -> HTTPClientResponse {
        var response = try await send(.GET, path, headers: headers, scopes: scopes, action: action)
        let base = try await prepare()
        var hops = 0
        var current = path.hasPrefix("http://") || path.hasPrefix("https://") ? path : base + path
        while [301, 302, 303, 307, 308].contains(response.status.code) {
            hops += 1
            guard hops <= 5 else { throw RegistryError.invalidResponse(host: registry, reason: "too many redirects for \(action)") }
            guard let location = response.headers.first(name: "Location") else {
                throw RegistryError.invalidResponse(host: registry, reason: "HTTP \(response.status.code) without a Location for \(action)")
            }
            await response.drain()
            let (target, sameOrigin) = try CredentialBoundary.redirect(location, registry: registry, base: base, current: current)
            current = target
            if sameOrigin {
                response = try await send(.GET, target, headers: headers, scopes: scopes, action: action)
            } else {
                response = try await withRetries(action: action) {
                    var request = RegistrySession.request(target)
                    request.headers.add(contentsOf: headers)
                    return try await self.http.execute(request, timeout: .seconds(300))
                }
            }
        }
        return response
    }

    static func resolve(_ location: String, against base: String) -> String {
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        if location.hasPrefix("/") { return origin(of: base) + location }
        return base + "/" + location
    }

    /// `scheme://host[:port]` (no user info, no default port); unparsable text as it was written.
    static func origin(of url: String) -> String {
        if let parsed = try? RegistryURL(parsing: url) { return parsed.origin }
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        return String(url[..<schemeEnd.upperBound]) + rest[..<hostEnd]
    }

    /// A request carrying kiln's User-Agent (registry operators see who calls them).
    static func request(_ url: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "kiln/\(kilnVersion)")
        return request
    }
}
