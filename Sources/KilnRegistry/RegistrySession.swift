import AsyncHTTPClient
import Foundation
import OCI
import KilnStore
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// One registry as kiln talks to it: base URL (found once), auth challenge, tokens, retries.
actor RegistrySession {
    let registry: String
    private let transport: RegistryTransport
    private var baseURL: String?
    private var challenge: AuthChallenge?
    private var credential: Credential??
    private let tokens = TokenCache()
    /// The probe under way: callers that arrive while it runs (an actor lets them in at every
    /// `await`) wait for it instead of probing again.
    private var probing: Task<String, Error>?
    /// Token fetches under way, by scope set: one request per scope set, however many wait.
    private var fetching: [String: Task<(String, TimeInterval), Error>] = [:]

    init(registry: String, transport: RegistryTransport) {
        self.registry = registry
        self.transport = transport
    }

    var options: TransportOptions { transport.options }
    var http: HTTPClient { transport.http }

    /// A request body that can be sent again on a retry (never a stream).
    enum ReplayableBody: Sendable {
        case none
        case bytes([UInt8])
    }

    // MARK: Endpoint and challenge

    private var apiHost: String { RegistryReference.apiHost(of: registry) }

    /// Finds the base URL and the auth challenge with `GET /v2/`, once.
    ///
    /// HTTPS unless an endpoint is configured. Loopback and `--insecure` hosts are tried over
    /// plain HTTP first (no credentials are sent to `/v2/`) and over HTTPS when the server answers
    /// 400, as TLS servers do to plain HTTP, or refuses plain HTTP.
    func prepare() async throws -> String {
        if let baseURL { return baseURL }
        if let probing { return try await probing.value }
        let probe = Task { try await self.probe() }
        probing = probe
        do {
            let base = try await probe.value
            baseURL = base
            return base
        } catch {
            // A failed probe is not remembered: the next request probes again.
            probing = nil
            throw error
        }
    }

    private func probe() async throws -> String {
        if let endpoint = options.endpoints[registry] {
            let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
            _ = try CredentialBoundary.checked(base, role: "endpoint", registry: registry)
            try await ping(base, retrying: true)
            baseURL = base
            return base
        }
        if RegistryReference.isLoopback(registry) || options.insecureHosts.contains(registry) {
            // One plain request decides: an HTTP answer other than 400 means a plain-HTTP
            // registry (whose 5xx is then retried and reported as such, not as a TLS failure);
            // a 400 or no HTTP at all means a TLS server.
            let plain = "http://\(apiHost)"
            var first = RegistrySession.request("\(plain)/v2/")
            first.method = .GET
            if let response = try? await http.execute(first, timeout: .seconds(5)), response.status != .badRequest {
                if RetryPolicy.retryableStatuses.contains(response.status.code) {
                    _ = try? await response.body.collect(upTo: 64 * 1024)
                    try await ping(plain, retrying: true)
                } else {
                    try await record(response, base: plain)
                }
                baseURL = plain
                return plain
            }
        }
        let secure = "https://\(apiHost)"
        try await ping(secure, retrying: true)
        baseURL = secure
        return secure
    }

    /// `GET /v2/` at `base`; records the challenge, after checking that its token realm is one
    /// kiln may send credentials to (``CredentialBoundary``), so a refused realm fails before any
    /// token request.
    /// - Returns: `false` when the server answered 400 (a TLS server reached over plain HTTP).
    @discardableResult
    private func ping(_ base: String, retrying: Bool) async throws -> Bool {
        let response = try await withRetries(action: "GET \(base.redactingUserinfo)/v2/", attempts: retrying ? nil : 1) {
            var request = RegistrySession.request("\(base)/v2/")
            request.method = .GET
            // A short deadline: the client retries connecting until it passes, and a probe of
            // the wrong scheme or of a dead host should not take long to say so.
            return try await self.http.execute(request, timeout: .seconds(5))
        }
        return try await record(response, base: base)
    }

    /// Takes the challenge from a `/v2/` answer.
    /// - Returns: `false` when the server answered 400 (a TLS server reached over plain HTTP).
    @discardableResult
    private func record(_ response: HTTPClientResponse, base: String) async throws -> Bool {
        _ = try? await response.body.collect(upTo: 64 * 1024)
        switch response.status.code {
        case 200:
            challenge = nil
        case 401:
            challenge = response.headers["WWW-Authenticate"].lazy.compactMap(AuthChallenge.init(header:)).first
            guard let challenge else {
                throw RegistryError.invalidResponse(host: registry, reason: "401 without a Basic or Bearer challenge")
            }
            if challenge.scheme == .bearer {
                _ = try CredentialBoundary.tokenRealm(challenge.realm, registry: registry, base: base)
            }
        case 400 where base.hasPrefix("http://"):
            return false
        default:
            throw RegistryError.notARegistry(host: registry, status: Int(response.status.code))
        }
        return true
    }

    // MARK: Requests

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
                _ = try? await response.body.collect(upTo: 64 * 1024)
                continue
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
        while [301, 302, 303, 307, 308].contains(response.status.code) {
            hops += 1
            guard hops <= 5, let location = response.headers.first(name: "Location") else {
                throw RegistryError.invalidResponse(host: registry, reason: "too many redirects for \(action)")
            }
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let (target, sameOrigin) = try CredentialBoundary.redirect(location, registry: registry, base: base)
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

    // MARK: Retries

    /// Runs `attempt` again on connection errors and retryable statuses, with backoff.
    func withRetries(action: String, attempts: Int? = nil, _ attempt: @Sendable () async throws -> HTTPClientResponse) async throws -> HTTPClientResponse {
        let policy = options.retry
        let attempts = attempts ?? policy.attempts
        var last = ""
        for number in 1...attempts {
            var retryAfter: String?
            do {
                let response = try await attempt()
                guard RetryPolicy.retryableStatuses.contains(response.status.code) else { return response }
                retryAfter = response.headers.first(name: "Retry-After")
                last = "HTTP \(response.status.code)"
                _ = try? await response.body.collect(upTo: 64 * 1024)
            } catch let error as RegistryError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let failure = TransportFailure(error)
                // Refused, unknown host, TLS: nobody (or not the expected server) is there, and
                // a retry seconds later will not change that: say so at once.
                if failure.isFinal {
                    var reason = "\(action.redactingUserinfo): \(failure.text)"
                    if case .tls = failure { reason += "; for a private CA pass --ca-file, for a plain-HTTP registry --insecure" }
                    throw RegistryError.unreachable(host: registry, reason: reason)
                }
                last = failure.text.redactingUserinfo
            }
            guard number < attempts else { break }
            let delay = policy.delay(afterAttempt: number, retryAfter: retryAfter)
            options.logger.info("\("\(registry): \(action): \(last)".redactingUserinfo); retrying in \(String(format: "%.1f", delay)) s")
            try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
        }
        throw RegistryError.retriesExhausted(host: registry, action: action, attempts: attempts, last: last)
    }

    /// A short, secret-free description of a transport error.
    static func describe(_ error: Error) -> String {
        TransportFailure(error).text.redactingUserinfo
    }

    // MARK: Auth

    private func loadCredential() async throws -> Credential? {
        if let credential { return credential }
        let found = try await options.credentials.credential(for: registry)
        credential = .some(found)
        return found
    }

    /// The Authorization header for these scopes, fetching a bearer token when needed.
    private func authorization(for scopes: [String]) async throws -> String? {
        guard let challenge else { return nil }
        switch challenge.scheme {
        case .basic:
            guard let credential = try await loadCredential() else {
                throw RegistryError.authenticationRequired(host: registry, repository: Self.repositories(in: scopes), lookedIn: options.credentials.searchedLocations)
            }
            return credential.basicAuthorization
        case .bearer:
            let key = scopes.joined(separator: " ")
            if let token = await tokens.token(for: key) { return "Bearer \(token)" }
            let fetch: Task<(String, TimeInterval), Error>
            if let running = fetching[key] {
                fetch = running
            } else {
                fetch = Task { try await self.fetchToken(challenge: challenge, scopes: scopes) }
                fetching[key] = fetch
            }
            defer { fetching[key] = nil }
            let (token, lifetime) = try await fetch.value
            await tokens.store(token, for: key, lifetime: lifetime)
            return "Bearer \(token)"
        }
    }

    static func repositories(in scopes: [String]) -> String {
        scopes.compactMap { $0.split(separator: ":").dropFirst().first.map(String.init) }.joined(separator: ", ")
    }

    /// The token flow of the distribution spec: GET realm?service=…&scope=…, with Basic
    /// credentials when kiln has them, anonymous otherwise; only to a realm that
    /// ``CredentialBoundary/tokenRealm(_:registry:base:)`` accepts.
    private func fetchToken(challenge: AuthChallenge, scopes: [String]) async throws -> (String, TimeInterval) {
        _ = try CredentialBoundary.tokenRealm(challenge.realm, registry: registry, base: try await prepare())
        guard let realm = challenge.realm, var components = URLComponents(string: realm) else {
            throw RegistryError.invalidResponse(host: registry, reason: "Bearer challenge without a usable realm")
        }
        var query = components.queryItems ?? []
        if let service = challenge.service { query.append(URLQueryItem(name: "service", value: service)) }
        for scope in scopes { query.append(URLQueryItem(name: "scope", value: scope)) }
        components.queryItems = query
        guard let url = components.string else { throw RegistryError.invalidResponse(host: registry, reason: "bad token realm") }
        let credential = try await loadCredential()
        let response = try await withRetries(action: "token request") {
            var request = RegistrySession.request(url)
            if let credential { request.headers.add(name: "Authorization", value: credential.basicAuthorization) }
            return try await self.http.execute(request, timeout: .seconds(30))
        }
        let body = try await response.body.collect(upTo: 1024 * 1024)
        switch response.status.code {
        case 200: break
        case 401, 403:
            if let credential { throw RegistryError.credentialsRejected(host: registry, source: credential.source) }
            throw RegistryError.authenticationRequired(host: registry, repository: Self.repositories(in: scopes), lookedIn: options.credentials.searchedLocations)
        default:
            throw RegistryError.unexpectedStatus(host: registry, action: "token request", status: Int(response.status.code), message: "")
        }
        guard let object = JSONValue.object(parsing: Array(buffer: body), what: "token response"),
              let token = object["token"]?.stringValue ?? object["access_token"]?.stringValue, !token.isEmpty else {
            throw RegistryError.invalidResponse(host: registry, reason: "token response without a token")
        }
        let lifetime = object["expires_in"]?.doubleValue ?? 60
        return (token, lifetime)
    }

    /// After a request was refused with 401 although kiln sent credentials.
    func rejection(repository: String, action: String) async throws -> RegistryError {
        if let credential = try await loadCredential() { return .credentialsRejected(host: registry, source: credential.source) }
        return .authenticationRequired(host: registry, repository: repository, lookedIn: options.credentials.searchedLocations)
    }
}

