import AsyncHTTPClient
import Foundation
import KilnStore
import NIOCore
import NIOHTTP1
import OCI

extension RegistrySession {
    var apiHost: String { RegistryReference.apiHost(of: registry) }

    /// Finds the base URL and the auth challenge with `GET /v2/`, once.
    ///
    /// HTTPS unless an endpoint is configured. Loopback and `--insecure` hosts are tried over
    /// plain HTTP first (no credentials are sent to `/v2/`) and over HTTPS when the server answers
    /// 400, as TLS servers do to plain HTTP, or refuses plain HTTP.
    /// Whether each new scope set costs a token fetch (a Bearer challenge), once probed.
    func scopesCostTokens() async throws -> Bool {
        _ = try await prepare()
        return challenge?.scheme == .bearer
    }

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

    /// Finds the base URL (``prepare()`` records it).
    private func probe() async throws -> String {
        if let endpoint = options.endpoints[registry] {
            let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
            _ = try CredentialBoundary.checked(base, role: "endpoint", registry: registry)
            try await ping(base, retrying: true)
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
                    await response.drain()
                    try await ping(plain, retrying: true)
                } else {
                    try await record(response, base: plain)
                }
                return plain
            }
        }
        let secure = "https://\(apiHost)"
        try await ping(secure, retrying: true)
        return secure
    }

    /// `GET /v2/` at `base`; records the challenge, after checking that its token realm is one
    /// kiln may send credentials to (``CredentialBoundary``), so a refused realm fails before any
    /// token request.
    /// - Returns: `false` when the server answered 400 (a TLS server reached over plain HTTP).
    @discardableResult
    func ping(_ base: String, retrying: Bool) async throws -> Bool {
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
    func record(_ response: HTTPClientResponse, base: String) async throws -> Bool {
        await response.drain()
        switch response.status.code {
        case 200:
            challenge = nil
        case 401:
            challenge = response.headers["WWW-Authenticate"].lazy.compactMap(AuthChallenge.init(header:)).first
            guard let challenge else {
                throw RegistryError.invalidResponse(host: registry, reason: "401 without a Basic or Bearer challenge")
            }
            if challenge.scheme == .bearer {
                _ = try CredentialBoundary.tokenRealm(challenge.realm, registry: registry, base: base, insecureHosts: options.insecureHosts)
            }
        case 400 where base.hasPrefix("http://"):
            return false
        default:
            throw RegistryError.notARegistry(host: registry, status: Int(response.status.code))
        }
        return true
    }
}
