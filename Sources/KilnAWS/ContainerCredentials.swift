import AsyncHTTPClient
import Foundation
import OCI
import NIOCore

/// ECS (and EKS Pod Identity) container credentials: the agent serves the task role's keys at
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (under `169.254.170.2`) or `_FULL_URI`, optionally
/// behind an authorization token. When one of those variables is set, a failure is an error:
/// falling through to another source would push with the wrong identity.
struct ContainerCredentials {
    let url: String
    let authorization: String?

    /// - Returns: `nil` when the environment names no container endpoint.
    /// - Throws: for a full URI that is plain HTTP to a host other than loopback or the
    ///   link-local agents (the SDKs refuse to send credentials anywhere else), or an unreadable
    ///   token file.
    init?(environment: [String: String]) throws {
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            url = "http://169.254.170.2" + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            guard let parsed = URL(string: full), let scheme = parsed.scheme?.lowercased(), let host = parsed.host else {
                throw AWSError.containerCredentials(endpoint: full, reason: "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL")
            }
            guard scheme == "https" || (scheme == "http" && ContainerCredentials.allowsPlainHTTP(host)) else {
                throw AWSError.containerCredentials(endpoint: full, reason: "plain HTTP is only allowed to loopback or the ECS/EKS agent addresses")
            }
            url = full
        } else {
            return nil
        }
        if let file = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], !file.isEmpty {
            guard let token = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw AWSError.containerCredentials(endpoint: url, reason: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '\(file)' cannot be read")
            }
            authorization = token.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            authorization = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        }
        if let authorization, authorization.contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw AWSError.containerCredentials(endpoint: url, reason: "the authorization token holds a line break")
        }
    }

    static func allowsPlainHTTP(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
            || bare == "169.254.170.2" || bare == "169.254.170.23" || bare == "fd00:ec2::23"
    }

    func fetch() async throws -> AWSCredentials {
        var request = HTTPClientRequest(url: url)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let status: UInt
        let body: Data
        do {
            (status, body) = try await sendAWSRequest(request, endpoint: url, timeout: .seconds(5))
        } catch AWSError.unreachable(_, let reason) {
            throw AWSError.containerCredentials(endpoint: url, reason: "no answer (\(reason))")
        }
        guard status == 200 else {
            throw AWSError.containerCredentials(endpoint: url, reason: "HTTP \(status)")
        }
        guard let credentials = RoleCredentialsDocument.parse(body, source: "ECS container credentials") else {
            throw AWSError.containerCredentials(endpoint: url, reason: "the answer is not {\"AccessKeyId\", \"SecretAccessKey\", \"Token\"} JSON")
        }
        return credentials
    }
}

/// The JSON document both the ECS agent and EC2 instance metadata serve for a role:
/// `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`.
enum RoleCredentialsDocument {
    static func parse(_ data: Data, source: String) -> AWSCredentials? {
        guard let object = JSONValue.object(parsing: Array(data), what: source),
              let key = object["AccessKeyId"]?.stringValue, !key.isEmpty,
              let secret = object["SecretAccessKey"]?.stringValue, !secret.isEmpty else { return nil }
        if let code = object["Code"]?.stringValue, code != "Success" { return nil }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: object["Token"]?.stringValue, source: source)
    }
}
