import AsyncHTTPClient
import Foundation
import KilnStore
import NIOCore
import NIOHTTP1
import OCI

extension RegistrySession {
    func loadCredential() async throws -> Credential? {
        if let credential { return credential }
        let found = try await options.credentials.credential(for: registry)
        credential = .some(found)
        return found
    }

    /// The Authorization header for these scopes, fetching a bearer token when needed.
    func authorization(for scopes: [String]) async throws -> String? {
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
            if let running = fetching[key] {
                // Another request is fetching this scope set: use its token, store nothing.
                return "Bearer \(try await running.value.0)"
            }
            let fetch = Task { try await self.fetchToken(challenge: challenge, scopes: scopes) }
            fetching[key] = fetch
            do {
                let (token, lifetime) = try await fetch.value
                await tokens.store(token, for: key, lifetime: lifetime)
                fetching[key] = nil
                return "Bearer \(token)"
            } catch {
                fetching[key] = nil
                throw error
            }
        }
    }

    static func repositories(in scopes: [String]) -> String {
        scopes.compactMap { $0.split(separator: ":").dropFirst().first.map(String.init) }.joined(separator: ", ")
    }

    /// The token flow of the distribution spec: GET realm?service=…&scope=…, with Basic
    /// credentials when kiln has them, anonymous otherwise; only to a realm that
    /// ``CredentialBoundary/tokenRealm(_:registry:base:insecureHosts:)`` accepts.
    func fetchToken(challenge: AuthChallenge, scopes: [String]) async throws -> (String, TimeInterval) {
        _ = try CredentialBoundary.tokenRealm(challenge.realm, registry: registry, base: try await prepare(), insecureHosts: options.insecureHosts)
        guard let realm = challenge.realm, var components = URLComponents(string: realm) else {
            throw RegistryError.invalidResponse(host: registry, reason: "Bearer challenge without a usable realm")
        }
        // The realm's own query stays as the registry wrote it; kiln's parameters are encoded
        // whole (the service comes from the challenge: `a&scope=…` may not add a scope).
        var pairs: [(name: String, value: String)] = []
        if let service = challenge.service { pairs.append(("service", service)) }
        for scope in scopes { pairs.append(("scope", scope)) }
        components.percentEncodedQuery = [components.percentEncodedQuery, QueryString.make(pairs)]
            .compactMap { $0?.isEmpty == false ? $0 : nil }.joined(separator: "&")
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
