import Foundation

/// Bearer tokens per scope set, kept until shortly before they expire: never fetched per request.
actor TokenCache {
    private var tokens: [String: (token: String, expires: Date)] = [:]

    func token(for key: String) -> String? {
        guard let entry = tokens[key], entry.expires > Date() else { return nil }
        return entry.token
    }

    func store(_ token: String, for key: String, lifetime: TimeInterval) {
        // Renew 10% early (and at least 5 s) so a token never expires mid-request.
        let margin = max(5, lifetime * 0.1)
        tokens[key] = (token, Date().addingTimeInterval(max(0, lifetime - margin)))
    }

    func invalidate(_ key: String) { tokens[key] = nil }
}
